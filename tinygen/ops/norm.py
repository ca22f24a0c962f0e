"""Normalisation as one primitive: x̂ = (x − μ)/√(σ² + eps) over some axes, then γ·x̂ + β.

Composed from ops (mean, var, sub, div, sqrt, mul, add: the twin below), a batch norm of a
(64, 24, 14, 14) activation took 10.5 ms forward and backward, most of it in the graph's
broadcasting VJPs and their reductions; as one primitive with array-code VJPs it takes
about 2 ms. With r = 1/√(σ² + eps), n the number of values normalised together and g the
upstream gradient, the VJPs are (means over the normalised axes)::

    β̄ = Σ g (down to β's shape)      γ̄ = Σ g·x̂ (down to γ's shape)
    x̄ = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),   ĝ = γ·g

NumPy arrays in batch norm's layout (normalised over every axis but axis 1, γ and β per
channel) go to the Numba kernels of ``kernels/cpu/norm.py`` (0.4 ms for the same activation,
no x̂ kept); everything else, CuPy arrays included, to the array code.

Higher orders: when a gradient is itself being recorded (``create_graph=True``), the VJPs
instead differentiate the composed twin, so the result is differentiable again to any
order.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, apply, grad, is_grad_enabled
from ..errors import ArgumentError, DTypeError, ShapeError
from . import args as A
from .elementwise import sqrt
from .reduce import _axes, _count, mean, var


def standardize(x, axes, eps: float = 1e-5, weight=None, bias=None, stats: bool = False):
    """γ·(x − μ)/√(σ² + eps) + β with μ and the biased σ² taken over ``axes`` (an int or a
    tuple), ``weight`` γ and ``bias`` β tensors that broadcast against x (or None). With
    ``stats``, returns (y, μ, σ²) with the batch statistics as arrays of the kept shape
    (detached; for a batch norm's running estimates)."""
    x = A.floating("standardize", x)
    if x.dtype.kind == "c":
        raise DTypeError(f"standardize: x is complex ({x.dtype}); expected a real tensor")
    axes = _axes("standardize", x.ndim, axes)
    if not axes:
        raise ShapeError(f"standardize: no axes to normalise over for x of shape {x.shape}")
    n = _count(x, axes)
    if n == 0:
        raise ShapeError(f"standardize: reducing an empty axis of shape {x.shape}")
    eps = A.number("standardize", eps, "eps")
    if not eps >= 0:
        raise ArgumentError(f"standardize: eps must be ≥ 0, got {eps}")
    affine = {}
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None:
            t = A.tensor("standardize", t, name, like=x)
            if not _broadcasts_to(t.shape, x.shape):
                raise ShapeError(f"standardize: {name} of shape {t.shape} does not broadcast "
                                 f"to x's shape {x.shape}")
            affine[name] = t
    weight, bias = affine.get("weight"), affine.get("bias")
    if _channel_layout(x, axes, weight, bias):
        y, mu, sigma2, arrays = _batch_norm_kernel(x, eps, weight, bias)
    else:
        y, mu, sigma2, arrays = _array_code(x, axes, eps, weight, bias)

    def vjp(name: str):
        def backward(g: Tensor, out: Tensor) -> Tensor:
            if is_grad_enabled():  # a gradient that will be differentiated again
                twin = standardize_twin(x, axes, eps, weight, bias)
                return grad(twin, parents[name], grad_outputs=g, create_graph=True)
            return Tensor(arrays(g.data)[name])
        return backward

    parents = {name: t for name, t in (("x", x), ("weight", weight), ("bias", bias))
               if t is not None}
    out = apply("standardize", y, [(t, vjp(name)) for name, t in parents.items()])
    return (out, mu, sigma2) if stats else out


def _array_code(x: Tensor, axes: tuple, eps: float, weight, bias) -> tuple:
    """(y, μ, σ², vjps) by NumPy/CuPy array code; vjps(g) gives the three VJPs as arrays,
    computed together once per upstream gradient."""
    data = x.data
    mu = data.mean(axis=axes, keepdims=True)
    centred = data - mu
    sigma2 = (centred * centred).mean(axis=axes, keepdims=True)
    r = 1.0 / x.xp.sqrt(sigma2 + eps)
    xhat = centred * r
    y = xhat if weight is None else xhat * weight.data
    if bias is not None:
        y = y + bias.data
    if y is xhat:
        y = xhat.copy()
    cache: dict = {}

    def vjps(gd) -> dict:
        if cache.get("of") is not gd:
            gh = gd if weight is None else gd * weight.data
            a = gh.mean(axis=axes, keepdims=True)
            b = (gh * xhat).mean(axis=axes, keepdims=True)
            cache.update(of=gd, x=r * (gh - a - xhat * b))
            if weight is not None:
                cache["weight"] = _sum_to(gd * xhat, weight.shape)
            if bias is not None:
                cache["bias"] = _sum_to(gd, bias.shape)
        return cache

    return y, mu, sigma2, vjps


def _channel_layout(x: Tensor, axes: tuple, weight, bias) -> bool:
    """Batch norm's case on the CPU, which the Numba kernels take: NumPy float32/float64,
    normalised over every axis but axis 1, γ and β (if any) one per channel, of x's dtype."""
    if x.xp is not np or x.ndim < 2 or x.dtype not in (np.float32, np.float64):
        return False
    kept = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return axes == (0,) + tuple(range(2, x.ndim)) and all(
        t is None or (t.dtype == x.dtype and _broadcasts_to(t.shape, kept))
        for t in (weight, bias))


def _batch_norm_kernel(x: Tensor, eps: float, weight, bias) -> tuple:
    """:func:`_array_code` for the channel layout, by ``kernels/cpu/norm.py``."""
    from ..kernels.cpu import norm as K

    n, c = x.shape[0], x.shape[1]
    x3 = np.ascontiguousarray(x.data).reshape(n, c, -1)
    kept = (1, c) + (1,) * (x.ndim - 2)

    def per_channel(t, fill):
        return (np.full(c, fill, x.dtype) if t is None
                else np.ascontiguousarray(np.broadcast_to(t.data, kept)).reshape(c))

    gamma, beta = per_channel(weight, 1), per_channel(bias, 0)
    y3, mu, sigma2 = np.empty_like(x3), np.empty(c), np.empty(c)
    K.batch_norm_forward(x3, gamma, beta, eps, y3, mu, sigma2)
    cache: dict = {}

    def vjps(gd) -> dict:
        if cache.get("of") is not gd:
            dx, dgamma, dbeta = np.empty_like(x3), np.empty(c, x.dtype), np.empty(c, x.dtype)
            K.batch_norm_backward(x3, np.ascontiguousarray(gd, dtype=x.dtype).reshape(x3.shape),
                                  gamma, mu, sigma2, eps, dx, dgamma, dbeta)
            cache.update(of=gd, x=dx.reshape(x.shape))
            if weight is not None:
                cache["weight"] = _sum_to(dgamma.reshape(kept), weight.shape)
            if bias is not None:
                cache["bias"] = _sum_to(dbeta.reshape(kept), bias.shape)
        return cache

    return (y3.reshape(x.shape), mu.astype(x.dtype).reshape(kept),
            sigma2.astype(x.dtype).reshape(kept), vjps)


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _sum_to(a, shape: tuple):
    """Sum the array a down to ``shape`` (the reverse of broadcasting)."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and a.shape[lead + i] != 1)
    return a.sum(axis=axes, keepdims=True).reshape(shape) if axes else a


def standardize_twin(x: Tensor, axes: tuple, eps: float, weight=None, bias=None) -> Tensor:
    """:func:`standardize` composed from differentiable ops: its reference, and what its
    VJPs differentiate when a gradient is recorded."""
    y = (x - mean(x, axis=axes, keepdims=True)) / sqrt(var(x, axis=axes, keepdims=True) + eps)
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


__all__ = ["standardize", "standardize_twin"]
