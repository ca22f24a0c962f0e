"""The series terms t_k = vᵀJ^k v of an i-ResNet block through a hand-derived kernel: one call
for all samples, probes and k ≤ n, one more for the gradient, and one graph node.

:func:`tinygen.models.flows.logdet.series_terms` with ``block.jvp(x)`` is the composed twin:
n JVP chains recorded op by op, differentiated by ``tinygen.grad``. :func:`fused_series_terms`
returns the same (B, m, n) tensor from :mod:`tinygen.kernels.cpu.logdet` (NumPy arrays) or
:mod:`tinygen.kernels.cuda.logdet` (CuPy arrays), whose docstring derives both passes; its
backward calls the gradient kernel with the upstream gradient, so any estimate built on the
terms (truncated series, Russian roulette, their mean over a batch in a loss) trains as on
the generic path, with the same gradients to rounding.

Limits: first order only (a second-order request raises TinygenError; use the twin); the
block is a :class:`~tinygen.models.flows.iresnet.ResidualMLP` and x is (B, d).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ... import backend
from ...autograd import Tensor, apply, as_tensor, is_grad_enabled
from ...errors import ShapeError, TinygenError
from .iresnet import ResidualMLP

__all__ = ["fused_series_terms"]

_GENERIC = ("use tinygen.models.flows.logdet.series_terms(block.jvp(x), v, n), which "
            "differentiates to any order")


def fused_series_terms(block: ResidualMLP, x, v, n: int, mode: str = "auto",
                       weights: Sequence[Tensor] | None = None) -> Tensor:
    """t_k = vᵀJ_g(x)^k v, k = 1 … n, for every sample of x (B, d) and probe of v (B, m, d):
    a (B, m, n) tensor from the log-det kernel, differentiable once in x, the block's weights
    (through their spectral normalisation) and its hidden biases. ``weights``: the normalised
    weights if already computed (``block.weights()``); ``mode``: "auto", "chain" or
    "jacobian" (the kernel's strategy; the result is the same)."""
    if not isinstance(block, ResidualMLP):
        raise TinygenError(f"fused_series_terms: expected a ResidualMLP block, got "
                           f"{type(block).__name__}; {_GENERIC}")
    x, v = as_tensor(x), as_tensor(v)
    d = block.dims[0]
    if x.ndim != 2 or x.shape[1] != d:
        raise ShapeError(f"fused_series_terms: x must be (B, {d}), got {x.shape}")
    if v.ndim != 3 or v.shape[0] != x.shape[0] or v.shape[2] != d:
        raise ShapeError(f"fused_series_terms: probes must be (B, m, d) = ({x.shape[0]}, m, "
                         f"{d}), got {v.shape}")
    ws = block.weights() if weights is None else list(weights)
    biases = [lin.bias for lin in block.linears]
    tensors = [x, *ws, *(b for b in biases if b is not None)]
    xp = backend.xp_of(v.data, *(t.data for t in tensors), op="fused_series_terms")
    dtype = np.result_type(*(t.dtype for t in tensors))
    kernel = backend.kernels(xp, "logdet")
    arrays = (x.data.astype(dtype, copy=False), [w.data.astype(dtype, copy=False) for w in ws],
              [None if b is None else b.data.astype(dtype, copy=False) for b in biases],
              block.activations, v.data.astype(dtype, copy=False))
    hidden = len(ws) > 1  # with no hidden layer J is constant: x and the biases are unused
    inputs = [(x, 0)] if hidden else []
    inputs += [(w, 1 + l) for l, w in enumerate(ws)]
    inputs += [(b, 1 + len(ws) + l) for l, b in enumerate(biases[:-1]) if b is not None]
    if not (is_grad_enabled() and any(t.requires_grad for t, _ in inputs)):
        return apply("fused_series_terms", kernel.series_terms(*arrays, n, mode=mode), [])
    # keep the forward pass for the backward where the kernel can (small d)
    terms, saved = kernel.series_terms(*arrays, n, mode=mode, keep=True)
    cache: dict = {"saved": saved}

    def gradients(g: Tensor) -> list:
        if cache.get("g") is not g:
            if is_grad_enabled():
                raise TinygenError(
                    "fused_series_terms: its gradient comes from a hand-derived kernel and "
                    "cannot be differentiated again (this backward has create_graph=True, a "
                    f"second-order request); {_GENERIC}")
            dx, dws, dbs = kernel.series_terms_grad(*arrays, n, g.data.astype(dtype),
                                                    mode=mode, saved=cache["saved"])
            if cache.get("g") is None:  # the first backward hands the kept pass back
                kernel.release(cache["saved"])
                cache["saved"] = None
            cache.update(g=g, grads=[dx, *dws, *dbs])
        return cache["grads"]

    def vjp(index: int) -> Callable:
        return lambda g, out: Tensor(gradients(g)[index])

    return apply("fused_series_terms", terms, [(t, vjp(i)) for t, i in inputs])
