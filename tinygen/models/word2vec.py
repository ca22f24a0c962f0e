r"""word2vec: skip-gram and CBOW word vectors trained with negative sampling or the Keras
post's "random softmax" (the posts "【不可思议的Word2Vec】6. Keras版的Word2Vec" and Mikolov et
al. 2013).

Every word w has an input vector v_w (a row of ``w_in``, the word vector kept at the end)
and an output vector u_w (a row of ``w_out``). An **example** is an input h and a target
word t₀ with k sampled negatives t₁ … t_k:

* **skip-gram**: h = v_c for one context word c within the window of t₀;
* **CBOW**: h = Σ_c v_c over the window's context words (the post's sum; ``cbow_mean``
  takes the mean, as gensim does by default, and like gensim and the C tool then gives every
  context word the whole gradient with respect to h, not the exact 1/n of it).

The loss is the **sigmoid** one of negative sampling, −log σ(h·u_t₀) − Σₙ log σ(−h·u_tₙ),
or the post's **random softmax**, −log softmax(h·u_t₀, …, h·u_t_k)₀, a softmax over the
target and the negatives only. Negatives come from the unigram distribution raised to 0.75;
frequent words are **subsampled**, kept with probability √(t/f) + t/f (f the word's
frequency, t = ``sample``); the window is **dynamic** (b drawn uniformly in 1 … window, so
near words count more); the learning rate **decays linearly** to ``min_alpha`` over the
run. Training is plain SGD, one example at a time, in the Numba kernel
(:mod:`tinygen.kernels.cpu.word2vec`, which states the exact order of the random draws);
:func:`twin_train` is the same training written in tinygen Tensor ops (embedding lookups,
dot products, the loss, ``grad`` and the SGD optimiser), on the same random draws, and the
tests hold the two together.

:class:`WordVectors` holds the result: nearest neighbours by cosine, 3CosAdd analogies
(b − a + c) and the standard evaluations (Spearman on word-similarity pairs, analogy
accuracy restricted to the vocabulary).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .. import ops
from ..autograd import Tensor
from ..creation import tensor
from ..errors import ArgumentError
from ..kernels.cpu import word2vec as kernel
from ..nn.module import Parameter
from ..optim import SGD
from ..stochastic.ssa import stream_uniform

LOSSES = {"sigmoid": kernel.SIGMOID, "softmax": kernel.SOFTMAX}


@dataclass(frozen=True)
class Vocabulary:
    """Words seen at least ``min_count`` times, most frequent first (ties by text)."""

    words: tuple[str, ...]
    counts: np.ndarray

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 5,
              max_size: int | None = None) -> Vocabulary:
        """Count the words of ``sentences`` and keep the frequent ones."""
        counted = Counter(w for s in sentences for w in s)
        kept = sorted((w for w, c in counted.items() if c >= min_count),
                      key=lambda w: (-counted[w], w))[:max_size]
        if not kept:
            raise ArgumentError(f"Vocabulary: no word occurs min_count={min_count} times")
        return cls(tuple(kept), np.array([counted[w] for w in kept], np.int64))

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        """word → id."""
        return {w: i for i, w in enumerate(self.words)}

    def encode(self, sentences: Iterable[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """All sentences as one int32 id array and int64 offsets (sentence s is
        ``ids[offsets[s]:offsets[s+1]]``); unknown words are dropped, as in gensim."""
        index = self.index
        ids, offsets = [], [0]
        for s in sentences:
            ids.extend(i for w in s if (i := index.get(w)) is not None)
            offsets.append(len(ids))
        return np.array(ids, np.int32), np.array(offsets, np.int64)


def keep_probability(counts: np.ndarray, sample: float) -> np.ndarray:
    """P(keep w) = √(t/f) + t/f, capped at 1 (f = count/total, t = ``sample``; 0: keep all)."""
    counts = np.asarray(counts, np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    ratio = sample * counts.sum() / counts
    return np.minimum(1.0, np.sqrt(ratio) + ratio)


def negative_cdf(counts: np.ndarray, exponent: float = 0.75) -> np.ndarray:
    """Cumulative probabilities of the negative-sampling distribution ∝ count^exponent
    (0.75: the paper's; 0: uniform, the Keras post's); the last entry is exactly 1."""
    weights = np.asarray(counts, np.float64) ** exponent
    cum = np.cumsum(weights) / weights.sum()
    cum[-1] = 1.0
    return cum


def _check(name: str, value, ok: bool, expected: str):
    if not ok:
        raise ArgumentError(f"Word2Vec: {name} must be {expected}, got {value!r}")
    return value


class Word2Vec:
    """Skip-gram (``sg=True``) or CBOW word vectors on tokenised ``sentences``.

    The defaults are gensim's (dim 100, window 5, 5 negatives, sample 1e-3, min_count 5,
    alpha 0.025 → 1e-4, 5 epochs) except ``cbow_mean``: False sums the context, as the post
    does. ``parallel=True`` trains the sentences of a chunk in parallel (Hogwild, on
    ``numba.set_num_threads`` threads); the default single-thread order is deterministic
    given ``seed``. ``compute_loss=False`` skips the loss (a log per logit) for speed.
    ``max_exp=6`` is gensim's rule that a sigmoid logit with |z| ≥ 6 gives no update (the
    default ∞ takes the exact step; see :mod:`tinygen.kernels.cpu.word2vec`).
    """

    def __init__(self, sentences: Sequence[Sequence[str]], dim: int = 100, window: int = 5,
                 negative: int = 5, sg: bool = True, loss: str = "sigmoid",
                 cbow_mean: bool = False, sample: float = 1e-3, min_count: int = 5,
                 alpha: float = 0.025, min_alpha: float = 1e-4, epochs: int = 5,
                 ns_exponent: float = 0.75, seed: int = 0, parallel: bool = False,
                 chunk_words: int = 50_000, max_vocab: int | None = None,
                 compute_loss: bool = True, max_exp: float = np.inf):
        _check("dim", dim, isinstance(dim, int) and dim > 0, "a positive int")
        _check("window", window, isinstance(window, int) and window > 0, "a positive int")
        _check("negative", negative, isinstance(negative, int) and negative > 0,
               "a positive int")
        _check("epochs", epochs, isinstance(epochs, int) and epochs > 0, "a positive int")
        _check("loss", loss, loss in LOSSES, f"one of {sorted(LOSSES)}")
        _check("max_exp", max_exp, max_exp > 0, "positive (np.inf: no skip)")
        _check("alpha", alpha, 0 < alpha and 0 <= min_alpha <= alpha,
               "positive, with 0 ≤ min_alpha ≤ alpha")
        self.dim, self.window, self.negative, self.sg = dim, window, negative, bool(sg)
        self.loss, self.cbow_mean, self.sample = loss, bool(cbow_mean), float(sample)
        self.alpha, self.min_alpha, self.epochs = float(alpha), float(min_alpha), epochs
        self.seed, self.parallel, self.chunk_words = seed, parallel, chunk_words
        self.compute_loss, self.max_exp = compute_loss, float(max_exp)
        self.vocab = Vocabulary.build(sentences, min_count, max_vocab)
        self.tokens, self.offsets = self.vocab.encode(sentences)
        self.keep = keep_probability(self.vocab.counts, self.sample)
        self.cum = negative_cdf(self.vocab.counts, ns_exponent)
        rng = np.random.default_rng(seed)
        v = len(self.vocab)
        self.w_in = ((rng.random((v, dim), np.float32) - 0.5) / dim).astype(np.float32)
        self.w_out = np.zeros((v, dim), np.float32)
        self.history: list[dict] = []

    def _chunks(self) -> list[tuple[int, int]]:
        """Sentence ranges of about ``chunk_words`` words each."""
        bounds, start = [], 0
        n = len(self.offsets) - 1
        while start < n:
            stop = int(np.searchsorted(self.offsets, self.offsets[start] + self.chunk_words,
                                       side="left"))
            stop = min(max(stop, start + 1), n)
            bounds.append((start, stop))
            start = stop
        return bounds

    def train(self, epochs: int | None = None) -> list[dict]:
        """Run the epochs; per epoch record the mean loss per example (None without
        ``compute_loss``), the words kept after subsampling and the words (in the vocabulary)
        per second. Returns :attr:`history`."""
        epochs = self.epochs if epochs is None else epochs
        raw = int(self.offsets[-1])
        n = len(self.offsets) - 1
        for epoch in range(epochs):
            t0 = time.perf_counter()
            loss = kept = examples = 0.0
            for a, b in self._chunks():
                o = self.offsets[a:b + 1]
                k, ls, ex = kernel.train_chunk(
                    self.w_in, self.w_out, self.tokens[o[0]:o[-1]], o - o[0], self.keep,
                    self.cum, sg=self.sg, loss=LOSSES[self.loss], mean=self.cbow_mean,
                    window=self.window, negative=self.negative, alpha=self.alpha,
                    min_alpha=self.min_alpha, done=epoch * raw + int(o[0]),
                    total=raw * self.epochs, seed=self.seed, first=epoch * n + a,
                    parallel=self.parallel, want_loss=self.compute_loss,
                    max_exp=self.max_exp)
                loss, kept, examples = loss + ls.sum(), kept + k.sum(), examples + ex.sum()
            seconds = time.perf_counter() - t0
            self.history.append({"epoch": len(self.history) + 1,
                                 "loss": (float(loss / max(examples, 1))
                                          if self.compute_loss else None),
                                 "kept_words": int(kept), "words_per_s": raw / seconds})
        return self.history

    @property
    def vectors(self) -> WordVectors:
        """The input vectors, as :class:`WordVectors`."""
        return WordVectors(self.vocab.words, self.w_in)


class WordVectors:
    """Words and their vectors (a (V, d) array): neighbours, analogies, evaluations."""

    def __init__(self, words: Sequence[str], matrix: np.ndarray):
        self.words = tuple(words)
        self.matrix = np.asarray(matrix, np.float64)
        if self.matrix.shape[0] != len(self.words):
            raise ArgumentError(f"WordVectors: {len(self.words)} words but "
                                f"{self.matrix.shape[0]} vectors")
        self.index = {w: i for i, w in enumerate(self.words)}
        norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
        self.unit = self.matrix / np.maximum(norms, 1e-12)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def _id(self, word: str) -> int:
        if word not in self.index:
            raise ArgumentError(f"WordVectors: {word!r} is not in the vocabulary "
                                f"({len(self.words)} words)")
        return self.index[word]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        return float(self.unit[self._id(a)] @ self.unit[self._id(b)])

    def most_similar(self, word: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` nearest words by cosine (the word itself left out)."""
        i = self._id(word)
        sims = self.unit @ self.unit[i]
        sims[i] = -np.inf
        top = np.argsort(-sims)[:k]
        return [(self.words[j], float(sims[j])) for j in top]

    def analogy(self, a: str, b: str, c: str) -> str:
        """3CosAdd: the word nearest b − a + c (unit vectors), other than a, b and c
        ("man is to king as woman is to ?" is analogy("man", "king", "woman"))."""
        return self.analogies([(a, b, c)])[0]

    def analogies(self, questions: Sequence[tuple[str, str, str]], batch: int = 512
                  ) -> list[str]:
        """:meth:`analogy` for many (a, b, c) at once (every word must be known)."""
        ids = np.array([[self._id(w) for w in q] for q in questions], np.int64).reshape(-1, 3)
        out = []
        for s in range(0, len(ids), batch):
            q = ids[s:s + batch]
            target = self.unit[q[:, 1]] - self.unit[q[:, 0]] + self.unit[q[:, 2]]
            sims = target @ self.unit.T
            np.put_along_axis(sims, q, -np.inf, axis=1)
            out.extend(self.words[j] for j in sims.argmax(1))
        return out

    def evaluate_pairs(self, pairs: Sequence[tuple[str, str, float]]) -> dict:
        """Spearman's ρ between cosine similarity and human scores, over the pairs whose two
        words are known (words lower-cased); ``used`` is how many pairs that is."""
        from scipy.stats import spearmanr

        known = [(a.lower(), b.lower(), s) for a, b, s in pairs
                 if a.lower() in self.index and b.lower() in self.index]
        if len(known) < 3:
            return {"spearman": float("nan"), "used": len(known), "total": len(pairs)}
        model = [self.similarity(a, b) for a, b, _ in known]
        rho = spearmanr(model, [s for *_, s in known]).statistic
        return {"spearman": float(rho), "used": len(known), "total": len(pairs)}

    def evaluate_analogies(self, questions: Sequence[tuple[str, str, str, str]]) -> dict:
        """Accuracy of :meth:`analogies` on (a, b, c, d) questions whose four words are known
        (lower-cased), as gensim's ``evaluate_word_analogies`` restricts them."""
        known = [tuple(w.lower() for w in q) for q in questions
                 if all(w.lower() in self.index for w in q)]
        if not known:
            return {"accuracy": float("nan"), "used": 0, "total": len(questions)}
        got = self.analogies([q[:3] for q in known])
        correct = sum(g == q[3] for g, q in zip(got, known))
        return {"accuracy": correct / len(known), "used": len(known),
                "total": len(questions)}


