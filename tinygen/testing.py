"""Checking math by properties: numerical gradient checks and hypothesis strategies.

:func:`check_grads` compares reverse-mode gradients with finite differences along random
directions, in float64:  ⟨u, J d⟩ from autograd (⟨VJP(u), d⟩) must match
⟨u, (f(x + εd) − f(x − εd)) / 2ε⟩, and, where the function is analytic, the complex step
⟨u, Im f(x + i h d) / h⟩, which has no cancellation error. For ``order=2`` the same check runs
on the gradient map x ↦ VJP_u(x) built with ``create_graph=True``, so second derivatives are
checked against first derivatives that were themselves checked numerically.

The strategies (``shapes``, ``broadcastable_shapes``, ``arrays``) need hypothesis, the
``test`` extra; importing this module without it still gives :func:`check_grads`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import backend
from .autograd import Tensor, enable_grad, grad, no_grad
from .errors import TinygenError


class GradientCheckError(TinygenError, AssertionError):
    """Autograd and numerical derivatives disagree."""


def _outputs(result) -> list[Tensor]:
    return [result] if isinstance(result, Tensor) else list(result)


def _vjp(fn: Callable, xs: list[Tensor], us: list, create_graph: bool) -> list[Tensor]:
    """VJP of ``fn`` at ``xs`` with cotangents ``us``; unused inputs give zeros."""
    xs = [x if x.requires_grad else Tensor(x.data, requires_grad=True) for x in xs]
    with enable_grad():
        outs = _outputs(fn(*xs))
        gs = grad(outs, xs, grad_outputs=[Tensor(u) for u in us], create_graph=create_graph,
                  allow_unused=True)
    return [Tensor(x.xp.zeros_like(x.data)) if g is None else g for g, x in zip(gs, xs)]


def _evaluate(fn: Callable, arrays: list) -> list:
    with no_grad():
        return [o.data for o in _outputs(fn(*[Tensor(a) for a in arrays]))]


def _probe(fn, arrays, us, ds, eps) -> tuple[list, list, bool]:
    """Evaluate φ(t) = ⟨u, f(x + t·d)⟩ on a stencil around 0 wide enough to see kinks.

    Returns f at x ± eps·d and whether φ looks smooth: a cubic fitted to φ at
    t ∈ ±{1, 4, 16, 64}·eps and 0 leaves a residual at the level of rounding error only when
    no kink, tie or jump lies within 64 finite-difference steps of x. (A kink there with slope
    jump Δs leaves a residual of about Δs·eps; a kink exactly at x, such as a tie in a max,
    too: |t| is far from cubic.)
    """
    steps = np.array([-64.0, -16.0, -4.0, -1.0, 0.0, 1.0, 4.0, 16.0, 64.0])
    outs = [_evaluate(fn, [a + t * eps * d for a, d in zip(arrays, ds)]) for t in steps]
    phi = np.array([float(sum((u * v).sum() for u, v in zip(us, o))) for o in outs])
    if not np.all(np.isfinite(phi)):
        return outs[5], outs[3], False
    t = steps / 64.0
    fit = np.polynomial.polynomial.polyfit(t, phi, 3)
    residual = np.max(np.abs(np.polynomial.polynomial.polyval(t, fit) - phi))
    smooth = bool(residual <= 1e-9 * (1.0 + np.max(np.abs(phi))))
    return outs[5], outs[3], smooth


def _check_first_order(fn, arrays, rng, eps, atol, rtol, complex_step, name) -> list:
    """Check first derivatives at ``arrays`` or, if the function has a kink within the
    finite-difference stencil there, at a nearby point where it has none (see
    :func:`check_grads`). Returns the point that was checked."""
    xp = backend.xp_of(*arrays)
    for attempt in range(_TRIES):
        xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
        outs = _outputs(fn(*xs))
        us = [xp.asarray(rng.standard_normal(o.shape)) for o in outs]
        ds = [xp.asarray(rng.standard_normal(a.shape)) for a in arrays]
        plus, minus, smooth = _probe(fn, arrays, us, ds, eps)
        if smooth:
            break
        if attempt == _TRIES - 1:
            raise GradientCheckError(
                f"{name}: not smooth near any of {_TRIES} points tried (a kink, tie or jump "
                f"within {64 * eps:g} of each along a random direction; shapes "
                f"{[a.shape for a in arrays]}): keep the inputs away from its kinks")
        arrays = [a + _NUDGE * xp.maximum(1.0, xp.abs(a)) * xp.asarray(
            rng.standard_normal(a.shape)) for a in arrays]
    gs = _vjp(fn, xs, us, create_graph=False)
    for g, x in zip(gs, xs, strict=True):
        if g.shape != x.shape or g.dtype != x.dtype:
            raise GradientCheckError(f"{name}: gradient has shape {g.shape} and dtype {g.dtype} "
                                     f"for an input of shape {x.shape} and dtype {x.dtype}")
    analytic = float(sum((g.data * d).sum() for g, d in zip(gs, ds)))

    def directional(values) -> float:
        return float(sum((u * v).sum() for u, v in zip(us, values)))

    numeric = directional([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
    checks = [("central differences", numeric)]
    if complex_step:
        h = 1e-30
        stepped = _evaluate(fn, [a + 1j * h * d for a, d in zip(arrays, ds)])
        checks.append(("complex step", directional([s.imag / h for s in stepped])))
    where = "" if attempt == 0 else f" (at a point moved off a kink, try {attempt + 1})"
    for method, value in checks:
        if not abs(analytic - value) <= atol + rtol * max(abs(analytic), abs(value)):
            raise GradientCheckError(f"{name}: autograd gives {analytic!r}, {method} give "
                                     f"{value!r} (directional derivative along a random "
                                     f"direction; shapes {[a.shape for a in arrays]}){where}")
    return arrays


_TRIES = 4      # points tried before a function is declared not smooth enough to check
_NUDGE = 1e-3   # relative size of the move off a kink: far beyond the 64-step stencil


def check_grads(fn: Callable, inputs: Sequence, order: int = 1, eps: float = 1e-6,
                atol: float = 1e-6, rtol: float = 1e-5, complex_step: bool = False,
                seed: int = 0, name: str | None = None) -> None:
    """Raise :class:`GradientCheckError` unless ``fn``'s gradients match numerical ones.

    ``fn`` maps Tensors to a Tensor (or a tuple of Tensors); ``inputs`` are arrays or
    Tensors, converted to float64 on their device. ``order`` 1 checks first derivatives;
    ``order`` 2 checks first derivatives and then the derivatives of the gradient map.
    ``complex_step=True`` adds the complex-step check (only for analytic functions).

    Kinks are handled once, here, for every test: before comparing, the function is probed
    along the random direction at 64 finite-difference steps either side. If a kink, a tie
    (``max`` of equal values, a sort) or a jump lies there, central differences would
    average two slopes, so the check moves to a nearby random point (relative distance
    1e-3) and probes again; after four non-smooth points it raises, naming the cause.
    A wrong gradient is still caught: the comparison runs at a point where the numbers
    are trustworthy.
    """
    if order not in (1, 2):
        raise ValueError(f"check_grads: order must be 1 or 2, got {order}")
    name = name or getattr(fn, "__name__", "fn")
    arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
    xp = backend.xp_of(*arrays)
    arrays = [xp.asarray(a, dtype=np.float64) for a in arrays]
    rng = np.random.default_rng(seed)
    arrays = _check_first_order(fn, arrays, rng, eps, atol, rtol, complex_step, name)
    if order == 2:
        outs = _evaluate(fn, arrays)
        us = [xp.asarray(rng.standard_normal(o.shape)) for o in outs]

        def gradient_map(*xs):
            return tuple(_vjp(fn, list(xs), us, create_graph=True))

        _check_first_order(gradient_map, arrays, rng, eps, 10 * atol, 10 * rtol, False,
                           f"{name} (second order)")


try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:  # pragma: no cover - hypothesis is part of the test extra
    st = hnp = None


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4):
    """Array shapes (hypothesis strategy)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3,
                         max_side: int = 4):
    """Tuples of mutually broadcastable shapes (hypothesis strategy)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, max_side=max_side
                                             ).map(lambda r: r.input_shapes)


@st.composite if st else (lambda f: f)
def arrays(draw, shape, low: float = -3.0, high: float = 3.0, kinks: Sequence[float] = (),
           margin: float = 0.05, dtype=np.float64):
    """float arrays of ``shape`` with values in [low, high], at least ``margin`` away from each
    point in ``kinks`` (where the function is not differentiable); sometimes non-contiguous
    (a strided view of a larger array) to catch ops that assume contiguous memory."""
    shape = tuple(shape)
    strided = draw(st.booleans()) and len(shape) > 0
    full = shape[:-1] + (2 * shape[-1],) if strided else shape
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    a = draw(hnp.arrays(np.dtype(dtype).newbyteorder("="), full, elements=elements))
    if strided:
        a = a[..., ::2]
    for k in kinks:  # push values off the kinks, in place so a strided view stays strided
        near = np.abs(a - k) < margin
        a[near] = k + np.where(a[near] >= k, margin, -margin)
    return a
