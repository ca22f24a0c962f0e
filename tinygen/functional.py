"""Composite functions built only from differentiable primitives (imported as ``F``).

Nothing here computes a result with raw array math: every function is a short chain of
:mod:`tinygen.ops` primitives, so each is differentiable to any order for free (the VJPs of the
primitives are themselves Tensor ops). Array math appears only for *constants*: validating
arguments, integer label bookkeeping, random masks and the one-hot of a hard sample.

Conventions:

* ``axis`` is the class / feature axis (the last by default). An axis outside the input's
  dimensions is a :class:`~tinygen.ShapeError`.
* Losses take ``reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"`` (the per-entry
  losses). ``cross_entropy`` with ``ignore_index`` averages over the entries that are not
  ignored; a mean over no entries at all is 0 (so an all-padding batch gives a zero loss and a
  zero gradient instead of NaN).
* Nothing is silently broadcast between a prediction and its target: shapes must match.
* Stability comes from the primitives: ``log_softmax`` is computed in the shifted form
  (x − m) − log Σ exp(x − m), m the max, and ``softplus`` is ``logaddexp(x, 0)``, so softmax,
  ``cross_entropy``, the KLs and ``binary_cross_entropy_with_logits`` keep their digits
  (values and gradients) at any magnitude the dtype holds. Functions that scale the logits
  first (``smooth_*``, ``gumbel_softmax``) subtract the max (a constant) before scaling.
* An empty class axis gives the mathematical answer where there is one (softmax and
  log_softmax: empty; smooth_max: −inf, the log of an empty sum) and a ShapeError otherwise.

Contents: softmax, log_softmax, cross_entropy, binary_cross_entropy,
binary_cross_entropy_with_logits, mse, l1, gaussian_kl, categorical_kl, kl_to_uniform,
gumbel_softmax, dropout, normalize, and the smooth relaxations of the "function smoothing"
post: smooth_max, smooth_min, smooth_argmax, smooth_accuracy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Literal

import numpy as np

from . import backend, ops
from .autograd import Tensor, apply, grad, is_grad_enabled
from .errors import ArgumentError, DeviceError, DTypeError, IndexOutOfRange, ShapeError
from .ops import args as A
from .ops.reduce import max_shift
from .random import Generator, default_generator

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "categorical_kl",
    "cross_entropy", "dropout", "gaussian_kl", "gumbel_softmax", "kl_to_uniform", "l1",
    "log_softmax", "mse", "normalize", "smooth_accuracy", "smooth_argmax", "smooth_max",
    "smooth_min", "softmax",
]

TensorLike = Tensor | np.ndarray | float | int | Sequence
Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")


# -- argument checks (constants only) ---------------------------------------------------------

def _axis(name: str, x: Tensor, axis: int) -> int:
    """``axis`` as a non-negative int, or a ShapeError naming the function and the shape."""
    return A.axis(name, axis, x.ndim, shape=x.shape)


def _same_shape(name: str, a: Tensor, b: Tensor, names: tuple[str, str]) -> None:
    if a.shape != b.shape:
        raise ShapeError(f"{name}: {names[0]} of shape {a.shape} and {names[1]} of shape "
                         f"{b.shape} differ; expected equal shapes (nothing is broadcast)")


def _check_reduction(name: str, reduction: str) -> None:
    A.choice(name, reduction, "reduction", _REDUCTIONS)


def _reduce(loss: Tensor, reduction: str, count: int | None = None) -> Tensor:
    """Per-entry ``loss`` reduced; ``count`` is the number of entries a mean divides by."""
    if reduction == "none":
        return loss
    total = ops.sum(loss)
    if reduction == "sum":
        return total
    n = loss.size if count is None else count
    return total / max(n, 1)


def _in_unit_interval(name: str, x: Tensor, what: str, hint: str = "") -> None:
    """ArgumentError unless every value of ``x`` lies in [0, 1] (NaN fails too)."""
    if x.size == 0:
        return
    lo, hi = float(x.data.min()), float(x.data.max())
    if not (lo >= 0.0 and hi <= 1.0):
        raise ArgumentError(f"{name}: {what} (shape {x.shape}) must lie in [0, 1], got values in "
                         f"[{lo}, {hi}]{hint}")


def _labels(name: str, logits: Tensor, target, axis: int, ignore_index: int | None = None):
    """Integer class labels as an array on ``logits``' device, checked for dtype, shape and
    range: ``target.shape`` must be ``logits.shape`` without the class axis."""
    t = A.tensor(name, target, "target").data
    backend.xp_of(logits.data, t, op=name)
    if not hasattr(t, "dtype") or t.dtype.kind not in "iu":
        dtype = getattr(t, "dtype", type(t).__name__)
        raise DTypeError(f"{name}: target must hold integer class indices, got dtype {dtype} "
                         f"(shape {tuple(getattr(t, 'shape', ()))}); cast it with "
                         ".astype(int)")
    expected = logits.shape[:axis] + logits.shape[axis + 1:]
    if tuple(t.shape) != expected:
        raise ShapeError(f"{name}: logits of shape {logits.shape} (classes on axis {axis}) need "
                         f"a target of shape {expected}, got {tuple(t.shape)}")
    k = logits.shape[axis]
    valid = t if ignore_index is None else t[t != ignore_index]
    if valid.size and (int(valid.min()) < 0 or int(valid.max()) >= k):
        also = "" if ignore_index is None else f" (or equal ignore_index={ignore_index})"
        raise IndexOutOfRange(f"{name}: target labels must lie in [0, {k}){also} for logits of "
                              f"shape {logits.shape}, got values in [{int(valid.min())}, "
                              f"{int(valid.max())}]")
    return t


def _softmax_nll(logits: Tensor, labels, axis: int) -> Tensor:
    """−log softmax(logits)[labels] along ``axis`` as one primitive (labels already checked
    by :func:`_labels`): log Σ exp(s) − s[labels] with s = logits − max, as ``log_softmax``
    computes it, without keeping the log-probabilities. Its VJP is the array code
    g·(softmax − onehot), one exponential pass; composed (``log_softmax``, a gather, a
    scatter for its VJP) a step of lesson 9's 448 × 1,000 output took 4.6 ms forward and
    backward. When a gradient is recorded (``create_graph=True``) the VJP differentiates the
    composed twin, −_pick(log_softmax(logits), labels), so any order works."""
    xp = logits.xp
    index = xp.expand_dims(labels, axis)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        m = max_shift(logits, (axis,))
        lse = xp.log(xp.exp(logits.data - m).sum(axis=axis, keepdims=True))
        nll = (lse - xp.take_along_axis(logits.data - m, index, axis)).squeeze(axis)

    def vjp(g: Tensor, out: Tensor) -> Tensor:
        if is_grad_enabled():  # a gradient that will be differentiated again
            twin = -_pick(log_softmax(logits, axis), labels, axis)
            return grad(twin, logits, grad_outputs=g, create_graph=True)
        with np.errstate(over="ignore", invalid="ignore"):
            d = xp.exp(logits.data - m - lse)
        xp.put_along_axis(d, index, xp.take_along_axis(d, index, axis) - 1, axis)
        return Tensor(d * xp.expand_dims(g.data, axis))

    return apply("softmax_nll", nll, [(logits, vjp)])


def _pick(x: Tensor, labels, axis: int) -> Tensor:
    """``x`` at ``labels`` along ``axis`` (the axis removed): x[..., labels, ...]."""
    picked = ops.take_along_axis(x, x.xp.expand_dims(labels, axis), axis)
    return ops.reshape(picked, tuple(labels.shape))


def _generator(name: str, generator: Generator | None, x: Tensor) -> Generator:
    gen = generator if generator is not None else default_generator(x.device)
    if not isinstance(gen, Generator):
        raise ArgumentError(f"{name}: generator must be a tinygen Generator or None, got "
                            f"{A.describe(generator)}")
    if gen.device != x.device:
        raise DeviceError(f"{name}: the generator is on {gen.device!r} but the input (shape "
                          f"{x.shape}) is on {x.device!r}; use a generator of that device")
    return gen


def _some_classes(name: str, x: Tensor, axis: int, what: str = "logits") -> None:
    """ShapeError if ``axis`` is empty: no distribution lives on zero classes."""
    if x.shape[axis] == 0:
        raise ShapeError(f"{name}: no classes on axis {axis} of {what} of shape {x.shape}; "
                         "a distribution needs at least one")


def _shifted(x: Tensor, axis: int) -> Tensor:
    """x − max(x) along ``axis`` with the max a constant (see ``max_shift``):
    softmax-type functions do not change, and scaling it by k > 0 cannot overflow."""
    return x - Tensor(max_shift(x, (axis,)))


def _positive(name: str, what: str, value: float) -> float:
    if not A.number(name, value, what) > 0:
        raise ArgumentError(f"{name}: {what} must be a positive number, got {value!r}")
    return float(value)


# -- softmax family ---------------------------------------------------------------------------

def softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """softmax(x)ᵢ = exp(log_softmax(x)ᵢ) along ``axis``: positive and summing to 1 within a
    few ulps at any magnitude, because log_softmax is computed in the shifted form."""
    x = A.floating("softmax", x)
    a = _axis("softmax", x, axis)
    return ops.exp(ops.log_softmax(x, a))


def log_softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """log softmax(x) = (x − m) − log Σ exp(x − m) along ``axis``, m the max: never the log of
    a rounded-to-0 softmax ([1e4, −1e4] gives [0, −2e4]) and never x − logsumexp(x), which
    loses every digit below the ulp of the max ([1e8, 1e8] in float32 would give [0, 0])."""
    x = A.floating("log_softmax", x)
    a = _axis("log_softmax", x, axis)
    return ops.log_softmax(x, a)


# -- losses -----------------------------------------------------------------------------------

def cross_entropy(logits: TensorLike, target: TensorLike, axis: int = -1,
                  label_smoothing: float = 0.0, ignore_index: int | None = None,
                  reduction: Reduction = "mean") -> Tensor:
    """Softmax cross-entropy −log softmax(logits)[target] for integer ``target`` of shape
    ``logits.shape`` without the class ``axis``.

    With label smoothing ε the target distribution is (1 − ε)·onehot + ε/K, so the loss is
    (1 − ε)·(−log p_target) + ε·mean_k(−log p_k) (as in PyTorch). Entries whose target equals
    ``ignore_index`` get loss 0 and the mean runs over the others.
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    if not 0.0 <= A.number(name, label_smoothing, "label_smoothing") <= 1.0:
        raise ArgumentError(f"{name}: label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    if ignore_index is not None:
        ignore_index = A.integer(name, ignore_index, "ignore_index")
    logits = A.floating(name, logits, "logits")
    if logits.ndim == 0:
        raise ShapeError(f"{name}: logits of shape () have no class axis; expected shape "
                         "(..., num_classes)")
    a = _axis(name, logits, axis)
    t = _labels(name, logits, target, a, ignore_index)
    valid = None if ignore_index is None else t != ignore_index
    picked = t if valid is None else logits.xp.where(valid, t, 0)
    if label_smoothing:
        logp = log_softmax(logits, a)
        nll = -_pick(logp, picked, a)
        loss = (1.0 - label_smoothing) * nll - label_smoothing * ops.mean(logp, axis=a)
    else:
        loss = _softmax_nll(logits, picked, a)
    if valid is None:
        return _reduce(loss, reduction)
    return _reduce(ops.where(valid, loss, 0.0), reduction, int(valid.sum()))


def binary_cross_entropy(probs: TensorLike, target: TensorLike, eps: float = 1e-7,
                         reduction: Reduction = "mean") -> Tensor:
    """−[t·log p + (1 − t)·log(1 − p)] with p clipped to [eps, 1 − eps] (so log never sees 0;
    the gradient is 0 where p was clipped). Prefer the ``_with_logits`` form in training."""
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    if not 0.0 <= A.number(name, eps, "eps") < 0.5:
        raise ArgumentError(f"{name}: eps must lie in [0, 0.5), got {eps!r}")
    p = A.floating(name, probs, "probs")
    t = A.floating(name, target, "target")
    _same_shape(name, p, t, ("probs", "target"))
    _in_unit_interval(name, p, "probs",
                      "; for logits use binary_cross_entropy_with_logits")
    _in_unit_interval(name, t, "target")
    pc = ops.clip(p, eps, 1.0 - eps)
    loss = -(t * ops.log(pc) + (1.0 - t) * ops.log1p(-pc))
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(logits: TensorLike, target: TensorLike,
                                     reduction: Reduction = "mean") -> Tensor:
    """Binary cross-entropy of σ(x) against t, computed stably as softplus(x) − x·t
    (= −[t·log σ(x) + (1 − t)·log(1 − σ(x))]); finite with a gradient σ(x) − t at any x."""
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    x = A.floating(name, logits, "logits")
    t = A.floating(name, target, "target")
    _same_shape(name, x, t, ("logits", "target"))
    _in_unit_interval(name, t, "target")
    return _reduce(ops.softplus(x) - x * t, reduction)


def mse(a: TensorLike, b: TensorLike, reduction: Reduction = "mean") -> Tensor:
    """Squared error (a − b)², reduced; ``a`` and ``b`` must have the same shape."""
    _check_reduction("mse", reduction)
    a, b = A.floating("mse", a), A.floating("mse", b)
    _same_shape("mse", a, b, ("a", "b"))
    d = a - b
    return _reduce(d * d, reduction)


def l1(a: TensorLike, b: TensorLike, reduction: Reduction = "mean") -> Tensor:
    """Absolute error |a − b|, reduced; ``a`` and ``b`` must have the same shape (the gradient
    at a = b is 0, sign's convention)."""
    _check_reduction("l1", reduction)
    a, b = A.floating("l1", a), A.floating("l1", b)
    _same_shape("l1", a, b, ("a", "b"))
    return _reduce(ops.abs(a - b), reduction)


# -- divergences ------------------------------------------------------------------------------

def gaussian_kl(mu: TensorLike, logvar: TensorLike, mu2: TensorLike | None = None,
                logvar2: TensorLike | None = None) -> Tensor:
    """KL(N(μ, e^logvar) ‖ N(0, I)) = ½ Σ (e^logvar + μ² − 1 − logvar) over the last axis (the
    VAE's KL term); with ``mu2``/``logvar2``, KL(N₁ ‖ N₂) = ½ Σ (logvar₂ − logvar₁
    + (e^logvar₁ + (μ₁ − μ₂)²)·e^−logvar₂ − 1). The result has shape ``mu.shape[:-1]``.
    """
    name = "gaussian_kl"
    mu, logvar = A.floating(name, mu, "mu"), A.floating(name, logvar, "logvar")
    _same_shape(name, mu, logvar, ("mu", "logvar"))
    if mu.ndim == 0:
        raise ShapeError(f"{name}: mu of shape () has no last (latent) axis to sum over; "
                         "expected shape (..., latent_dim)")
    if (mu2 is None) != (logvar2 is None):
        raise ArgumentError(f"{name}: pass both mu2 and logvar2 (for KL to N(mu2, e^logvar2)) or "
                         "neither (for KL to N(0, I))")
    if mu2 is None:
        return 0.5 * ops.sum(ops.exp(logvar) + mu * mu - 1.0 - logvar, axis=-1)
    mu2, logvar2 = A.floating(name, mu2, "mu2"), A.floating(name, logvar2, "logvar2")
    for other, what in ((mu2, "mu2"), (logvar2, "logvar2")):
        try:
            fits = np.broadcast_shapes(other.shape, mu.shape) == mu.shape
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(f"{name}: {what} of shape {other.shape} does not broadcast to mu's "
                             f"shape {mu.shape}")
    d = mu - mu2
    return 0.5 * ops.sum(logvar2 - logvar + (ops.exp(logvar) + d * d) * ops.exp(-logvar2) - 1.0,
                         axis=-1)


def categorical_kl(logits_p: TensorLike, logits_q: TensorLike, axis: int = -1) -> Tensor:
    """KL(p ‖ q) = Σ_k p_k (log p_k − log q_k) with p = softmax(logits_p), q = softmax(logits_q)
    along ``axis`` (log-probabilities from log_softmax, so it is stable)."""
    name = "categorical_kl"
    lp, lq = A.floating(name, logits_p, "logits_p"), A.floating(name, logits_q, "logits_q")
    _same_shape(name, lp, lq, ("logits_p", "logits_q"))
    a = _axis(name, lp, axis)
    _some_classes(name, lp, a, "logits_p")
    logp, logq = log_softmax(lp, a), log_softmax(lq, a)
    return ops.sum(ops.exp(logp) * (logp - logq), axis=a)


def kl_to_uniform(logits: TensorLike, axis: int = -1) -> Tensor:
    """KL(softmax(logits) ‖ uniform over K classes) = Σ_k p_k log p_k + log K (log K minus the
    entropy): 0 for flat logits, log K for a one-hot."""
    name = "kl_to_uniform"
    x = A.floating(name, logits, "logits")
    a = _axis(name, x, axis)
    _some_classes(name, x, a)
    logp = log_softmax(x, a)
    return ops.sum(ops.exp(logp) * logp, axis=a) + math.log(x.shape[a])


# -- sampling and regularisation --------------------------------------------------------------

def gumbel_softmax(logits: TensorLike, tau: float = 1.0, hard: bool = False, axis: int = -1,
                   generator: Generator | None = None) -> Tensor:
    """A relaxed one-hot sample softmax((logits + g)/τ), g = −log(−log U) Gumbel noise from
    ``generator`` (default: the default generator of the logits' device).

    With ``hard=True`` the value is the exact one-hot of the argmax and the gradient is the
    soft sample's (the straight-through estimator y_hard − sg(y_soft) + y_soft, computed as
    y_hard + (y_soft − sg(y_soft)) so that the value is exactly one-hot). Jang, Gu & Poole
    (2017); Maddison, Mnih & Teh (2017).
    """
    name = "gumbel_softmax"
    tau = _positive(name, "tau", tau)
    hard = A.flag(name, hard, "hard")
    x = A.floating(name, logits, "logits")
    a = _axis(name, x, axis)
    _some_classes(name, x, a)
    g = _generator(name, generator, x).gumbel(x.shape, dtype=x.dtype)
    y_soft = softmax(_shifted(x + g, a) / tau, a)  # shifted first: a small tau cannot overflow
    if not hard:
        return y_soft
    k = x.shape[a]
    classes = x.xp.arange(k).reshape([k if i == a else 1 for i in range(x.ndim)])
    winner = ops.argmax(y_soft, axis=a, keepdims=True).data
    y_hard = Tensor((classes == winner).astype(y_soft.dtype))
    return y_hard + (y_soft - ops.stop_gradient(y_soft))


def dropout(x: TensorLike, p: float = 0.5, training: bool = True,
            generator: Generator | None = None) -> Tensor:
    """Inverted dropout: x · m / (1 − p) with m ~ Bernoulli(1 − p) elementwise, so the mean is
    unchanged and evaluation (``training=False``) is the identity (Srivastava et al., 2014)."""
    name = "dropout"
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p < 1.0:
        raise ArgumentError(f"{name}: p is the probability of dropping an entry and must lie in "
                         f"[0, 1), got {p!r}")
    training = A.flag(name, training, "training")
    x = A.floating(name, x)
    if not training or p == 0:
        return x
    keep = _generator(name, generator, x).bernoulli(1.0 - p, x.shape, dtype=x.dtype)
    return x * (keep * (1.0 / (1.0 - p)))


def normalize(x: TensorLike, axis: int = -1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖₂, eps) along ``axis``, computed as x / √max(Σx², eps²) so that a zero vector
    gives zeros with a finite gradient."""
    name = "normalize"
    eps = _positive(name, "eps", eps)
    x = A.floating(name, x)
    a = _axis(name, x, axis)
    squares = ops.sum(x * x, axis=a, keepdims=True)
    return x / ops.sqrt(ops.maximum(squares, eps * eps))


# -- smooth relaxations ("function smoothing" post) -------------------------------------------

def smooth_max(x: TensorLike, k: float, axis: int = -1) -> Tensor:
    """max(x) ≈ (1/k)·logsumexp(k·x) along ``axis``; it lies in [max, max + log(n)/k], so it
    tends to the max as k grows (the "function smoothing" post). Computed as
    m + (1/k)·logsumexp(k·(x − m)), m the max, so k·x never overflows. An empty axis gives
    −inf (the log of an empty sum)."""
    k = _positive("smooth_max", "k", k)
    x = A.floating("smooth_max", x)
    a = _axis("smooth_max", x, axis)
    m = Tensor(max_shift(x, (a,)))
    return ops.squeeze(m, a) + ops.logsumexp((x - m) * k, axis=a) / k


def smooth_min(x: TensorLike, k: float, axis: int = -1) -> Tensor:
    """min(x) ≈ −(1/k)·logsumexp(−k·x) = −smooth_max(−x) along ``axis`` (+inf if empty)."""
    k = _positive("smooth_min", "k", k)
    x = A.floating("smooth_min", x)
    a = _axis("smooth_min", x, axis)
    return -smooth_max(-x, k, a)


def smooth_argmax(x: TensorLike, k: float, axis: int = -1) -> Tensor:
    """argmax(x) ≈ Σ_i i·softmax(k·x)_i along ``axis``: softmax as a smooth one-hot of the
    argmax, so the expected index tends to the argmax (for a unique max) as k grows."""
    k = _positive("smooth_argmax", "k", k)
    x = A.floating("smooth_argmax", x)
    a = _axis("smooth_argmax", x, axis)
    _some_classes("smooth_argmax", x, a, "input")
    n = x.shape[a]
    index = Tensor(x.xp.arange(n, dtype=x.dtype).reshape([n if i == a else 1
                                                           for i in range(x.ndim)]))
    return ops.sum(softmax(_shifted(x, a) * k, a) * index, axis=a)


def smooth_accuracy(logits: TensorLike, target: TensorLike, axis: int = -1) -> Tensor:
    """Soft accuracy: the mean over samples of softmax(logits)[target], the probability given
    to the true class. Accuracy counts argmax hits (a step function with zero gradient); this
    replaces the hard one-hot of the argmax by the softmax (the "function smoothing" post)."""
    name = "smooth_accuracy"
    x = A.floating(name, logits, "logits")
    if x.ndim == 0:
        raise ShapeError(f"{name}: logits of shape () have no class axis; expected shape "
                         "(..., num_classes)")
    a = _axis(name, x, axis)
    t = _labels(name, x, target, a)
    if t.size == 0:
        raise ShapeError(f"{name}: no samples (logits of shape {x.shape}); the mean needs at "
                         "least one")
    return ops.mean(_pick(softmax(x, a), t, a))


# -- soft targets -------------------------------------------------------------------------------

def soft_cross_entropy(logits: TensorLike, target: TensorLike, axis: int = -1,
                       reduction: Reduction = "mean") -> Tensor:
    """Cross-entropy against a target *distribution* q of the same shape as ``logits``
    (entries ≥ 0 summing to 1 along the class ``axis``, e.g. mixup's blended labels):
    −Σ_k q_k log softmax(logits)_k per sample. A one-hot q gives ``cross_entropy``; q is
    not checked to be a distribution (that would cost a device sync per batch)."""
    name = "soft_cross_entropy"
    _check_reduction(name, reduction)
    logits = A.floating(name, logits, "logits")
    q = A.floating(name, target, "target")
    if logits.ndim == 0:
        raise ShapeError(f"{name}: logits of shape () have no class axis; expected shape "
                         "(..., num_classes)")
    if q.shape != logits.shape:
        raise ShapeError(f"{name}: target of shape {q.shape} for logits of shape "
                         f"{logits.shape}; expected one distribution per row, the same shape")
    a = _axis(name, logits, axis)
    return _reduce(-ops.sum(q * log_softmax(logits, a), axis=a), reduction)