def cooccurrence_svd(tokens: np.ndarray, offsets: np.ndarray, vocab_size: int,
                     window: int = 5, dim: int = 100, seed: int = 0) -> np.ndarray:
    """Count-based word vectors, older than word2vec: the positive PMI of word–context
    co-occurrences within ``window`` (max(0, log P(w, c) / (P(w) P(c)))), reduced to ``dim``
    dimensions by a truncated SVD, rows U·√S (LSA-style; SGNS implicitly factorises a
    shifted PMI matrix, Levy & Goldberg 2014). Sentence bounds are respected."""
    from scipy import sparse
    from sklearn.utils.extmath import randomized_svd

    rows, cols = [], []
    starts = offsets[:-1]
    sentence = np.repeat(np.arange(len(starts)), np.diff(offsets))
    for shift in range(1, window + 1):
        same = sentence[shift:] == sentence[:-shift]
        a, b = tokens[:-shift][same], tokens[shift:][same]
        rows += [a, b]
        cols += [b, a]
    r, c = np.concatenate(rows), np.concatenate(cols)
    counts = sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(vocab_size,) * 2).tocsr()
    total = counts.sum()
    row_sums = np.asarray(counts.sum(1)).ravel()
    col_sums = np.asarray(counts.sum(0)).ravel()
    counts = counts.tocoo()
    pmi = np.log(counts.data * total / (row_sums[counts.row] * col_sums[counts.col]))
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep], (counts.row[keep], counts.col[keep])),
                             shape=counts.shape)
    u, s, _ = randomized_svd(ppmi, dim, random_state=seed)
    return u * np.sqrt(s)


