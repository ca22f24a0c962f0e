"""Convolution, transposed convolution, pooling and upsampling (layout NCHW / NCL).

**One trilinear form, three primitives.** For an input x (N, C, H, W), a weight
w (O, C/G, kH, kW) with G groups, stride s, front padding p and dilation d, the convolution
(a cross-correlation, as in PyTorch) is

    y[n, o, a, b] = Σ_{c, i, j} w[o, c, i, j] · x[n, γ(o)·C/G + c, a·s − p + i·d, b·s − p + j·d]

with zeros read outside the input, and γ(o) = o // (O/G) the group of output channel o.
Everything below follows from the scalar T(x, w, g) = ⟨conv(x, w), g⟩, which is linear in
each of its three arguments. Its three partial derivatives are the three primitives:

    ∂T/∂g = conv2d(x, w)                    forward                 (N, O, H_out, W_out)
    ∂T/∂x = conv_transpose(g, w)            the input gradient      (N, C, H, W)
    ∂T/∂w = conv2d_weight_grad(x, g)        the weight gradient     (O, C/G, kH, kW)

and the VJP of each is again one of the three (differentiate T twice), e.g. for the input
gradient u = conv_transpose(g, w) with upstream ū: ḡ = conv2d(ū, w), w̄ = weight_grad(ū, g).
Because every VJP is made of these differentiable ops, gradients of gradients work to any
order (the gradient penalty of WGAN-GP differentiates a conv critic's input gradient).
``conv_transpose2d`` (PyTorch's ConvTranspose2d) *is* the input-gradient primitive of the
convolution whose output has the transposed conv's input shape.

The arrays are computed by hand-written kernels chosen by array type: NumPy arrays go to
:mod:`tinygen.kernels.cpu.conv` (Numba im2col + BLAS), CuPy arrays to
:mod:`tinygen.kernels.cuda.conv` (Numba CUDA, tiled in shared memory). The same maps built
from ordinary Tensor ops (pad, gather, matmul) are in :mod:`tinygen.ops.conv_twin`, the
oracle the kernels are tested against. 1-D versions put the length on the W axis with H = 1.

Output sizes (per spatial axis; k kernel size, p padding, q output padding):

    conv             H_out = ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1
    transposed conv  H_out = (H − 1)s − 2p + d(k − 1) + q + 1

**Pools and upsampling.** ``max_pool2d`` gathers each window's largest entry; its VJP
scatters the gradient back to those positions and the VJP of that scatter gathers again, so
it too has gradients of every order. ``avg_pool2d`` is a sum of kH·kW strided slices divided
by the window size. ``upsample`` is "nearest" (repeat each pixel) or "bilinear", a linear map
written as two small matrix products y = A_H · x · A_Wᵀ with constant interpolation
matrices A (each row holds the weights 1 − λ and λ of two neighbouring source pixels).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from .. import backend
from ..autograd import Tensor, apply
from ..errors import ShapeError
from . import args as A
from .elementwise import cast
from .index import getitem
from .linalg import matmul
from .shape import pad, repeat, reshape

Padding = int | tuple[int, ...] | str


# -- geometry ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConvGeometry:
    """Everything the three conv primitives need besides the arrays, for the 2-D case.

    ``padding`` is the *front* padding (top, left); the back padding is implied by
    ``out_hw``. ``in_hw`` and ``out_hw`` are the spatial sizes of the convolution's input and
    output, ``kernel_hw`` the weight's."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    kernel_hw: tuple[int, int]


def _describe(x: Tensor, w: Tensor | None) -> str:
    return f"input of shape {x.shape}" + ("" if w is None else f", weight of shape {w.shape}")


def _floats(name: str, *tensors) -> list[Tensor]:
    """Floating Tensors of one dtype (NumPy promotion) on one device: integers become the
    default dtype and float16 becomes float32 (the kernels take float32 and float64)."""
    ts = [A.floating(name, t, kernel=True) for t in tensors]
    dtype = np.result_type(*(t.dtype for t in ts))
    backend.xp_of(*(t.data for t in ts), op=name)
    return [cast(t, dtype) for t in ts]


def _check_ndim(name: str, x: Tensor, w: Tensor | None, nd: int) -> None:
    layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    wl = "(O, C/groups, k)" if nd == 1 else "(O, C/groups, kH, kW)"
    if x.ndim != nd + 2:
        raise ShapeError(f"{name}: expected an input of shape {layout} ({nd + 2}-D), got "
                         f"{_describe(x, w)}")
    if w is not None and w.ndim != nd + 2:
        raise ShapeError(f"{name}: expected a weight of shape {wl} ({nd + 2}-D), got "
                         f"{_describe(x, w)}")


