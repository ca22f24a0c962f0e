"""A whole LSTM sequence as one primitive: the recurrence of T steps and its backward pass
through time, in array code.

Composed from ops, each step of an LSTM layer records about twenty nodes (two products,
adds, a split into four gates, three sigmoids, two tanh, products, and a ``where`` per state
under a mask), each small: for a batch of 64, 64 units and 150 steps, the graph's overhead
dwarfs the arithmetic. Here the input projection x·W + b is one product over all steps
(done by the caller, :func:`tinygen.linear`), and this primitive takes it, z_t = (x W + b)_t,
and runs, gates in the order i, f, g, o::

    a = z_t + h_{t−1} U
    i, f, o = σ(a_i), σ(a_f), σ(a_o)      g = tanh(a_g)
    c̃ = f·c_{t−1} + i·g                    h̃ = o·tanh(c̃)
    (h_t, c_t) = (h̃, c̃) at a real step, (h_{t−1}, c_{t−1}) at a padded one (mask 0)

It returns the states, S (B, T, 2H) with S_t = [h_t, c_t] (for ``reverse``, t runs from T − 1
down to 0; S is still indexed by position). Its VJP runs the recurrence backwards with the
stored gates, one (B, 4H) × (4H, H) product a step, and gives the gradients of z, U, h₀ and
c₀. When a gradient is itself recorded (``create_graph=True``), the VJPs differentiate the
composed twin :func:`lstm_sequence_twin` instead, so higher orders work.
"""

from __future__ import annotations

from ..autograd import Tensor, apply, grad, is_grad_enabled
from ..errors import ShapeError
from . import args as A
from .elementwise import sigmoid, tanh, where
from .linalg import matmul
from .shape import concat, split, stack


def _sigmoid(xp, a):
    return 0.5 * (xp.tanh(0.5 * a) + 1.0)  # σ(a), without overflow for large |a|


def _step_backward(gates, tanh_c, c_prev, dh, dc, dz):
    """One step's adjoint: from the gradients dh, dc of (h', c') (c' also reached through
    h' = o·tanh c'), writes that of the pre-activations into dz (B, 4H) and returns that of
    c_{t−1}. ``gates`` holds i, f, g, o after their activations."""
    hidden = c_prev.shape[1]
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    dz[:, :hidden] = dc * g * i * (1 - i)
    dz[:, hidden:2 * hidden] = dc * c_prev * f * (1 - f)
    dz[:, 2 * hidden:3 * hidden] = dc * i * (1 - g * g)
    dz[:, 3 * hidden:] = dh * tanh_c * o * (1 - o)
    return dc * f


def _activate(xp, a, gates) -> None:
    """gates = i, f, g, o after their activations (σ, σ, tanh, σ) of the pre-activations a."""
    h = a.shape[1] // 4
    gates[:, :2 * h] = _sigmoid(xp, a[:, :2 * h])
    gates[:, 2 * h:3 * h] = xp.tanh(a[:, 2 * h:3 * h])
    gates[:, 3 * h:] = _sigmoid(xp, a[:, 3 * h:])


def lstm_cell(z, c) -> Tensor:
    """One LSTM step as one primitive: [h', c'] (B, 2H) from the pre-activations z (B, 4H) =
    x W + h U + b (gates i, f, g, o) and the cell state c (B, H), c' = σ(f)·c + σ(i)·tanh(g),
    h' = σ(o)·tanh(c'); its VJP is array code (as one step of :func:`lstm_sequence`'s), and
    with ``create_graph`` it differentiates :func:`lstm_cell_twin`."""
    z, c = A.floating("lstm_cell", z, "z"), A.floating("lstm_cell", c, "c")
    if z.ndim != 2 or c.ndim != 2 or z.shape != (c.shape[0], 4 * c.shape[1]):
        raise ShapeError(f"lstm_cell: expected z (B, 4H) and c (B, H), got z {z.shape} and "
                         f"c {c.shape}")
    xp, hidden = z.xp, c.shape[1]
    dtype = xp.result_type(z.data, c.data)
    gates = xp.empty(z.shape, dtype=dtype)
    _activate(xp, z.data, gates)
    i, f, g = (gates[:, k * hidden:(k + 1) * hidden] for k in range(3))
    c_new = f * c.data + i * g
    tanh_c = xp.tanh(c_new)
    out = xp.concatenate([gates[:, 3 * hidden:] * tanh_c, c_new], axis=1)
    cache: dict = {}

    def arrays(g) -> dict:
        if cache.get("of") is not g:
            dz = xp.empty_like(gates)
            dc = _step_backward(gates, tanh_c, c.data, g[:, :hidden], g[:, hidden:], dz)
            cache.update(of=g, z=dz, c=dc)
        return cache

    parents = {"z": z, "c": c}

    def vjp(name: str):
        def backward(g: Tensor, out_: Tensor) -> Tensor:
            if is_grad_enabled():
                return grad(lstm_cell_twin(z, c), parents[name], grad_outputs=g,
                            create_graph=True)
            return Tensor(arrays(g.data)[name])
        return backward

    return apply("lstm_cell", out, [(t, vjp(name)) for name, t in parents.items()])


def lstm_cell_twin(z: Tensor, c: Tensor) -> Tensor:
    """:func:`lstm_cell` composed from differentiable ops."""
    i, f, g, o = split(z, 4, axis=-1)
    c_new = sigmoid(f) * c + sigmoid(i) * tanh(g)
    return concat([sigmoid(o) * tanh(c_new), c_new], axis=-1)


