"""Reductions and scans: sum, mean, var, max, min, prod, logsumexp, log_softmax, cumsum, and
the index-returning argmax, argmin, sort and topk (their index outputs carry no gradient)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autograd import Tensor, apply
from ..errors import ShapeError
from . import args as A
from .elementwise import _const, exp, where
from .shape import expand, permute, reshape


def _axes(op: str, ndim: int, axis) -> tuple[int, ...]:
    """``axis`` (None, an int or ints) as a sorted tuple of non-negative axes."""
    return A.axes(op, axis, ndim)


def _reduction(op: str, x, axis, keepdims, floating: bool = False) -> tuple:
    """The checked arguments of a reduction: (x, axes, keepdims)."""
    x = A.floating(op, x) if floating else A.tensor(op, x)
    return x, _axes(op, x.ndim, axis), A.flag(op, keepdims, "keepdims")


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _keep(g: Tensor, x: Tensor, axes: tuple, keepdims: bool) -> Tensor:
    """A reduced result ``g`` reshaped so it broadcasts against ``x`` (reduced axes as 1)."""
    return g if keepdims else reshape(g, _kept_shape(x.shape, axes))


def sum_to(g: Tensor, shape: tuple) -> Tensor:
    """Sum ``g`` down to ``shape``: the inverse of broadcasting ``shape`` up to ``g.shape``."""
    g = A.tensor("sum_to", g, "g")
    shape = A.shape("sum_to", shape)
    lead = g.ndim - len(shape)
    if lead < 0 or any(s != 1 and s != n for s, n in zip(shape, g.shape[lead:], strict=True)):
        raise ShapeError(f"sum_to: shape {g.shape} cannot be summed down to {shape}")
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and g.shape[lead + i] != 1)
    if axes:
        g = sum(g, axis=axes, keepdims=True)
    return reshape(g, shape) if g.shape != shape else g


def sum(x, axis=None, keepdims: bool = False) -> Tensor:
    """Σ over ``axis`` (all axes when None). VJP: the gradient broadcast back."""
    x, axes, keepdims = _reduction("sum", x, axis, keepdims)
    y = x.data.sum(axis=axes, keepdims=keepdims)
    return apply("sum", y, [(x, lambda g, out: expand(_keep(g, x, axes, keepdims), x.shape))])


def _count(x: Tensor, axes: tuple) -> int:
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis`` (a composite: sum / count)."""
    x, axes, keepdims = _reduction("mean", x, axis, keepdims, floating=True)
    if _count(x, axes) == 0:
        raise ShapeError(f"mean: reducing an empty axis of shape {x.shape}")
    return sum(x, axes, keepdims) / _count(x, axes)