def _conv_geometry(name: str, x: Tensor, w: Tensor, stride, padding: Padding, dilation,
                   groups: int, nd: int) -> ConvGeometry:
    """Check a convolution's arguments and work out its geometry (2-D; 1-D gets H = 1)."""
    _check_ndim(name, x, w, nd)
    shapes = _describe(x, w)
    if (A.as_int(groups) or 0) < 1:
        raise ShapeError(f"{name}: groups must be a positive int, got {A.describe(groups)} "
                         f"({shapes})")
    groups = A.as_int(groups)
    c, o, cg = x.shape[1], w.shape[0], w.shape[1]
    if c % groups or o % groups:
        raise ShapeError(f"{name}: groups={groups} must divide the input channels ({c}) and "
                         f"the output channels ({o}) ({shapes})")
    if cg * groups != c:
        raise ShapeError(f"{name}: the input has {c} channels but the weight expects "
                         f"{cg} × groups {groups} = {cg * groups} ({shapes})")
    s = A.sizes(name, stride, nd, "stride", 1, shapes)
    d = A.sizes(name, dilation, nd, "dilation", 1, shapes)
    size, kernel = x.shape[2:], w.shape[2:]
    span = tuple(di * (k - 1) + 1 for di, k in zip(d, kernel))
    if isinstance(padding, str):
        if padding == "valid":
            front = back = (0,) * nd
        elif padding == "same":
            if any(v != 1 for v in s):
                raise ShapeError(f"{name}: padding='same' needs stride 1, got stride {s} "
                                 f"({shapes})")
            front = tuple((sp - 1) // 2 for sp in span)
            back = tuple(sp - 1 - f for sp, f in zip(span, front))
        else:
            raise ShapeError(f"{name}: padding must be an int, {nd} ints, 'same' or 'valid', "
                             f"got {padding!r} ({shapes})")
    else:
        front = back = A.sizes(name, padding, nd, "padding", 0, shapes)
    padded = tuple(n + f + b for n, f, b in zip(size, front, back))
    if any(sp > pn for sp, pn in zip(span, padded)):
        raise ShapeError(f"{name}: the kernel (dilated size {span}) is larger than the padded "
                         f"input (size {padded}) ({shapes}, padding {padding!r})")
    out = tuple((pn - sp) // si + 1 for pn, sp, si in zip(padded, span, s))
    if nd == 1:
        return ConvGeometry((1, s[0]), (0, front[0]), (1, d[0]), int(groups), (1, size[0]),
                            (1, out[0]), (1, kernel[0]))
    return ConvGeometry(s, front, d, int(groups), tuple(size), out, tuple(kernel))


def _transpose_geometry(name: str, x: Tensor, w: Tensor, stride, padding, output_padding,
                        dilation, groups: int, nd: int) -> ConvGeometry:
    """Geometry of the convolution whose input gradient is this transposed convolution:
    its output has x's size and its input has the transposed conv's output size."""
    _check_ndim(name, x, w, nd)
    shapes = _describe(x, w)
    if (A.as_int(groups) or 0) < 1:
        raise ShapeError(f"{name}: groups must be a positive int, got {A.describe(groups)} "
                         f"({shapes})")
    groups = A.as_int(groups)
    c = x.shape[1]
    if c % groups:
        raise ShapeError(f"{name}: groups={groups} must divide the input channels ({c}) "
                         f"({shapes})")
    if w.shape[0] != c:
        raise ShapeError(f"{name}: the input has {c} channels but the weight expects "
                         f"{w.shape[0]} (weight layout (C_in, C_out/groups, kH, kW)) "
                         f"({shapes})")
    s = A.sizes(name, stride, nd, "stride", 1, shapes)
    d = A.sizes(name, dilation, nd, "dilation", 1, shapes)
    p = A.sizes(name, padding, nd, "padding", 0, shapes)
    q = A.sizes(name, output_padding, nd, "output_padding", 0, shapes)
    if any(qi >= max(si, di) for qi, si, di in zip(q, s, d)):
        raise ShapeError(f"{name}: output_padding {q} must be smaller than the stride {s} or "
                         f"the dilation {d} ({shapes})")
    size, kernel = x.shape[2:], w.shape[2:]
    out = tuple((n - 1) * si - 2 * pi + di * (k - 1) + qi + 1
                for n, si, pi, di, k, qi in zip(size, s, p, d, kernel, q))
    if any(v < 1 for v in out):
        raise ShapeError(f"{name}: the output would have size {out}; the padding {p} is too "
                         f"large ({shapes})")
    if nd == 1:
        return ConvGeometry((1, s[0]), (0, p[0]), (1, d[0]), int(groups), (1, out[0]),
                            (1, size[0]), (1, kernel[0]))
    return ConvGeometry(s, p, d, int(groups), out, tuple(size), tuple(kernel))


# -- the three primitives --------------------------------------------------------------------


def _conv(x: Tensor, w: Tensor, geo: ConvGeometry, b: Tensor | None = None) -> Tensor:
    """y = conv(x, w) (+ b per output channel): x (N, C, H, W) → (N, O, H_out, W_out)."""
    y = backend.kernels(x.xp, "conv").conv2d_forward(
        x.data, w.data, geo.stride, geo.padding, geo.dilation, geo.groups, geo.out_hw)
    return apply("conv2d", _plus_bias(y, b),
                 [(x, lambda g, out: _conv_input_grad(g, w, geo)),
                  (w, lambda g, out: _conv_weight_grad(x, g, geo))] + _bias_vjp(b))


def _conv_input_grad(g: Tensor, w: Tensor, geo: ConvGeometry, b: Tensor | None = None
                     ) -> Tensor:
    """conv_transpose(g, w) = ∂⟨conv(x, w), g⟩/∂x: (N, O, H_out, W_out) → (N, C, H, W)
    (+ b per channel when it is a transposed conv layer's forward)."""
    dx = backend.kernels(g.xp, "conv").conv2d_input_grad(
        g.data, w.data, geo.stride, geo.padding, geo.dilation, geo.groups, geo.in_hw)
    return apply("conv_transpose2d", _plus_bias(dx, b),
                 [(g, lambda u, out: _conv(u, w, geo)),
                  (w, lambda u, out: _conv_weight_grad(u, g, geo))] + _bias_vjp(b))


def _plus_bias(y, b: Tensor | None):
    """y + b over the channel axis, in place: y is the kernel's own new array. Adding the
    bias inside the conv primitive, not as an op after it, keeps one activation per layer
    (an add op would hold the unbiased output alive for the backward pass)."""
    if b is not None:
        y += b.data.reshape((1, -1) + (1,) * (y.ndim - 2))
    return y


def _bias_vjp(b: Tensor | None) -> list:
    """The bias's VJP, the upstream gradient summed over all but the channel axis."""
    if b is None:
        return []
    return [(b, lambda g, out: g.sum(axis=(0,) + tuple(range(2, g.ndim))))]


def _channel_bias(name: str, bias, channels: int, like: Tensor) -> Tensor | None:
    """The checked bias (``channels``,) in the dtype of ``like`` and on its device (None
    without one)."""
    if bias is None:
        return None
    (b,) = _floats(name, bias)
    backend.xp_of(like.data, b.data, op=name)
    if b.shape != (channels,):
        raise ShapeError(f"{name}: bias must have shape ({channels},) (one per output "
                         f"channel), got {b.shape}")
    return cast(b, like.dtype)


def _conv_weight_grad(x: Tensor, g: Tensor, geo: ConvGeometry) -> Tensor:
    """∂⟨conv(x, w), g⟩/∂w, a correlation of x with g: → (O, C/G, kH, kW)."""
    dw = backend.kernels(x.xp, "conv").conv2d_weight_grad(
        x.data, g.data, geo.stride, geo.padding, geo.dilation, geo.groups, geo.kernel_hw)
    return apply("conv2d_weight_grad", dw,
                 [(x, lambda v, out: _conv_input_grad(g, v, geo)),
                  (g, lambda v, out: _conv(x, v, geo))])


def _add_bias(name: str, y: Tensor, bias, nd: int) -> Tensor:
    """y + bias as a separate op (the composed twin's way)."""
    b = _channel_bias(name, bias, y.shape[1], y)
    return y if b is None else y + reshape(b, (1, y.shape[1]) + (1,) * nd)


def _as_2d(x: Tensor) -> Tensor:
    return reshape(x, x.shape[:2] + (1,) + x.shape[2:])


def _as_1d(y: Tensor) -> Tensor:
    return reshape(y, y.shape[:2] + y.shape[3:])


# -- public convolutions ---------------------------------------------------------------------

def conv2d(input, weight, bias=None, stride=1, padding: Padding = 0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) of x (N, C, H, W) with w (O, C/groups, kH, kW).

    ``stride``, ``dilation``: an int or a pair; ``padding``: an int, a pair, "valid" (0) or
    "same" (stride 1 only; output size = input size, an odd total padding puts the extra row
    and column at the bottom and right, as PyTorch does); ``groups`` splits the channels into
    independent convolutions. ``bias`` (O,) is added per output channel. Returns
    (N, O, H_out, W_out) with H_out = ⌊(H + 2p − d(kH − 1) − 1)/s⌋ + 1.
    """
    x, w = _floats("conv2d", input, weight)
    geo = _conv_geometry("conv2d", x, w, stride, padding, dilation, groups, nd=2)
    return _conv(x, w, geo, _channel_bias("conv2d", bias, w.shape[0], x))


def conv1d(input, weight, bias=None, stride=1, padding: Padding = 0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D convolution of x (N, C, L) with w (O, C/groups, k): :func:`conv2d` with H = 1."""
    x, w = _floats("conv1d", input, weight)
    geo = _conv_geometry("conv1d", x, w, stride, padding, dilation, groups, nd=1)
    b = _channel_bias("conv1d", bias, w.shape[0], x)
    return _as_1d(_conv(_as_2d(x), _as_2d(w), geo, b))


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:
    """Transposed convolution of x (N, C_in, H, W) with w (C_in, C_out/groups, kH, kW), the
    adjoint of :func:`conv2d` (argument order and weight layout as in PyTorch).

    Each input pixel spreads a kH × kW stamp of the weight into the output, at stride s;
    ``padding`` p crops p rows/columns from each side of the result and ``output_padding``
    q (< stride or < dilation) adds q at the bottom/right to pick between the input sizes a
    strided conv maps to the same output size. H_out = (H − 1)s − 2p + d(kH − 1) + q + 1.
    """
    x, w = _floats("conv_transpose2d", input, weight)
    geo = _transpose_geometry("conv_transpose2d", x, w, stride, padding, output_padding,
                              dilation, groups, nd=2)
    b = _channel_bias("conv_transpose2d", bias, w.shape[1] * geo.groups, x)
    return _conv_input_grad(x, w, geo, b)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution of x (N, C_in, L) with w (C_in, C_out/groups, k)."""
    x, w = _floats("conv_transpose1d", input, weight)
    geo = _transpose_geometry("conv_transpose1d", x, w, stride, padding, output_padding,
                              dilation, groups, nd=1)
    b = _channel_bias("conv_transpose1d", bias, w.shape[1] * geo.groups, x)
    return _as_1d(_conv_input_grad(_as_2d(x), _as_2d(w), geo, b))


def conv2d_weight_grad(input, grad_output, kernel_size, stride=1, padding: Padding = 0,
                       dilation=1, groups: int = 1) -> Tensor:
    """∂⟨conv2d(x, w), g⟩/∂w for x (N, C, H, W) and g (N, O, H_out, W_out): the weight
    gradient of :func:`conv2d` as an op of its own (like ``torch.nn.grad.conv2d_weight``),
    dw[o, c, i, j] = Σ_{n,a,b} g[n, o, a, b] · x[n, γC/G + c, as − p + id, bs − p + jd]."""
    x, g = _floats("conv2d_weight_grad", input, grad_output)
    kh, kw = A.sizes("conv2d_weight_grad", kernel_size, 2, "kernel_size", 1,
                     f"input of shape {x.shape}")
    if g.ndim != 4:
        raise ShapeError(f"conv2d_weight_grad: expected grad_output of shape (N, O, H_out, "
                         f"W_out), got {g.shape} (input of shape {x.shape})")
    o = g.shape[1]
    if (A.as_int(groups) or 0) < 1 or o % A.as_int(groups):
        raise ShapeError(f"conv2d_weight_grad: groups={A.describe(groups)} must divide the output "
                         f"channels ({o}) (grad_output of shape {g.shape})")
    groups = A.as_int(groups)
    cg = x.shape[1] // groups if x.ndim == 4 else 0
    probe = Tensor(np.empty((o, cg, kh, kw), dtype=x.dtype))  # only its shape is read
    geo = _conv_geometry("conv2d_weight_grad", x, probe, stride, padding, dilation, groups, 2)
    expected = (x.shape[0], o) + geo.out_hw
    if g.shape != expected:
        raise ShapeError(f"conv2d_weight_grad: grad_output has shape {g.shape}, but the "
                         f"convolution of an input of shape {x.shape} gives {expected}")
    return _conv_weight_grad(x, g, geo)


# -- pooling -----------------------------------------------------------------------------------

def _pool_args(name: str, x: Tensor, kernel_size, stride, padding, dilation
               ) -> tuple[tuple, tuple, tuple, tuple, tuple]:
    _check_ndim(name, x, None, 2)
    shapes = f"input of shape {x.shape}"
    k = A.sizes(name, kernel_size, 2, "kernel_size", 1, shapes)
    s = k if stride is None else A.sizes(name, stride, 2, "stride", 1, shapes)
    p = A.sizes(name, padding, 2, "padding", 0, shapes)
    d = A.sizes(name, dilation, 2, "dilation", 1, shapes)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ShapeError(f"{name}: padding {p} must be at most half the kernel size {k} "
                         f"({shapes})")
    span = tuple(di * (ki - 1) + 1 for di, ki in zip(d, k))
    padded = tuple(n + 2 * pi for n, pi in zip(x.shape[2:], p))
    if any(sp > pn for sp, pn in zip(span, padded)):
        raise ShapeError(f"{name}: the window (size {span}) is larger than the padded input "
                         f"(size {padded}) ({shapes})")
    out = tuple((pn - sp) // si + 1 for pn, sp, si in zip(padded, span, s))
    return k, s, p, d, out


def _gather_flat(name: str, x: Tensor, index, unique: bool, y=None) -> Tensor:
    """y = x.flat[index] (``index`` an integer array of any shape; ``y`` when it is already
    known); VJP: scatter back."""
    if y is None:
        y = x.data.reshape(-1)[index]
    return apply(name, y, [(x, lambda g, out: _scatter_flat(name, g, index, x.shape, unique))])


def _scatter_flat(name: str, v: Tensor, index, shape: tuple, unique: bool) -> Tensor:
    """Zeros of ``shape`` with v added at the flat positions ``index`` (repeats sum);
    VJP: gather at ``index``. ``unique`` promises no repeated index (a plain store)."""
    xp = v.xp
    size = int(np.prod(shape))
    flat_index, values = index.reshape(-1), v.data.reshape(-1)
    if unique:
        z = xp.zeros(size, dtype=v.dtype)
        z[flat_index] = values
    elif xp is np:
        z = np.bincount(flat_index, weights=values, minlength=size).astype(v.dtype)
    else:
        z = xp.zeros(size, dtype=v.dtype)
        backend.scatter_add(xp, z, flat_index, values)
    return apply(f"{name}_backward", z.reshape(shape),
                 [(v, lambda g, out: _gather_flat(name, g, index, unique))])


def _windows(xp: ModuleType, a, k, s, d, out):
    """A read-only strided view (N, C, H_out, W_out, kH, kW) of the windows of ``a``."""
    sn, sc, sh, sw = a.strides
    if xp is np:
        from numpy.lib.stride_tricks import as_strided
    else:
        from cupy.lib.stride_tricks import as_strided
    return as_strided(a, shape=a.shape[:2] + out + k,
                      strides=(sn, sc, sh * s[0], sw * s[1], sh * d[0], sw * d[1]))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """The largest entry of each kH × kW window of x (N, C, H, W) (stride defaults to the
    kernel size; padding, at most half the kernel, never wins). The gradient goes to the
    position of each maximum (the first one at a tie, as in PyTorch)."""
    (x,) = _floats("max_pool2d", input)
    k, s, p, d, out = _pool_args("max_pool2d", x, kernel_size, stride, padding, dilation)
    for n_in, ki, si, pi, di, m in zip(x.shape[2:], k, s, p, d, out):
        taps = np.arange(m)[:, None] * si - pi + np.arange(ki) * di
        if not ((taps >= 0) & (taps < n_in)).any(axis=1).all():
            raise ShapeError(f"max_pool2d: with padding {p} and dilation {d} some window of "
                             f"size {k} lies entirely in the padding (input of shape "
                             f"{x.shape})")
    unique = all(si >= di * (ki - 1) + 1 for si, di, ki in zip(s, d, k))  # no overlaps
    xp = x.xp
    if xp is np:  # a Numba kernel finds each window's maximum and where it is
        y, index = backend.kernels(xp, "conv").max_pool2d_forward(x.data, k, s, p, d, out)
        return _gather_flat("max_pool2d", x, index, unique, y)
    return _gather_flat("max_pool2d", x, _max_pool_index(xp, x.data, k, s, p, d, out), unique)


def _max_pool_index(xp: ModuleType, x, k, s, p, d, out):
    """Flat positions in ``x`` of each window's maximum, with array ops on any device (the
    CPU uses a Numba kernel instead): argmax over a strided view of the (−∞-)padded input."""
    n, c, h, w = x.shape
    a = xp.ascontiguousarray(x)
    if any(p):
        a = xp.pad(a, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=-np.inf)
    windows = _windows(xp, a, k, s, d, out).reshape(n, c, out[0], out[1], k[0] * k[1])
    best = windows.argmax(axis=-1)
    rows = xp.arange(out[0]).reshape(-1, 1) * s[0] - p[0] + (best // k[1]) * d[0]
    cols = xp.arange(out[1]) * s[1] - p[1] + (best % k[1]) * d[1]
    planes = xp.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    return planes + rows * w + cols


def avg_pool2d(input, kernel_size, stride=None, padding=0,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each kH × kW window of x (N, C, H, W): the sum of kH·kW strided slices of
    the zero-padded input, divided by kH·kW (or, with ``count_include_pad=False``, by the
    number of window entries inside the input)."""
    (x,) = _floats("avg_pool2d", input)
    count_include_pad = A.flag("avg_pool2d", count_include_pad, "count_include_pad")
    k, s, p, _, out = _pool_args("avg_pool2d", x, kernel_size, stride, padding, 1)
    xpad = pad(x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])]) if any(p) else x
    total = None
    for i in range(k[0]):
        for j in range(k[1]):
            part = getitem(xpad, (slice(None), slice(None),
                                  slice(i, i + s[0] * (out[0] - 1) + 1, s[0]),
                                  slice(j, j + s[1] * (out[1] - 1) + 1, s[1])))
            total = part if total is None else total + part
    if count_include_pad or not any(p):
        return total / float(k[0] * k[1])
    counts = [np.minimum(np.arange(m) * si - pi + ki, n) - np.maximum(np.arange(m) * si - pi, 0)
              for m, si, pi, ki, n in zip(out, s, p, k, x.shape[2:])]
    divisor = np.outer(counts[0], counts[1]).astype(x.dtype)
    return total / Tensor(x.xp.asarray(divisor))