def lstm_sequence(z, weight_hh, h0, c0, mask=None, reverse: bool = False) -> Tensor:
    """The states S (B, T, 2H) of an LSTM run over the pre-activations z (B, T, 4H) = x W + b,
    with recurrent weights ``weight_hh`` (H, 4H), initial states h0, c0 (B, H) and an
    optional boolean ``mask`` (B, T) (False: padding, the state is carried over)."""
    z, u, h0, c0 = (A.floating("lstm_sequence", t, name) for t, name in
                    ((z, "z"), (weight_hh, "weight_hh"), (h0, "h0"), (c0, "c0")))
    if z.ndim != 3 or u.ndim != 2 or u.shape[1] != 4 * u.shape[0] or z.shape[2] != u.shape[1]:
        raise ShapeError(f"lstm_sequence: expected z (B, T, 4H) and weight_hh (H, 4H), got z "
                         f"{z.shape} and weight_hh {u.shape}")
    b, steps, hidden = z.shape[0], z.shape[1], u.shape[0]
    for name, t in (("h0", h0), ("c0", c0)):
        if t.shape != (b, hidden):
            raise ShapeError(f"lstm_sequence: {name} must have shape {(b, hidden)}, got "
                             f"{t.shape}")
    xp = z.xp
    keep = None
    if mask is not None:
        keep = mask.data if isinstance(mask, Tensor) else mask
        if tuple(keep.shape) != (b, steps) or keep.dtype != bool:
            raise ShapeError(f"lstm_sequence: mask must be a boolean array of shape "
                             f"{(b, steps)}, got {getattr(keep, 'dtype', None)} {keep.shape}")
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    dtype = z.dtype
    states = xp.empty((b, steps, 2 * hidden), dtype=dtype)
    gates = xp.empty((steps, b, 4 * hidden), dtype=dtype)  # i, f, g, o after activation
    tanh_c = xp.empty((steps, b, hidden), dtype=dtype)
    previous = xp.empty((steps, b, 2 * hidden), dtype=dtype)  # [h_{t−1}, c_{t−1}]
    h, c = h0.data.astype(dtype), c0.data.astype(dtype)
    ud = u.data.astype(dtype)
    for t in order:
        previous[t, :, :hidden], previous[t, :, hidden:] = h, c
        a = z.data[:, t] + h @ ud
        gt = gates[t]
        _activate(xp, a, gt)
        i, f, g, o = (gt[:, k * hidden:(k + 1) * hidden] for k in range(4))
        c_new = f * c + i * g
        tanh_c[t] = xp.tanh(c_new)
        h_new = o * tanh_c[t]
        if keep is not None:
            k = keep[:, t:t + 1]
            h_new, c_new = xp.where(k, h_new, h), xp.where(k, c_new, c)
        h, c = h_new, c_new
        states[:, t, :hidden], states[:, t, hidden:] = h, c
    cache: dict = {}

    def arrays(gs) -> dict:
        """BPTT: the gradients of z, U, h₀ and c₀ from that of S."""
        if cache.get("of") is not gs:
            dz = xp.empty_like(gates.transpose(1, 0, 2))
            du = xp.zeros_like(ud)
            dh = xp.zeros((b, hidden), dtype=dtype)
            dc = xp.zeros((b, hidden), dtype=dtype)
            for t in reversed(order):
                dh = dh + gs[:, t, :hidden]
                dc = dc + gs[:, t, hidden:]
                gt = gates[t]
                h_prev, c_prev = previous[t, :, :hidden], previous[t, :, hidden:]
                if keep is not None:
                    k = keep[:, t:t + 1]
                    dh_new, dc_new = xp.where(k, dh, 0), xp.where(k, dc, 0)
                    dh, dc = xp.where(k, 0, dh), xp.where(k, 0, dc)  # carried over
                else:
                    dh_new, dc_new = dh, dc
                    dh, dc = xp.zeros_like(dh), xp.zeros_like(dc)
                da = dz[:, t]
                dc = dc + _step_backward(gt, tanh_c[t], c_prev, dh_new, dc_new, da)
                dh = dh + da @ ud.T
                du += h_prev.T @ da
            cache.update(of=gs, z=dz, weight_hh=du, h0=dh, c0=dc)
        return cache

    parents = {"z": z, "weight_hh": u, "h0": h0, "c0": c0}

    def vjp(name: str):
        def backward(g: Tensor, out: Tensor) -> Tensor:
            if is_grad_enabled():  # a gradient that will be differentiated again
                twin = lstm_sequence_twin(z, u, h0, c0, keep, reverse)
                return grad(twin, parents[name], grad_outputs=g, create_graph=True)
            return Tensor(arrays(g.data)[name])
        return backward

    return apply("lstm_sequence", states, [(t, vjp(name)) for name, t in parents.items()])


def lstm_sequence_twin(z: Tensor, weight_hh: Tensor, h0: Tensor, c0: Tensor, mask=None,
                       reverse: bool = False) -> Tensor:
    """:func:`lstm_sequence` composed from differentiable ops, step by step: its reference,
    and what its VJPs differentiate when a gradient is recorded."""
    steps = z.shape[1]
    h, c = h0, c0
    out: list = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        i, f, g, o = split(z[:, t] + matmul(h, weight_hh), 4, axis=-1)
        c_new = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h_new = sigmoid(o) * tanh(c_new)
        if mask is not None:
            k = mask[:, t:t + 1]
            h_new, c_new = where(k, h_new, h), where(k, c_new, c)
        h, c = h_new, c_new
        out[t] = concat([h, c], axis=-1)
    return stack(out, axis=1)


__all__ = ["lstm_cell", "lstm_cell_twin", "lstm_sequence", "lstm_sequence_twin"]
