"""Text sentiment: the deep model of the post "文本情感分类（二）：深度学习模型" (embedding → LSTM
→ dense → sigmoid) and the two classical baselines it is measured against.

* :class:`SentimentLSTM` reads a review as a sequence of token ids (characters here) and
  scores it from the LSTM's last state, p(positive) = σ(w·h_T + b) as in the post, or from
  the maximum (or mean) of the states h_1..h_T over time — a standard improvement that lets
  every position of a long review reach the dense layer directly. The same dense layer on
  the pooled state of each prefix gives the model's running opinion as it reads
  (:meth:`step_scores`).
* :func:`bigram_keys` — the character bigrams seen often enough in the training reviews;
  given to :class:`SentimentLSTM` (``bigrams=``), each step's input is the embedding of
  the token plus an embedding of the bigram (previous token, token) that ends there, so the
  LSTM reads the same 1–2-gram features the TF-IDF baseline counts (fastText's n-gram
  embeddings, Joulin et al. 2016, inside an LSTM).
* :func:`char_ids` and :func:`word_ids` cut a review to its first tokens, or to its first
  and last ones (:func:`ends`: a long review's opening and its verdict).
* :func:`word_ids` and :func:`load_vectors` — the same model on words from a segmenter,
  its embedding started from pretrained word vectors (word2vec on the same reviews);
  :func:`piece_table` — each word's characters, so that a word's input can add the mean of
  its characters' embeddings (``pieces=``) and a rare word is more than ``<unk>``.
* :func:`train_sentiment` — Adam, buckets of similar lengths, the best-validation epoch kept,
  optionally an exponential moving average of the weights (``average=``) as the weights
  validated and kept; :func:`probabilities` and :func:`accuracy` to score a model.
* :func:`fit_sentiment` and :func:`fit_word_sentiment` — one whole training each (the
  characters + bigrams model; the segmenter, word2vec and the words model), with only plain
  values in and out, so that a lesson can run the two in worker processes
  (:func:`tinygen.parallel.map_jobs`).
* :func:`tfidf_logistic` — TF-IDF of character 1–2-grams and logistic regression
  (scikit-learn).
* :func:`snownlp_bayes` — snownlp's own naive Bayes classifier (the one behind its
  ``sentiment`` module) retrained on the same training split, on characters (snownlp's
  segmenter is pure Python and takes minutes on 15,000 reviews); None when snownlp is not
  installed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from .. import functional as F
from .. import ops
from ..autograd import Tensor, no_grad
from ..errors import ArgumentError, ShapeError
from ..data import BucketBatchSampler, DataLoader, Vocab
from ..nn import LSTM, Dropout, Embedding, Linear, Module
from ..optim import EMA, Adam, clip_grad_norm
from ..random import Generator

Reviews = Sequence[tuple[str, int]]


def ends(seq: Sequence, head: int, tail: int = 0) -> Sequence:
    """The first ``head`` and the last ``tail`` items of ``seq`` joined (a string stays a
    string), or the whole of ``seq`` when it is no longer than ``head + tail``: a long
    review read by its opening and by its end, where the verdict often is."""
    if isinstance(head, bool) or not isinstance(head, (int, np.integer)) or head < 0 or \
            isinstance(tail, bool) or not isinstance(tail, (int, np.integer)) or tail < 0:
        raise ArgumentError(f"ends: head and tail must be integers ≥ 0, got {head!r} and "
                            f"{tail!r}")
    if len(seq) <= head + tail:
        return seq
    return seq[:head] + seq[len(seq) - tail:]


def char_ids(reviews: Reviews, vocab: Vocab, length: int, tail: int = 0) -> list[list[int]]:
    """Each review's characters as ids, cut to its first ``length`` characters and, with
    ``tail``, its last ``tail`` ones too (:func:`ends`; at least one id, so an empty review
    is one ``<unk>``)."""
    return [vocab.encode(list(ends(text, length, tail))) or [vocab.unk_id]
            for text, _ in reviews]


def word_ids(tokenized: Sequence[Sequence[str]], vocab: Vocab, length: int, tail: int = 0
             ) -> list[list[int]]:
    """Each review's words (from a segmenter) as ids, cut to its first ``length`` words and,
    with ``tail``, its last ``tail`` ones too (:func:`ends`; at least one id, so an empty
    review is one ``<unk>``)."""
    return [vocab.encode(list(ends(list(words), length, tail))) or [vocab.unk_id]
            for words in tokenized]


def bigram_keys(ids: Sequence[Sequence[int]], vocab_size: int, min_count: int = 2
                ) -> np.ndarray:
    """The sorted keys a·V + b of the bigrams (a, b) of consecutive ids seen ``min_count``
    times or more in ``ids`` (V = ``vocab_size``); a sequence's first id pairs with a = 0
    (the padding id stands for "start")."""
    keys = np.concatenate([np.asarray(seq, np.int64) + vocab_size * np.r_[0, seq[:-1]]
                           .astype(np.int64) for seq in ids if len(seq)] or [np.zeros(0, int)])
    found, counts = np.unique(keys, return_counts=True)
    return found[counts >= min_count]


def piece_table(tokens: Vocab, pieces: Vocab, width: int) -> np.ndarray:
    """(len(tokens), ``width``) ids for :class:`SentimentLSTM` ``pieces=``: row i holds the
    first ``width`` characters of token i as ids of ``pieces`` (0 after the token's end, and
    the whole row for the specials)."""
    table = np.zeros((len(tokens), width), np.int64)
    for i, token in enumerate(tokens):
        if token not in tokens.specials:
            ids = pieces.encode(list(token)[:width])
            table[i, :len(ids)] = ids
    return table


def load_vectors(embedding: Embedding, vocab: Vocab, words: Sequence[str],
                 matrix: np.ndarray) -> int:
    """Start the rows of ``embedding`` of the tokens of ``vocab`` found in ``words`` from
    their pretrained vectors (rows of ``matrix``, e.g. word2vec's), rescaled so that their
    entries have the spread of the other rows (the layer starts N(0, 1)). Returns how many
    rows were set."""
    matrix = np.asarray(matrix, np.float64)
    if matrix.shape != (len(words), embedding.embedding_dim):
        raise ShapeError(f"load_vectors: {len(words)} words need vectors of shape "
                         f"({len(words)}, {embedding.embedding_dim}), got {matrix.shape}")
    index = {w: i for i, w in enumerate(words)}
    pairs = [(vocab.id(w), index[w]) for w in vocab if w in index and w not in vocab.specials]
    if pairs:
        rows, src = map(list, zip(*pairs))
        scale = matrix[src].std() or 1.0
        embedding.weight.data[rows] = (matrix[src] / scale).astype(embedding.weight.dtype)
    return len(pairs)


class SentimentLSTM(Module):
    """embedding (V → E) → LSTM (E → H) → dense (H → 1): the logit of p(positive).
    With ``bigrams`` (keys from :func:`bigram_keys`) a step's input is the token's embedding
    plus that of the bigram ending at it (unknown bigrams share one row). ``bidirectional``
    adds a second LSTM reading the review backwards (dense: 2H → 1; pooled states only,
    and :meth:`step_scores` is then no longer a prefix's score, since the backward half of
    h_t has read the whole review). ``word_dropout`` (Iyyer et al., 2015): in training each
    real token is read as ``unk_id`` with that probability, so the model cannot lean on
    single rare words. ``pieces`` (from :func:`piece_table`; a word's characters) adds to a
    step's input the mean of its pieces' embeddings, so a rare or unseen word is more than
    ``<unk>``: ids from ``vocab_size`` up to ``len(pieces)`` are such words, read as
    ``unk_id`` by the token embedding but with pieces of their own (word dropout then drops
    the word's row only, keeping its pieces)."""

    def __init__(self, vocab_size: int, embed: int = 64, hidden: int = 64,
                 generator: Generator | None = None, pool: str = "last",
                 dropout: float = 0.0, bigrams: np.ndarray | None = None,
                 bidirectional: bool = False, word_dropout: float = 0.0, unk_id: int = 1,
                 pieces: np.ndarray | None = None):
        super().__init__()
        if pool not in ("last", "max", "mean"):
            raise ArgumentError(f"SentimentLSTM: pool must be 'last', 'max' or 'mean', "
                                f"got {pool!r}")
        if not 0.0 <= word_dropout < 1.0:
            raise ArgumentError(f"SentimentLSTM: word_dropout must be in [0, 1), "
                                f"got {word_dropout!r}")
        if bidirectional and pool == "last":
            raise ArgumentError("SentimentLSTM: a bidirectional LSTM has no single last "
                                "state; use pool='max' or 'mean'")
        self.pool, self.word_dropout, self.unk_id = pool, float(word_dropout), unk_id
        self.vocab_size = vocab_size
        self.embed = Embedding(vocab_size, embed, padding_idx=0, generator=generator)
        self.bigrams = None if bigrams is None else np.asarray(bigrams, np.int64)
        if self.bigrams is not None:  # rows: 0 padding, 1 an unknown bigram, 2 + i key i
            self.bigram_embed = Embedding(len(self.bigrams) + 2, embed, padding_idx=0,
                                          generator=generator)
        self.pieces = None if pieces is None else np.asarray(pieces, np.int64)
        if self.pieces is not None:
            if self.pieces.ndim != 2 or len(self.pieces) < vocab_size:
                raise ShapeError(f"SentimentLSTM: pieces must be a (n ≥ vocab_size = "
                                 f"{vocab_size}, width) table, got shape {self.pieces.shape}")
            self.piece_embed = Embedding(max(int(self.pieces.max()) + 1, 2), embed,
                                         padding_idx=0, generator=generator)
        self.drop = Dropout(dropout, generator=generator)
        self.lstm = LSTM(embed, hidden, bidirectional=bidirectional, generator=generator)
        self.out = Linear(2 * hidden if bidirectional else hidden, 1, generator=generator)
        # word dropout's own stream, seeded from the generator after the weights are drawn
        seed = None if generator is None or not word_dropout else \
            int(generator.integers(0, 2**31, 1).numpy()[0])
        self._word_rng = np.random.default_rng(seed)

    def inputs(self, ids, drop_words: bool = False) -> Tensor:
        """The LSTM's inputs (B, T, E): token embeddings, plus bigram embeddings and the mean
        of the pieces' embeddings if any; ``drop_words``: word dropout (training)."""
        ids = np.asarray(ids, np.int64)
        rows = ids if self.pieces is None else np.where(ids >= self.vocab_size, self.unk_id, ids)
        if drop_words and self.word_dropout > 0:  # a dropped token reads as <unk>
            hit = (self._word_rng.random(ids.shape) < self.word_dropout) & (ids != 0)
            rows = np.where(hit, self.unk_id, rows)
        x = self.embed(rows)
        if self.pieces is not None:
            parts = self.pieces[ids]
            count = np.maximum((parts != 0).sum(axis=-1, keepdims=True), 1)
            x = x + ops.sum(self.piece_embed(parts), axis=2) / Tensor(count.astype(x.dtype))
        if self.bigrams is None:
            return x
        ids = rows
        keys = ids + self.vocab_size * np.pad(ids[:, :-1], ((0, 0), (1, 0)))
        at = np.minimum(np.searchsorted(self.bigrams, keys), max(len(self.bigrams) - 1, 0))
        known = (self.bigrams[at] == keys) if len(self.bigrams) else np.zeros_like(ids, bool)
        rows = np.where(ids == 0, 0, np.where(known, at + 2, 1))
        return x + self.bigram_embed(rows)

    def forward(self, ids, mask) -> Tensor:
        """Logits (B,) from the state after each review's last real step (``pool="last"``,
        the post), or from the maximum or mean of the states over the real steps."""
        x = self.inputs(ids, drop_words=self.training)
        outputs, (h, _) = self.lstm(self.drop(x), mask=mask)
        if self.pool == "last":
            return self.out(self.drop(h[0])).reshape(-1)
        keep = np.asarray(mask, bool)[..., None]
        if self.pool == "max":  # states lie in (−1, 1): −2 never wins
            pooled = ops.max(ops.where(keep, outputs, -2.0), axis=1)
        else:
            pooled = ops.sum(outputs, axis=1) / keep.sum(axis=1).astype(np.float64)
        return self.out(self.drop(pooled)).reshape(-1)

    def step_scores(self, ids, mask) -> np.ndarray:
        """p(positive) after each step, (B, T): the dense layer on what the model would pool
        had the review ended there — h_t (``"last"``), the running maximum or the running
        mean of h_1..h_t — so the last real step's score is the prediction."""
        with no_grad():
            outputs, _ = self.lstm(self.inputs(ids), mask=mask)
            h = outputs.data
            if self.pool == "max":
                h = np.maximum.accumulate(h, axis=1)
            elif self.pool == "mean":
                h = np.cumsum(h, axis=1) / np.arange(1, h.shape[1] + 1)[None, :, None]
            return ops.sigmoid(self.out(Tensor(h))).data[..., 0]


def _logits(model: SentimentLSTM, ids: list[list[int]], batch: int) -> np.ndarray:
    """The logit of each review (in eval mode, without gradients)."""
    loader = DataLoader((ids, np.zeros(len(ids))), batch_size=batch, shuffle=False)
    out, mode = [], model.training
    model.eval()
    with no_grad():
        for (x, mask), _ in loader:
            out.append(model(x, mask).numpy())
    model.train(mode)
    return np.concatenate(out)


def probabilities(model: SentimentLSTM, ids: list[list[int]], batch: int = 256
                  ) -> np.ndarray:
    """p(positive) of each review, σ(logit) (float64)."""
    return 1.0 / (1.0 + np.exp(-_logits(model, ids, batch).astype(np.float64)))


def accuracy(model: SentimentLSTM, ids: list[list[int]], labels: np.ndarray,
             batch: int = 256) -> float:
    """Share of reviews whose predicted class (logit > 0) is the label."""
    right = (_logits(model, ids, batch) > 0) == (np.asarray(labels) > 0.5)
    return int(right.sum()) / len(right)


def train_sentiment(model: SentimentLSTM, train: tuple[list, np.ndarray],
                    valid: tuple[list, np.ndarray], epochs: int, batch: int = 64,
                    lr: float = 2e-3, seed: int = 0, clip: float = 5.0,
                    bucket: bool = False, keep_best: bool = False,
                    average: float = 0.0) -> list[dict]:
    """Adam on the binary cross-entropy, ``epochs`` passes; after each the train loss and the
    validation accuracy; the model is left in eval mode (no dropout). ``bucket`` batches
    reviews of similar lengths together (:class:`BucketBatchSampler`), which removes most of
    the padding steps; ``keep_best``
    ends with the parameters of the epoch of best validation accuracy (early stopping
    without stopping: the test set is never looked at). ``average`` = α > 0 keeps an
    exponential moving average of the weights (:class:`tinygen.optim.EMA`, Θ ← αΘ + (1 − α)θ
    after every step; Polyak averaging), and it is the averaged weights that are validated,
    kept and left in the model (``valid_accuracy``; the raw weights' is
    ``raw_valid_accuracy``)."""
    opt = Adam(model.parameters(), lr=lr)
    ema = EMA(model, alpha=average) if average else None
    sampler = BucketBatchSampler([len(s) for s in train[0]], batch, seed=seed) if bucket \
        else None
    loader = DataLoader(train, batch_size=batch, shuffle=True, seed=None if bucket else seed,
                        sampler=sampler)
    history, best, best_state = [], -1.0, None
    model.train()
    for epoch in range(1, epochs + 1):
        losses = []
        for (x, mask), y in loader:
            loss = F.binary_cross_entropy_with_logits(model(x, mask), y.astype(np.float64))
            opt.zero_grad()
            loss.backward()
            clip_grad_norm(model.parameters(), clip)
            opt.step()
            if ema is not None:
                ema.update()
            losses.append(float(loss.data))
        history.append({"epoch": epoch, "loss": float(np.mean(losses))})
        if ema is not None:
            history[-1]["raw_valid_accuracy"] = accuracy(model, *valid)
            ema.apply()
        history[-1]["valid_accuracy"] = accuracy(model, *valid)
        if keep_best and history[-1]["valid_accuracy"] > best:
            best, best_state = history[-1]["valid_accuracy"], model.state_dict()
        if ema is not None and epoch < epochs:  # after the last, the averaged weights stay
            ema.restore()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def _fit(model: SentimentLSTM, data: dict, epochs: int, seed: int, lr: float,
         batch: int, average: float = 0.0) -> dict:
    """Train ``model`` on ``data["train"]`` keeping the best-validation epoch; its history,
    test accuracy before and after, and trained state as arrays."""
    untrained = accuracy(model, *data["test"])
    history = train_sentiment(model, data["train"], data["valid"], epochs=epochs, batch=batch,
                              lr=lr, seed=seed, bucket=True, keep_best=True, average=average)
    return {"history": history, "untrained": untrained,
            "test_accuracy": accuracy(model, *data["test"]),
            "p_valid": probabilities(model, data["valid"][0]),
            "p_test": probabilities(model, data["test"][0]),
            "state": {name: t.numpy() for name, t in model.state_dict().items()}}


def fit_sentiment(data: dict, vocab_size: int, units: int, epochs: int, seed: int = 0,
                  pool: str = "max", dropout: float = 0.0, bigrams: np.ndarray | None = None,
                  lr: float = 3e-3, batch: int = 64, average: float = 0.0) -> dict:
    """One :class:`SentimentLSTM` start to finish, plain values in and out (for a worker
    process, :func:`tinygen.parallel.map_jobs`): ``data`` maps "train", "valid" and "test"
    to (ids, labels); the model is built with ``Generator(seed)`` and trained by
    :func:`train_sentiment` (buckets, the best-validation epoch kept; ``average``: the EMA
    weights' α, 0 for none). Returns ``history``,
    ``untrained`` and ``test_accuracy`` (test accuracy before and after), ``p_valid`` and
    ``p_test`` (the trained model's p(positive) of each review, e.g. for an ensemble),
    ``state`` (the
    trained parameters as arrays, to load into the same model built with the same
    arguments), ``cpu_seconds`` (this process's CPU time for the job) and
    ``process_cpu_seconds`` (this process's CPU time since it started: in a worker, its
    start-up too)."""
    t0 = time.process_time()
    model = SentimentLSTM(vocab_size, units, units, generator=Generator(seed), pool=pool,
                          dropout=dropout, bigrams=bigrams)
    return {**_fit(model, data, epochs, seed, lr, batch, average),
            "cpu_seconds": time.process_time() - t0,
            "process_cpu_seconds": time.process_time()}


def fit_word_sentiment(texts: dict, labels: dict, segmenter_sentences: int, length: int,
                       units: int, epochs: int, seed: int = 0, pool: str = "max",
                       dropout: float = 0.0, lr: float = 3e-3, batch: int = 64,
                       bidirectional: bool = False, word_dropout: float = 0.0,
                       pieces: int = 0, average: float = 0.0, tail: int = 0) -> dict:
    """The words model start to finish, plain values in and out (for a worker process):
    lesson 7's CNN + CRF :class:`Segmenter` trained for one epoch on the first
    ``segmenter_sentences`` People's Daily sentences (first weights from
    ``tinygen.manual_seed(seed)``) cuts the reviews ``texts[part]`` (parts "train", "valid",
    "test"); skip-gram word2vec (dimension ``units``, 5 epochs) on the training words starts
    the embedding (:func:`load_vectors`) of a :class:`SentimentLSTM` on the first ``length``
    words of each review and, with ``tail``, its last ``tail`` words too (:func:`ends`;
    read both ways with ``bidirectional``; ``word_dropout``: the share of training tokens
    read as ``<unk>``; ``pieces`` > 0: each word also brings the mean embedding of its first
    ``pieces`` characters — those seen twice in the training reviews — and every word of a
    review, however rare, keeps its characters: the words seen once in training, or only in
    the validation or test reviews (their text, never their labels), get ids past the
    vocabulary's, which read as ``<unk>`` plus their characters), trained as in
    :func:`fit_sentiment`. Returns what that returns plus ``cut_test_first`` (the
    first test review's words), ``per_review`` (mean words per training review), ``vocab``
    (words seen twice or more), ``from_word2vec`` (rows started from word2vec) and
    ``segment_cpu_seconds``."""
    from .. import manual_seed
    from ..data import load_peoples_daily_seg
    from .tagger import Segmenter
    from .word2vec import Word2Vec

    t0 = time.process_time()
    manual_seed(seed)
    segmenter = Segmenter.train(load_peoples_daily_seg()[0][:segmenter_sentences], epochs=1,
                                seed=seed)
    cut = {part: segmenter.cut(list(texts[part])) for part in ("train", "valid", "test")}
    segment_seconds = time.process_time() - t0
    w2v = Word2Vec(cut["train"], dim=units, min_count=2, epochs=5, seed=seed,
                   compute_loss=False)
    w2v.train()
    vocab = Vocab.build(cut["train"], min_count=2)
    tokens, table = vocab, None
    if pieces:
        rare = sorted({w for part in cut.values() for words in part
                       for w in ends(list(words), length, tail)}
                      - set(vocab))
        tokens = Vocab([w for w in vocab if w not in vocab.specials] + rare, vocab.specials)
        table = piece_table(tokens, Vocab.build([list(t) for t in texts["train"]], min_count=2),
                            pieces)
    data = {part: (word_ids(cut[part], tokens, length, tail), np.asarray(labels[part]))
            for part in cut}
    model = SentimentLSTM(len(vocab), units, units, generator=Generator(seed), pool=pool,
                          dropout=dropout, bidirectional=bidirectional,
                          word_dropout=word_dropout, unk_id=vocab.unk_id, pieces=table)
    started_from = load_vectors(model.embed, vocab, w2v.vectors.words, w2v.w_in)
    return {**_fit(model, data, epochs, seed, lr, batch, average),
            "cut_test_first": list(cut["test"][0]),
            "per_review": float(np.mean([len(w) for w in cut["train"]])), "vocab": len(vocab),
            "from_word2vec": started_from, "segment_cpu_seconds": segment_seconds,
            "cpu_seconds": time.process_time() - t0, "process_cpu_seconds": time.process_time()}


def tfidf_logistic(train: Reviews, test: Reviews) -> float:
    """Test accuracy of TF-IDF (character 1–2-grams) + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x = vec.fit_transform([t for t, _ in train])
    clf = LogisticRegression(C=4.0, max_iter=2000).fit(x, [y for _, y in train])
    return float(clf.score(vec.transform([t for t, _ in test]), [y for _, y in test]))


def snownlp_bayes(train: Reviews, test: Reviews) -> float | None:
    """Test accuracy of snownlp's naive Bayes retrained on ``train`` (characters as its
    features); None when snownlp is not installed."""
    try:
        from snownlp.classification.bayes import Bayes
    except ImportError:
        return None
    bayes = Bayes()
    bayes.train([(list(t), "pos" if y else "neg") for t, y in train])
    right = sum((bayes.classify(list(t))[0] == "pos") == bool(y) for t, y in test)
    return right / len(test)