# -- upsampling --------------------------------------------------------------------------------

def _interpolation_matrix(n_in: int, factor: int, align_corners: bool, dtype) -> np.ndarray:
    """A (n_in·factor, n_in) matrix whose row t holds the linear-interpolation weights of
    output pixel t: source coordinate u = (t + ½)/factor − ½ (clamped at 0), or
    t(n_in − 1)/(n_out − 1) with ``align_corners``; weights 1 − λ and λ on ⌊u⌋ and ⌊u⌋ + 1."""
    n_out = n_in * factor
    t = np.arange(n_out, dtype=np.float64)
    if align_corners:
        u = t * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        u = np.maximum((t + 0.5) / factor - 0.5, 0.0)
    lo = np.minimum(np.floor(u).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    lam = u - lo
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), lo), 1.0 - lam)
    np.add.at(m, (np.arange(n_out), hi), lam)
    return m.astype(dtype)


def upsample(input, scale_factor, mode: str = "nearest", align_corners: bool = False
             ) -> Tensor:
    """Enlarge x (N, C, H, W) by an integer ``scale_factor`` (or a pair) per axis.

    "nearest" repeats each pixel; "bilinear" interpolates linearly along H, then along W
    (y = A_H · x · A_Wᵀ), with PyTorch's pixel-centre convention, or with corner pixels
    aligned when ``align_corners=True``.
    """
    (x,) = _floats("upsample", input)
    _check_ndim("upsample", x, None, 2)
    f = A.sizes("upsample", scale_factor, 2, "scale_factor", 1, f"input of shape {x.shape}")
    mode = A.choice("upsample", mode, "mode", ("nearest", "bilinear"))
    align_corners = A.flag("upsample", align_corners, "align_corners")
    if mode == "nearest":
        return repeat(repeat(x, f[0], axis=2), f[1], axis=3)
    a_h = Tensor(x.xp.asarray(_interpolation_matrix(x.shape[2], f[0], align_corners, x.dtype)))
    a_w = Tensor(x.xp.asarray(_interpolation_matrix(x.shape[3], f[1], align_corners,
                                                    x.dtype).T))
    return matmul(matmul(a_h, x), a_w)


__all__ = ["ConvGeometry", "avg_pool2d", "conv1d", "conv2d", "conv2d_weight_grad",
           "conv_transpose1d", "conv_transpose2d", "max_pool2d", "upsample"]
