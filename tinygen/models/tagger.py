"""The CRF post's character tagger, shared by the word-segmentation and NER lessons.

Embedding → 3 × (Conv1d k = 3, "same" padding, ReLU) → Linear(K) gives emissions h (B, L, K);
on top, either a :class:`~tinygen.nn.CRF` over tag paths or a softmax per character. After
every convolution the padded positions are set to zero again: "same" padding puts zeros
beyond a sentence's ends, and the positions after a short sentence in a padded batch must look
exactly like that, so a sentence is tagged the same whatever it is batched with.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from .. import functional as F
from .. import nn, ops
from ..autograd import Tensor, no_grad
from ..creation import tensor
from ..data import BucketBatchSampler, DataLoader, Vocab
from ..data.loader import pad_sequences
from ..optim import Adam, CosineAnnealingLR
from ..train import LRSchedule, fit

__all__ = ["ConvTagger", "Segmenter", "fit_tagger", "train_tagger"]

DECODERS = ("crf", "argmax", "valid")


class ConvTagger(nn.Module):
    """Emissions (B, L, K) for the tags ``tags`` (b/m/e/s scheme, optionally typed), with a
    constrained CRF layer ``crf`` when ``crf=True``. Embeddings start U(−0.05, 0.05), Keras'
    default scale (N(0, 1) barely moves in a short run).

    ``dilations``: one k = 3 convolution per entry, with that dilation; the post's stack is
    (1, 1, 1), which sees 7 characters; (1, 2, 4) sees 15 at the same cost. ``dropout``: the
    rate of inverted dropout on the embeddings and on every convolution's output (training
    only). ``bigrams``: sorted keys a·V + b of character bigrams (from
    :func:`~tinygen.models.sentiment.bigram_keys`); each position's input is then its
    character's embedding plus that of the bigram (previous character, character) ending
    there, all unknown bigrams sharing one row (not in the post)."""

    def __init__(self, vocab_size: int, width: int, tags: Sequence[str], crf: bool,
                 dilations: Sequence[int] = (1, 1, 1), dropout: float = 0.0,
                 bigrams: np.ndarray | None = None):
        super().__init__()
        self.tags = tuple(tags)
        self.embedding = nn.Embedding(vocab_size, width, padding_idx=0)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        self.embedding.weight.data[0] = 0
        self.convs = nn.ModuleList([nn.Conv1d(width, width, 3, padding="same", dilation=d)
                                    for d in dilations])
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(width, len(self.tags))
        self.crf = nn.CRF.bmes(self.tags) if crf else None
        self.vocab_size = vocab_size
        self.bigrams = None if bigrams is None else np.asarray(bigrams, np.int64)
        if self.bigrams is not None:  # rows: 0 padding, 1 an unknown bigram, 2 + i key i
            self.bigram_embedding = nn.Embedding(len(self.bigrams) + 2, width, padding_idx=0)
            nn.init.uniform_(self.bigram_embedding.weight, -0.05, 0.05)
            self.bigram_embedding.weight.data[0] = 0

    def embed(self, ids) -> Tensor:
        """(B, L, D): each character's embedding, plus its bigram's if the model has any."""
        x = self.embedding(ids)
        if self.bigrams is None:
            return x
        a = ids.numpy().astype(np.int64)
        keys = a + self.vocab_size * np.pad(a[:, :-1], ((0, 0), (1, 0)))
        at = np.minimum(np.searchsorted(self.bigrams, keys), max(len(self.bigrams) - 1, 0))
        known = self.bigrams[at] == keys if len(self.bigrams) else np.zeros_like(a, bool)
        rows = np.where(a == 0, 0, np.where(known, at + 2, 1))
        return x + self.bigram_embedding(Tensor(ids.xp.asarray(rows)))

    def forward(self, ids, mask) -> Tensor:
        keep = Tensor(mask.data[:, None, :].astype(np.float32))  # (B, 1, L)
        x = ops.transpose(self.embed(ids), 1, 2)                  # (B, D, L)
        for conv in self.convs:
            x = ops.relu(conv(self.dropout(x))) * keep
        return self.dense(ops.transpose(self.dropout(x), 1, 2))    # (B, L, K)

    def loss(self, h: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """The CRF's −log p(y|x), a mean over sentences; or, without a CRF, the per-character
        cross-entropy, a mean over real characters (padding ignored)."""
        if self.crf is not None:
            return self.crf.loss(h, tags, mask)
        return F.cross_entropy(h, h.xp.where(mask.data, tags.data, -1), ignore_index=-1)

    def predict(self, sentences: Sequence[Sequence[int]], how: str, device: str = "cpu",
                batch: int = 64) -> list[np.ndarray]:
        """Tag ids per sentence, batched by length. ``how``: "crf" (constrained Viterbi of
        the CRF), "argmax" (per character) or "valid": the most probable *valid* sequence
        under independent per-character probabilities — Viterbi on log softmax(h) with zero
        transitions and the scheme's rules, i.e. an untrained constrained CRF layer."""
        if how not in DECODERS or (how == "crf" and self.crf is None):
            raise ValueError(f"ConvTagger.predict: how must be one of {DECODERS} ('crf' needs "
                             f"a CRF layer), got {how!r}")
        rules = nn.CRF.bmes(self.tags).to(device) if how == "valid" else None
        self.eval()
        order = np.argsort([len(s) for s in sentences], kind="stable")
        out: list[np.ndarray] = [None] * len(sentences)
        with no_grad():
            for i in range(0, len(order), batch):
                idx = order[i:i + batch]
                ids, mask = pad_sequences([sentences[j] for j in idx])
                ids, mask = tensor(ids, device=device), tensor(mask, device=device)
                h = self(ids, mask)
                if how == "crf":
                    paths = self.crf.decode(h, mask).numpy()
                elif how == "argmax":
                    paths = h.numpy().argmax(axis=2)
                else:
                    paths = rules.decode(F.log_softmax(h, axis=2), mask).numpy()
                for k, j in enumerate(idx):
                    out[j] = paths[k, :len(sentences[j])]
        return out