def neighbour_agreement(vectors: WordVectors, labels: dict[str, str], words: Sequence[str],
                        k: int = 10) -> float:
    """The fraction of each word's ``k`` nearest neighbours (among the labelled words of
    ``words``) with the word's own label (e.g. its usual part of speech), averaged over
    ``words``: near 1 when the space groups words by label, the label's share by chance."""
    known = [w for w in words if w in vectors and w in labels]
    ids = np.array([vectors.index[w] for w in known])
    unit = vectors.unit[ids]
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    near = np.argsort(-sims, axis=1)[:, :k]
    tags = np.array([labels[w] for w in known])
    return float((tags[near] == tags[:, None]).mean())


# -- the composed twin ---------------------------------------------------------------------

def sentence_examples(ids: Sequence[int], keep: np.ndarray, cum: np.ndarray, sg: bool,
                      window: int, negative: int, seed: int, stream: int
                      ) -> list[tuple[list[int], list[int]]]:
    """The examples of one sentence as (context ids, [target, negatives...]), drawing from
    the stream (seed, ``stream``) in the kernel's order: subsampling, then per kept position
    the window and each example's negatives."""
    draw = 0

    def u() -> float:
        nonlocal draw
        draw += 1
        return stream_uniform(seed, stream, draw - 1)

    kept = [w for w in ids if u() < keep[w]]
    out = []
    for i, target in enumerate(kept):
        b = window - int(u() * window)
        context = [kept[j] for j in range(max(0, i - b), min(len(kept), i + b + 1)) if j != i]
        for c in (([c] for c in context) if sg else [context]):
            negatives = [int(np.searchsorted(cum, u(), side="right"))
                         for _ in range(negative)]
            if c:
                out.append((c, [target] + [t for t in negatives if t != target]))
    return out


