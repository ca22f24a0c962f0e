"""Metrics for the fit loop, stateful like Keras' Progbar: ``reset``, ``update``, ``result``.

A plain function ``fn(outputs, targets) -> number`` becomes a :class:`MeanMetric` (its
batch values averaged, weighted by batch size), so a custom metric is one line.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np

from . import backend
from .autograd import Tensor
from .errors import ShapeError, TinygenError


def _number(value) -> float:
    return float(value.item() if isinstance(value, Tensor) else value)


def _batch_size(targets) -> int:
    shape = getattr(targets, "shape", ())
    return int(shape[0]) if len(shape) else 1


class Metric:
    """A running statistic over the batches of an epoch."""

    name = "metric"

    def __init__(self):
        self.reset()  # every metric starts empty; subclasses with arguments call this last

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, outputs, targets) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError


class MeanMetric(Metric):
    """The batch-size-weighted mean of ``fn(outputs, targets)`` over the batches seen."""

    def __init__(self, fn: Callable, name: str | None = None):
        self.fn, self.name = fn, name or getattr(fn, "__name__", "metric")
        super().__init__()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, outputs, targets) -> None:
        n = _batch_size(targets)
        self.total += _number(self.fn(outputs, targets)) * n
        self.count += n

    def result(self) -> float:
        return self.total / self.count if self.count else float("nan")


class Accuracy(Metric):
    """Fraction of targets (every position of a sequence batch) whose class scores highest
    along the last axis. Classes in ``exclude`` are never predicted: the best other class
    counts, so a target in ``exclude`` (e.g. ``<unk>`` in a tagger) is always a miss."""

    name = "accuracy"

    def __init__(self, exclude: Sequence[int] = (), name: str = "accuracy"):
        if any(not isinstance(k, numbers.Integral) or k < 0 for k in exclude):
            raise TinygenError(f"Accuracy: exclude must hold class ids >= 0, got {exclude!r}")
        self.exclude, self.name = tuple(int(k) for k in exclude), name
        super().__init__()

    def reset(self) -> None:
        self.correct, self.count = 0, 0

    def update(self, outputs, targets) -> None:
        scores = outputs.numpy() if isinstance(outputs, Tensor) else np.asarray(outputs)
        labels = targets.numpy() if isinstance(targets, Tensor) else np.asarray(targets)
        predicted = np.asarray(scores.argmax(-1))
        if self.exclude:
            if max(self.exclude) >= scores.shape[-1]:
                raise ShapeError(f"Accuracy: excluded class {max(self.exclude)} is not among "
                                 f"the {scores.shape[-1]} classes of outputs {scores.shape}")
            again = np.isin(predicted, self.exclude)
            if again.any():  # where an excluded class wins, the best of the others counts
                rows = scores[again]  # mask indexing copies: the caller's stays intact
                if rows.dtype.kind != "f":
                    rows = rows.astype(np.float64)
                rows[:, list(self.exclude)] = -np.inf
                predicted[again] = rows.argmax(-1)
        self.correct += int((predicted == labels).sum())
        self.count += int(labels.size)

    def result(self) -> float:
        return self.correct / self.count if self.count else float("nan")


def as_metric(metric: Metric | Callable | str) -> Metric:
    """A Metric from a Metric, a function, or the name ``"accuracy"`` (a fresh instance)."""
    if isinstance(metric, Metric):
        return metric
    if metric == "accuracy":
        return Accuracy()
    if callable(metric):
        return MeanMetric(metric)
    raise ValueError(f"as_metric: expected a Metric, a function or 'accuracy', got {metric!r}")


def mode_coverage(samples, modes, threshold: float = 3.0) -> dict:
    """PacGAN's mode-coverage metric for generated 2-D ``samples`` (N, 2).

    ``modes`` has ``centres`` (K, 2) and a common ``std`` σ (e.g. ``tinygen.data.toys.RING``:
    8 Gaussians on the unit circle, σ = 0.01; ``GRID``: 25 at {−4,−2,0,2,4}², σ = 0.05). Each
    sample goes to its nearest mode μ by d = sqrt(Σ(x − μ)²/σ²) = ‖x − μ‖/σ and is *high
    quality* if d < ``threshold`` (3). A mode is covered when it has at least one high-quality
    sample. The protocol draws 2,500 samples. Returns ``{"modes": covered modes,
    "high_quality": fraction of high-quality samples, "counts": high-quality samples per
    mode}``.
    """
    x = backend.to_numpy(getattr(samples, "data", samples)).astype(np.float64)
    if x.ndim != 2 or x.shape[1] != modes.centres.shape[1]:
        raise ShapeError(f"mode_coverage: samples must have shape (N, "
                         f"{modes.centres.shape[1]}), got {x.shape}")
    if len(x) == 0:
        raise TinygenError("mode_coverage: no samples")
    d = np.sqrt(((x[:, None, :] - modes.centres[None]) ** 2).sum(-1)) / modes.std
    nearest = d.argmin(1)
    good = d[np.arange(len(x)), nearest] < threshold
    counts = np.bincount(nearest[good], minlength=len(modes.centres))
    return {"modes": int((counts > 0).sum()), "high_quality": float(good.mean()),
            "counts": counts}


def expected_calibration_error(probabilities, targets, bins: int = 10) -> float:
    """How far confidence is from accuracy: Σ_b (n_b / N)·|accuracy_b − confidence_b| over
    ``bins`` equal-width bins of the confidence max_k p_k (the last bin includes 1), where a
    prediction is right when argmax_k p_k is the integer target (Guo et al., 2017).
    ``probabilities`` (N, K) rows are distributions, ``targets`` (N,)."""
    p = backend.to_numpy(getattr(probabilities, "data", probabilities)).astype(np.float64)
    y = backend.to_numpy(getattr(targets, "data", targets))
    if p.ndim != 2 or y.shape != p.shape[:1]:
        raise ShapeError(f"expected_calibration_error: probabilities must be (N, K) and targets "
                         f"(N,), got {p.shape} and {y.shape}")
    if len(p) == 0:
        raise TinygenError("expected_calibration_error: no samples")
    if not isinstance(bins, numbers.Integral) or bins < 1:
        raise TinygenError(f"expected_calibration_error: bins must be an int >= 1, got {bins!r}")
    confidence, right = p.max(axis=1), p.argmax(axis=1) == y
    which = np.digitize(confidence, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return float(sum((which == b).mean() * abs(right[which == b].mean()
                                               - confidence[which == b].mean())
                     for b in range(bins) if (which == b).any()))


def _tokens(seq) -> list:
    """A string is read character by character; any other sequence token by token."""
    return list(seq)


def lcs_length(a, b) -> int:
    """Length of the longest common subsequence of two token sequences (dynamic programme
    over one row, O(|a|·|b|))."""
    a, b = _tokens(a), _tokens(b)
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0
        for j, y in enumerate(b, start=1):
            diagonal, row[j] = row[j], diagonal + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def rouge_l(candidate, reference, beta: float = 1.0) -> float:
    """ROUGE-L of one candidate against one reference (Lin, 2004), on characters when given
    strings: with L the longest common subsequence, P = L/|candidate|, R = L/|reference|,

        F = (1 + β²)·P·R / (R + β²·P),

    β = 1 the F1 used for Chinese titles. An empty candidate or reference scores 0."""
    cand, ref = _tokens(candidate), _tokens(reference)
    common = lcs_length(cand, ref) if cand and ref else 0
    if common == 0:
        return 0.0
    p, r = common / len(cand), common / len(ref)
    return (1 + beta ** 2) * p * r / (r + beta ** 2 * p)


def _ngrams(tokens: list, n: int) -> dict:
    counts: dict = {}
    for i in range(len(tokens) - n + 1):
        gram = tuple(tokens[i:i + n])
        counts[gram] = counts.get(gram, 0) + 1
    return counts


def bleu(candidates: Sequence, references: Sequence, max_n: int = 4,
         smooth: bool = False) -> float:
    """Corpus BLEU (Papineni et al., 2002) of candidates against one reference each, on
    characters when given strings: the clipped n-gram precisions p_n = Σ min(count_cand,
    count_ref) / Σ count_cand summed over the corpus for n = 1 … ``max_n``, their geometric
    mean, times the brevity penalty BP = min(1, exp(1 − r/c)) with c and r the total
    candidate and reference lengths:

        BLEU = BP · exp((1/N) Σ_n log p_n).

    Any p_n = 0 gives 0, unless ``smooth`` adds one to the matches and the counts of every
    n > 1 (Lin & Och, 2004), which a single short sentence needs."""
    if len(candidates) != len(references):
        raise ShapeError(f"bleu: {len(candidates)} candidates but {len(references)} references")
    if not candidates:
        raise TinygenError("bleu: no candidates")
    if not isinstance(max_n, numbers.Integral) or max_n < 1:
        raise TinygenError(f"bleu: max_n must be an int >= 1, got {max_n!r}")
    matches, totals = [0] * max_n, [0] * max_n
    c_len = r_len = 0
    for cand, ref in zip(candidates, references):
        cand, ref = _tokens(cand), _tokens(ref)
        c_len, r_len = c_len + len(cand), r_len + len(ref)
        for n in range(1, max_n + 1):
            got, want = _ngrams(cand, n), _ngrams(ref, n)
            matches[n - 1] += sum(min(k, want.get(g, 0)) for g, k in got.items())
            totals[n - 1] += max(0, len(cand) - n + 1)
    if smooth:
        matches = [matches[0]] + [m + 1 for m in matches[1:]]
        totals = [totals[0]] + [t + 1 for t in totals[1:]]
    if c_len == 0 or min(matches) == 0:
        return 0.0
    log_precision = sum(np.log(m / t) for m, t in zip(matches, totals)) / max_n
    brevity = min(1.0, float(np.exp(1.0 - r_len / c_len)))
    return float(brevity * np.exp(log_precision))


def fit_gaussian(features) -> tuple[np.ndarray, np.ndarray]:
    """The mean (D,) and covariance (D, D) (unbiased, float64) of ``features`` (N, D), N ≥ 2:
    the Gaussian a Fréchet distance compares."""
    x = backend.to_numpy(getattr(features, "data", features)).astype(np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ShapeError(f"fit_gaussian: features must have shape (N, D) with N >= 2, "
                         f"got {x.shape}")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _psd_sqrt(c: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix by
    eigendecomposition, C = V diag(λ) Vᵀ → V diag(√max(λ, 0)) Vᵀ: the tiny negative
    eigenvalues rounding gives a near-singular covariance are clipped, not square-rooted
    into NaN or complex numbers."""
    c = 0.5 * (c + c.T)
    w, v = np.linalg.eigh(c)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mean_a, cov_a, mean_b, cov_b) -> float:
    """The Fréchet (2-Wasserstein²) distance between N(μ_a, Σ_a) and N(μ_b, Σ_b):

        ‖μ_a − μ_b‖² + tr Σ_a + tr Σ_b − 2 tr (Σ_a^½ Σ_b Σ_a^½)^½

    (FID's formula). Σ_a^½ Σ_b Σ_a^½ is symmetric positive semi-definite, so its square-root
    trace is Σ √λᵢ over its eigenvalues (clipped at 0): symmetric in a and b up to rounding,
    real and ≥ 0 (up to rounding) even for singular covariances, where sqrtm of the
    non-symmetric Σ_a Σ_b can return complex noise."""
    mu_a, mu_b = (np.atleast_1d(np.asarray(m, dtype=np.float64)) for m in (mean_a, mean_b))
    s_a, s_b = (np.atleast_2d(np.asarray(c, dtype=np.float64)) for c in (cov_a, cov_b))
    d = mu_a.shape[0]
    if mu_a.shape != (d,) or mu_b.shape != (d,) or s_a.shape != (d, d) or s_b.shape != (d, d):
        raise ShapeError(f"frechet_distance: means must be (D,) and covariances (D, D) for one "
                         f"D, got {mu_a.shape}, {s_a.shape}, {mu_b.shape}, {s_b.shape}")
    root = _psd_sqrt(s_a)
    middle = root @ (0.5 * (s_b + s_b.T)) @ root
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(0.5 * (middle + middle.T)), 0.0, None)).sum()
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(s_a) + np.trace(s_b) - 2.0 * cross)


def frechet_feature_distance(features_a, features_b) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of features (N_a, D) and
    (N_b, D), e.g. a classifier's penultimate layer on real and on generated images (FID with
    the Inception network replaced; see ``tinygen.models.image_gans.digit_feature_net``)."""
    return frechet_distance(*fit_gaussian(features_a), *fit_gaussian(features_b))