def train_tagger(model: ConvTagger, x: Sequence, y: Sequence, *, batch: int, epochs: int,
                 lr: float, crf_lr: float, seed: int, device: str = "cpu",
                 verbose: bool = True) -> float:
    """Train ``model`` with Adam and a per-step cosine learning rate on length-bucketed,
    masked batches of (character ids ``x``, tag ids ``y``); the CRF's parameters (transitions)
    get their own rate ``crf_lr``. Returns the training time in seconds."""
    sampler = BucketBatchSampler([len(s) for s in x], batch, seed=seed)
    loader = DataLoader((x, y), sampler=sampler, device=device)
    encoder = [p for name, p in model.named_parameters() if not name.startswith("crf.")]
    groups = [{"params": encoder}]
    if model.crf is not None:
        groups.append({"params": model.crf.parameters(), "lr": crf_lr})
    optimizer = Adam(groups, lr=lr)
    schedule = CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
    t0 = time.perf_counter()
    fit(model, loader, lambda h, target: model.loss(h, *target), optimizer, epochs=epochs,
        callbacks=[LRSchedule(schedule, per="step")], verbose=verbose)
    seconds = time.perf_counter() - t0
    print(f"{'CRF' if model.crf is not None else 'softmax'} model: {epochs} epoch(s) of "
          f"{len(loader)} batches in {seconds:.0f} s")
    return seconds


def fit_tagger(vocab_size: int, width: int, tags: Sequence[str], crf: bool, x: Sequence,
               y: Sequence, *, batch: int, epochs: int, lr: float, crf_lr: float, seed: int,
               dilations: Sequence[int] = (1, 1, 1), dropout: float = 0.0,
               bigrams: np.ndarray | None = None, device: str = "cpu",
               verbose: bool = False) -> dict:
    """One :class:`ConvTagger` start to finish, plain values in and out (for a worker
    process, :func:`tinygen.parallel.run_jobs`): first weights from
    ``tinygen.manual_seed(seed)``, trained by :func:`train_tagger`. Returns ``state`` (the
    trained parameters as arrays, to load into a ConvTagger built with the same arguments),
    ``seconds`` (training wall time) and ``cpu_seconds`` (this process's CPU time for it)."""
    from .. import manual_seed

    t0 = time.process_time()
    manual_seed(seed)
    model = ConvTagger(vocab_size, width, tags, crf=crf, dilations=dilations,
                       dropout=dropout, bigrams=bigrams).to(device)
    seconds = train_tagger(model, x, y, batch=batch, epochs=epochs, lr=lr, crf_lr=crf_lr,
                           seed=seed, device=device, verbose=verbose)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    return {"state": state, "seconds": seconds, "cpu_seconds": time.process_time() - t0}


BMES = ("b", "m", "e", "s")


class Segmenter:
    """Lesson 7's word segmenter as a tool: a CNN + CRF :class:`ConvTagger` over b/m/e/s tags
    and its character vocabulary. :meth:`train` fits one on (characters, tags) sentences
    (People's Daily: ``load_peoples_daily_seg``); :meth:`cut` splits any text into words
    (a character never seen in training reads as ``<unk>`` and is still kept)."""

    def __init__(self, model: ConvTagger, vocab: Vocab):
        self.model, self.vocab = model, vocab

    @classmethod
    def train(cls, sentences: Sequence[tuple[Sequence[str], Sequence[str]]], epochs: int = 1,
              width: int = 64, lr: float = 3e-3, seed: int = 0) -> Segmenter:
        """Lesson 7's recipe: batches of 8 sentences bucketed by length, Adam with a cosine
        decay, the CRF's transitions at 10× the rate; characters seen once are ``<unk>``.
        The first weights come from the default generator (``tinygen.manual_seed``)."""
        vocab = Vocab.build((chars for chars, _ in sentences), min_count=2,
                            specials=("<pad>", "<unk>"))
        model = ConvTagger(len(vocab), width, BMES, crf=True)
        x = [vocab.encode(chars) for chars, _ in sentences]
        y = [[BMES.index(t) for t in tags] for _, tags in sentences]
        train_tagger(model, x, y, batch=8, epochs=epochs, lr=lr, crf_lr=10 * lr, seed=seed,
                     verbose=False)
        return cls(model, vocab)

    def cut(self, texts: Sequence[str]) -> list[list[str]]:
        """Each text as its list of words (their concatenation is the text; "" gives [])."""
        nonempty = [i for i, t in enumerate(texts) if t]
        paths = self.model.predict([self.vocab.encode(list(texts[i])) for i in nonempty], "crf")
        out: list[list[str]] = [[] for _ in texts]
        for i, path in zip(nonempty, paths):
            words, start = out[i], 0
            for end, tag in enumerate(path, 1):
                if BMES[tag] in "es":
                    words.append(texts[i][start:end])
                    start = end
        return out