def example_loss(w_in: Tensor, w_out: Tensor, context: Sequence[int],
                 targets: Sequence[int], loss: str = "sigmoid", mean: bool = False,
                 max_exp: float = np.inf) -> Tensor:
    """The loss of one example in Tensor ops: h = Σ (or mean) of the context rows of
    ``w_in``, logits z = u_t · h for the target and the negatives, then the sigmoid loss
    (labels 1, 0, …, 0) or the softmax over z with the target first. The mean passes the
    whole ∂loss/∂h back to each context row (the C tool's and gensim's CBOW-mean update,
    not the exact gradient, which is 1/n of it): h.detach()/n + (h − h.detach()). With the
    sigmoid loss a logit with |z| ≥ ``max_exp`` is detached (same loss, no gradient:
    gensim's skip)."""
    h = w_in[np.asarray(context)].sum(axis=0)
    if mean:  # forward: the mean; backward: ∂loss/∂h to every row, as the C tool does
        h = h.detach() / len(context) + (h - h.detach())
    z = (w_out[np.asarray(targets)] * h).sum(axis=1)
    if loss == "sigmoid":
        z = ops.where(np.abs(z.data) < max_exp, z, z.detach())
        labels = np.zeros(len(targets))
        labels[0] = 1.0
        return F.binary_cross_entropy_with_logits(z, tensor(labels, dtype=z.dtype),
                                                  reduction="sum")
    return F.cross_entropy(z.reshape(1, -1), np.zeros(1, np.int64), reduction="sum")