def var(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance Σ(x − mean)²/(n − ddof) over ``axis`` (a composite)."""
    x, axes, keepdims = _reduction("var", x, axis, keepdims, floating=True)
    ddof = A.integer("var", ddof, "ddof")
    n = _count(x, axes)
    if n - ddof <= 0:
        raise ShapeError(f"var: {n} values over axes {axes} of shape {x.shape} with ddof={ddof}")
    d = x - mean(x, axes, keepdims=True)
    return sum(d * d, axes, keepdims) / (n - ddof)


def _extreme(name: str, pick: Callable) -> Callable:
    def op(x, axis=None, keepdims: bool = False) -> Tensor:
        x, axes, keepdims = _reduction(name, x, axis, keepdims)
        if _count(x, axes) == 0:
            raise ShapeError(f"{name}: reducing an empty axis of shape {x.shape}")
        y = pick(x.data, axis=axes, keepdims=True)
        hits = x.data == y
        share = _const(x, hits / hits.sum(axis=axes, keepdims=True))
        y = y if keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        return apply(name, y, [(x, lambda g, out: _keep(g, x, axes, keepdims) * share)])

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"{name.capitalize()} over ``axis``; the gradient goes to the {name}imal "
                  "entries, shared equally between ties.")
    return op


max = _extreme("max", lambda a, **kw: a.max(**kw))
min = _extreme("min", lambda a, **kw: a.min(**kw))


def max_shift(x: Tensor, axes: tuple):
    """The max of ``x`` over ``axes`` (kept as size-1 axes), as a constant array: 0 where the
    max is not finite or the axes are empty. Subtracting it changes no softmax-type result
    but keeps exp from overflowing and keeps the small differences that matter."""
    xp = x.xp
    if _count(x, axes) == 0:
        return xp.zeros(_kept_shape(x.shape, axes), dtype=x.dtype)
    m = x.data.max(axis=axes, keepdims=True)
    return xp.where(xp.isfinite(m), m, 0)


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """log Σ exp(x) over ``axis``, computed as m + log Σ exp(x − m) with m the max.

    VJP: g · softmax(x), the softmax taken as exp(log_softmax(x)) so that it stays exact at
    any magnitude (exp(x − logsumexp(x)) is 1 for every near-max entry once x ≫ 1/eps). A
    slice that is all −inf (e.g. a fully masked attention row) or empty gives −inf and a
    zero gradient, not NaN.
    """
    x, axes, keepdims = _reduction("logsumexp", x, axis, keepdims, floating=True)
    xp = x.xp
    m = max_shift(x, axes)
    with np.errstate(divide="ignore", over="ignore"):  # log 0 = −inf, x − m = −inf on purpose
        y = m + xp.log(xp.exp(x.data - m).sum(axis=axes, keepdims=True))
    y = y if keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    def vjp(g, out):
        dead = _keep(out, x, axes, keepdims).data == -np.inf
        if not bool(dead.any()):
            return _keep(g, x, axes, keepdims) * exp(log_softmax(x, axes))
        p = exp(log_softmax(where(dead, 0.0, x), axes))  # finite inputs: no NaN at any order
        return _keep(g, x, axes, keepdims) * where(dead, 0.0, p)

    return apply("logsumexp", y, [(x, vjp)])


def log_softmax(x, axis=-1) -> Tensor:
    """x − logsumexp(x) over ``axis``, computed in the shifted form (x − m) − log Σ exp(x − m),
    m the max: exact to a few ulps of the result at any magnitude (the plain form loses every
    digit below the ulp of logsumexp(x), so [1e8, 1e8] in float32 would give [0, 0]).

    VJP: g − softmax · Σg with softmax = exp(y), the output, so it differentiates again.
    """
    x = A.floating("log_softmax", x)
    axes = _axes("log_softmax", x.ndim, axis)
    xp = x.xp
    with np.errstate(divide="ignore", over="ignore"):
        s = x.data - max_shift(x, axes)
        y = s - xp.log(xp.exp(s).sum(axis=axes, keepdims=True))
    return apply("log_softmax", y,
                 [(x, lambda g, out: g - exp(out) * sum(g, axes, keepdims=True))])


def _others_product(x: Tensor, axes: tuple) -> Tensor:
    """For each entry, the product of the other entries over ``axes`` (safe at zeros)."""
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = permute(x, rest + list(axes))
    n = _count(x, axes)
    flat = reshape(moved, moved.shape[:len(rest)] + (n,))
    eye = x.xp.eye(n, dtype=bool)
    others = prod(where(eye, 1.0, reshape(flat, flat.shape[:-1] + (1, n))), axis=-1)
    others = reshape(others, moved.shape)
    inverse = [0] * x.ndim
    for i, a in enumerate(rest + list(axes)):
        inverse[a] = i
    return permute(others, inverse)


def prod(x, axis=None, keepdims: bool = False) -> Tensor:
    """Π over ``axis``. VJP: g · Π(others), computed as y/x or, at zeros, explicitly."""
    x, axes, keepdims = _reduction("prod", x, axis, keepdims, floating=True)
    y = x.data.prod(axis=axes, keepdims=keepdims)

    def vjp(g, out):
        gk = _keep(g, x, axes, keepdims)
        if bool((x.data != 0).all()):
            return gk * _keep(out, x, axes, keepdims) / x
        return gk * _others_product(x, axes)

    return apply("prod", y, [(x, vjp)])


def cumsum(x, axis: int = -1, reverse: bool = False) -> Tensor:
    """Running sum along ``axis`` (from the end when ``reverse``); VJP: the opposite cumsum."""
    x = A.tensor("cumsum", x)
    if x.ndim == 0:
        raise ShapeError("cumsum: needs at least one dimension, got a 0-d tensor")
    a = A.axis("cumsum", axis, x.ndim, shape=x.shape)
    reverse = A.flag("cumsum", reverse, "reverse")
    xp = x.xp
    y = xp.flip(xp.cumsum(xp.flip(x.data, a), axis=a), a) if reverse else xp.cumsum(x.data, a)
    return apply("cumsum", y.astype(x.dtype, copy=False),
                 [(x, lambda g, out: cumsum(g, a, reverse=not reverse))])


def _index_result(name: str, x, axis, keepdims, pick) -> Tensor:
    x = A.tensor(name, x)
    keepdims = A.flag(name, keepdims, "keepdims")
    a = None if axis is None else A.axis(name, axis, x.ndim, shape=x.shape)
    if x.size == 0 and (a is None or x.shape[a] == 0):
        where_ = "the tensor" if axis is None else f"axis {axis}"
        raise ShapeError(f"{name}: {where_} of shape {x.shape} is empty, so it has no "
                         f"{name[3:]}imal entry")
    if axis is None:
        idx = pick(x.data.reshape(-1), axis=0)
        return Tensor(idx.reshape((1,) * x.ndim) if keepdims else idx)
    idx = pick(x.data, axis=a)
    return Tensor(x.xp.expand_dims(idx, a) if keepdims else idx)


def argmax(x, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest entry (flat index when ``axis`` is None); no gradient."""
    return _index_result("argmax", x, axis, keepdims, lambda a, axis: a.argmax(axis=axis))


def argmin(x, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest entry (flat index when ``axis`` is None); no gradient."""
    return _index_result("argmin", x, axis, keepdims, lambda a, axis: a.argmin(axis=axis))


def sort(x, axis: int = -1, descending: bool = False) -> tuple[Tensor, Tensor]:
    """(values, indices) sorted along ``axis`` (stable: ties keep their order, also when
    ``descending``); values are differentiable."""
    from .index import take_along_axis
    x = A.tensor("sort", x)
    a = A.axis("sort", axis, x.ndim, shape=x.shape)
    descending = A.flag("sort", descending, "descending")
    xp = x.xp
    if not descending:
        idx = xp.argsort(x.data, axis=a, kind="stable")
    elif x.dtype.kind in "fc":
        idx = xp.argsort(-x.data, axis=a, kind="stable")
    else:  # −x wraps for unsigned ints and the int minimum (and fails for bool): flip twice
        n = x.shape[a]
        idx = xp.flip(n - 1 - xp.argsort(xp.flip(x.data, a), axis=a, kind="stable"), a)
    return take_along_axis(x, idx, a), Tensor(idx)


def topk(x, k: int, axis: int = -1, largest: bool = True) -> tuple[Tensor, Tensor]:
    """(values, indices) of the ``k`` largest (or smallest) entries along ``axis``."""
    x = A.tensor("topk", x)
    a = A.axis("topk", axis, x.ndim, shape=x.shape)
    k = A.integer("topk", k, "k")
    largest = A.flag("topk", largest, "largest")
    if not 0 <= k <= x.shape[a]:
        raise ShapeError(f"topk: k={k} is outside [0, {x.shape[a]}] for axis {a} of {x.shape}")
    values, idx = sort(x, a, descending=largest)
    keep = tuple(slice(None) if i != a else slice(0, k) for i in range(x.ndim))
    return values[keep], Tensor(idx.data[keep])

