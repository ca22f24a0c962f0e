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
from ..errors import ArgumentError
from ..optim import Adam, CosineAnnealingLR
from ..train import LRSchedule, fit

__all__ = ["ConvTagger", "Segmenter", "bigram_rows", "fit_tagger", "pretrained_vectors",
           "train_tagger"]

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
    there, all unknown bigrams sharing one row (not in the post).

    Not in the post either: ``kernels``, one kernel size per convolution (default all 3);
    ``residual``: every convolution after the first adds its output to its input (x ← x +
    relu(conv(x))); ``sparse``: the bigram table gets row-sparse gradients
    (``nn.Embedding(sparse=True)``, so it costs per step only the rows a batch uses);
    ``vectors``: starting values for the embedding tables, a dict with "chars" (vocab_size,
    width) and/or "bigrams" (len(bigrams) + 2, width), e.g. word2vec vectors (rows 0, the
    padding, are set to zero)."""

    def __init__(self, vocab_size: int, width: int, tags: Sequence[str], crf: bool,
                 dilations: Sequence[int] = (1, 1, 1), dropout: float = 0.0,
                 bigrams: np.ndarray | None = None, kernels: Sequence[int] | None = None,
                 residual: bool = False, sparse: bool = False,
                 vectors: dict[str, np.ndarray] | None = None):
        super().__init__()
        self.tags = tuple(tags)
        kernels = (3,) * len(dilations) if kernels is None else tuple(kernels)
        if len(kernels) != len(dilations):
            raise ArgumentError(f"ConvTagger: one kernel size per convolution: got kernels "
                                f"{kernels} for dilations {tuple(dilations)}")
        self.residual = bool(residual)
        self.embedding = nn.Embedding(vocab_size, width, padding_idx=0)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        self.embedding.weight.data[0] = 0
        self.convs = nn.ModuleList([nn.Conv1d(width, width, k, padding="same", dilation=d)
                                    for k, d in zip(kernels, dilations)])
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(width, len(self.tags))
        self.crf = nn.CRF.bmes(self.tags) if crf else None
        self.vocab_size = vocab_size
        self.bigrams = None if bigrams is None else np.asarray(bigrams, np.int64)
        if self.bigrams is not None:  # rows: 0 padding, 1 an unknown bigram, 2 + i key i
            self.bigram_embedding = nn.Embedding(len(self.bigrams) + 2, width, padding_idx=0,
                                                 sparse=sparse)
            nn.init.uniform_(self.bigram_embedding.weight, -0.05, 0.05)
            self.bigram_embedding.weight.data[0] = 0
        for name, matrix in (vectors or {}).items():
            table = {"chars": self.embedding,
                     "bigrams": getattr(self, "bigram_embedding", None)}.get(name)
            if table is None or np.shape(matrix) != tuple(table.weight.shape):
                raise ArgumentError(f"ConvTagger: vectors[{name!r}] must be a matrix of the "
                                    f"shape of that embedding table, got {np.shape(matrix)}")
            table.weight.data[...] = np.asarray(matrix, table.weight.dtype)
            table.weight.data[0] = 0

    def embed(self, ids) -> Tensor:
        """(B, L, D): each character's embedding, plus its bigram's if the model has any."""
        x = self.embedding(ids)
        if self.bigrams is None:
            return x
        rows = bigram_rows(ids.numpy(), self.vocab_size, self.bigrams)
        return x + self.bigram_embedding(Tensor(ids.xp.asarray(rows)))

    def forward(self, ids, mask) -> Tensor:
        keep = Tensor(mask.data[:, None, :].astype(np.float32))  # (B, 1, L)
        x = ops.transpose(self.embed(ids), 1, 2)                  # (B, D, L)
        for i, conv in enumerate(self.convs):
            y = ops.relu(conv(self.dropout(x))) * keep
            x = x + y if self.residual and i > 0 else y
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
                 lr: float, crf_lr: float, seed: int, bigram_lr: float | None = None,
                 device: str = "cpu", verbose: bool = True) -> float:
    """Train ``model`` with Adam and a per-step cosine learning rate on length-bucketed,
    masked batches of (character ids ``x``, tag ids ``y``); the CRF's parameters (transitions)
    get their own rate ``crf_lr``, and the bigram table (if any) ``bigram_lr`` (default
    ``lr``; lazy Adam on a row-sparse table moves a rarely used row less than dense Adam,
    whose momentum keeps moving it after its use). Returns the training time in seconds."""
    sampler = BucketBatchSampler([len(s) for s in x], batch, seed=seed)
    loader = DataLoader((x, y), sampler=sampler, device=device)
    sparse = [p for name, p in model.named_parameters() if name.startswith("bigram_")]
    encoder = [p for name, p in model.named_parameters()
               if not name.startswith(("crf.", "bigram_"))]
    groups = [{"params": encoder}]
    if sparse:
        groups.append({"params": sparse, "lr": lr if bigram_lr is None else bigram_lr})
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
               bigrams: np.ndarray | None = None, kernels: Sequence[int] | None = None,
               residual: bool = False, sparse: bool = False,
               vectors: dict[str, np.ndarray] | None = None, bigram_lr: float | None = None,
               device: str = "cpu", verbose: bool = False) -> dict:
    """One :class:`ConvTagger` start to finish, plain values in and out (for a worker
    process, :func:`tinygen.parallel.run_jobs`): first weights from
    ``tinygen.manual_seed(seed)``, trained by :func:`train_tagger`. Returns ``state`` (the
    trained parameters as arrays, to load into a ConvTagger built with the same arguments),
    ``seconds`` (training wall time) and ``cpu_seconds`` (this process's CPU time for it)."""
    from .. import manual_seed

    t0 = time.process_time()
    manual_seed(seed)
    model = ConvTagger(vocab_size, width, tags, crf=crf, dilations=dilations,
                       dropout=dropout, bigrams=bigrams, kernels=kernels, residual=residual,
                       sparse=sparse, vectors=vectors).to(device)
    seconds = train_tagger(model, x, y, batch=batch, epochs=epochs, lr=lr, crf_lr=crf_lr,
                           seed=seed, bigram_lr=bigram_lr, device=device, verbose=verbose)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    return {"state": state, "seconds": seconds, "cpu_seconds": time.process_time() - t0}


def bigram_rows(ids: np.ndarray, vocab_size: int, bigrams: np.ndarray) -> np.ndarray:
    """The bigram-table row of every position of the id array ``ids`` (B, L), as
    :meth:`ConvTagger.embed` reads them: 0 at padding (id 0), 1 for a bigram (previous id,
    id) not among the sorted keys ``bigrams``, 2 + i for key i."""
    a = np.asarray(ids, np.int64)
    keys = a + vocab_size * np.pad(a[:, :-1], ((0, 0), (1, 0)))
    at = np.minimum(np.searchsorted(bigrams, keys), max(len(bigrams) - 1, 0))
    known = bigrams[at] == keys if len(bigrams) else np.zeros_like(a, bool)
    return np.where(a == 0, 0, np.where(known, at + 2, 1))


def pretrained_vectors(x: Sequence[Sequence[int]], vocab_size: int, width: int,
                       bigrams: np.ndarray | None = None, *, epochs: int = 5, window: int = 5,
                       scale: float = 0.03, seed: int = 0) -> dict[str, np.ndarray]:
    """Starting values for :class:`ConvTagger`'s embedding tables (its ``vectors=``): word2vec
    (:class:`~tinygen.models.word2vec.Word2Vec`, CBOW with a mean, negative sampling) trained
    on the character-id sentences ``x`` themselves, and, given ``bigrams``, on the same
    sentences read as sequences of bigram rows. Rows word2vec never saw keep
    U(−0.05, 0.05); the trained rows are rescaled to standard deviation ``scale`` (the
    uniform start's is 0.029), so the network starts at its usual scale with the
    co-occurrence structure of the text in its tables. Row 0 (padding) is zero."""
    from .word2vec import Word2Vec

    rng = np.random.default_rng(seed)
    tables = {"chars": ([np.asarray(s, np.int64) for s in x if len(s)], vocab_size)}
    if bigrams is not None:
        rows = [bigram_rows(np.asarray(s, np.int64)[None], vocab_size, bigrams)[0]
                for s in x if len(s)]
        tables["bigrams"] = ([r[r >= 2] for r in rows], len(bigrams) + 2)
    out = {}
    for name, (sentences, size) in tables.items():
        w2v = Word2Vec([s.tolist() for s in sentences], dim=width, window=window, sg=False,
                       cbow_mean=True, min_count=1, epochs=epochs, seed=seed,
                       compute_loss=False)
        w2v.train()
        matrix = rng.uniform(-0.05, 0.05, (size, width))
        ids = np.asarray(w2v.vocab.words, np.int64)
        trained = w2v.w_in.astype(np.float64)
        matrix[ids] = trained * (scale / (trained.std() or 1.0))
        matrix[0] = 0
        out[name] = matrix.astype(np.float32)
    return out


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