def twin_train(w_in: np.ndarray, w_out: np.ndarray, tokens: np.ndarray, offsets: np.ndarray,
               keep: np.ndarray, cum: np.ndarray, *, sg: bool, loss: str, mean: bool,
               window: int, negative: int, alpha: float, min_alpha: float, done: int,
               total: int, seed: int, first: int, max_exp: float = np.inf
               ) -> tuple[np.ndarray, np.ndarray, float]:
    """What :func:`tinygen.kernels.cpu.word2vec.train_chunk` (serial) computes, written as
    one SGD step of :func:`example_loss` per example (tinygen's ``SGD``, the learning rate
    set per sentence). Returns new (w_in, w_out) and the summed loss."""
    p_in, p_out = Parameter(np.array(w_in)), Parameter(np.array(w_out))
    opt = SGD([p_in, p_out], lr=alpha)
    total_loss = 0.0
    for s in range(len(offsets) - 1):
        lr = max(min_alpha, alpha - (alpha - min_alpha) * (done + offsets[s]) / total)
        opt.param_groups[0]["lr"] = lr
        ids = tokens[offsets[s]:offsets[s + 1]]
        for context, targets in sentence_examples(ids, keep, cum, sg, window, negative,
                                                  seed, first + s):
            opt.zero_grad()
            value = example_loss(p_in, p_out, context, targets, loss, mean, max_exp)
            value.backward()
            opt.step()
            total_loss += float(value.data)
    return p_in.data, p_out.data, total_loss
