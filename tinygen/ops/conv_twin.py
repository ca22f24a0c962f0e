"""The composed twin of the convolution ops: the same maps from pad, gather and matmul.

Nothing here is new mathematics and nothing is fast; it is the readable definition that the
kernels of :mod:`tinygen.ops.conv` are tested against, and it is differentiable (to any
order) only because the ops it is made of are. A convolution in three steps:

1. **Pad** the input with zeros (front padding p, and enough at the back for every window).
2. **Gather the sliding windows** with one advanced index: output row a and kernel row i
   read padded row a·s + i·d, so the index arrays are ``rows[a, i] = a·s + i·d`` and
   ``cols[b, j] = b·s + j·d`` and ``patches = x_pad[:, :, rows[:, :, None, None],
   cols[None, None, :, :]]`` has shape (N, C, H_out, kH, W_out, kW).
3. **Multiply**: rearranged as columns (N, G, C/G·kH·kW, H_out·W_out), the patches meet the
   weight as a matrix (G, O/G, C/G·kH·kW): Y = W @ columns, one matmul per image and group.

The transposed convolution is the adjoint of these steps taken in reverse: columns = Wᵀ @ g,
then a scatter-add of the columns into the padded input's shape at the same index (the
adjoint of a gather), then crop the padding. The weight gradient is
Σ_n g[n] @ columns[n]ᵀ. Each twin takes the same arguments as its op in
:mod:`tinygen.ops.conv`.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from . import args as A
from .conv import (ConvGeometry, Padding, _add_bias, _as_1d, _as_2d, _conv_geometry, _floats,
                   _transpose_geometry)
from .index import getitem, scatter_add
from .reduce import sum
from .shape import pad, permute, reshape, transpose


def _window_index(xp, geo: ConvGeometry) -> tuple:
    """The advanced index into the padded input that gathers every window, and the padded
    size (H_pad, W_pad) it needs."""
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    (ho, wo), (kh, kw) = geo.out_hw, geo.kernel_hw
    rows = xp.arange(ho).reshape(-1, 1) * sh + xp.arange(kh) * dh      # (H_out, kH)
    cols = xp.arange(wo).reshape(-1, 1) * sw + xp.arange(kw) * dw      # (W_out, kW)
    size = tuple(max(p + n, (o - 1) * s + (k - 1) * d + 1) for p, n, o, s, k, d in
                 zip(geo.padding, geo.in_hw, geo.out_hw, geo.stride, geo.kernel_hw,
                     geo.dilation))
    key = (slice(None), slice(None), rows[:, :, None, None], cols[None, None, :, :])
    return key, size


def _pad_widths(geo: ConvGeometry, size: tuple) -> list[tuple[int, int]]:
    return [(0, 0), (0, 0)] + [(p, s - p - n) for p, s, n in zip(geo.padding, size, geo.in_hw)]


def _columns(x: Tensor, geo: ConvGeometry) -> Tensor:
    """im2col from Tensor ops: (N, C, H, W) → (N, G, C/G·kH·kW, H_out·W_out)."""
    key, size = _window_index(x.xp, geo)
    patches = getitem(pad(x, _pad_widths(geo, size)), key)        # (N, C, H_out, kH, W_out, kW)
    patches = permute(patches, (0, 1, 3, 5, 2, 4))                 # (N, C, kH, kW, H_out, W_out)
    n, c = x.shape[:2]
    (kh, kw), (ho, wo) = geo.kernel_hw, geo.out_hw
    return reshape(patches, (n, geo.groups, c // geo.groups * kh * kw, ho * wo))


def _weight_matrix(w: Tensor, groups: int) -> Tensor:
    o = w.shape[0]
    return reshape(w, (groups, o // groups, -1))                   # (G, O/G, C/G·kH·kW)


def twin_forward(x: Tensor, w: Tensor, geo: ConvGeometry) -> Tensor:
    """conv(x, w) = W @ columns(x)."""
    y = _weight_matrix(w, geo.groups) @ _columns(x, geo)  # (N, G, O/G, P)
    return reshape(y, (x.shape[0], w.shape[0]) + geo.out_hw)


def twin_input_grad(g: Tensor, w: Tensor, geo: ConvGeometry) -> Tensor:
    """The adjoint of :func:`twin_forward` in x: scatter-add Wᵀ @ g back through the windows."""
    n, o = g.shape[:2]
    cg, (kh, kw), (ho, wo) = w.shape[1], geo.kernel_hw, geo.out_hw
    gmat = reshape(g, (n, geo.groups, o // geo.groups, ho * wo))
    cols = transpose(_weight_matrix(w, geo.groups)) @ gmat
    patches = permute(reshape(cols, (n, geo.groups * cg, kh, kw, ho, wo)), (0, 1, 4, 2, 5, 3))
    key, size = _window_index(g.xp, geo)
    full = scatter_add(patches, (n, geo.groups * cg) + size, key)  # the adjoint of the gather
    (ph, pw), (h, w_) = geo.padding, geo.in_hw
    return getitem(full, (slice(None), slice(None), slice(ph, ph + h), slice(pw, pw + w_)))


def twin_weight_grad(x: Tensor, g: Tensor, geo: ConvGeometry) -> Tensor:
    """The adjoint of :func:`twin_forward` in w: Σ_n g[n] @ columns(x)[n]ᵀ."""
    n, o = g.shape[:2]
    (kh, kw), (ho, wo) = geo.kernel_hw, geo.out_hw
    gmat = reshape(g, (n, geo.groups, o // geo.groups, ho * wo))
    dw = sum(gmat @ transpose(_columns(x, geo)), axis=0)
    return reshape(dw, (o, x.shape[1] // geo.groups, kh, kw))


# -- the twins of the public ops ---------------------------------------------------------------

def conv2d_twin(input, weight, bias=None, stride=1, padding: Padding = 0, dilation=1,
                groups: int = 1) -> Tensor:
    """:func:`tinygen.ops.conv.conv2d` from pad + gather + matmul."""
    x, w = _floats("conv2d", input, weight)
    geo = _conv_geometry("conv2d", x, w, stride, padding, dilation, groups, nd=2)
    return _add_bias("conv2d", twin_forward(x, w, geo), bias, 2)


def conv1d_twin(input, weight, bias=None, stride=1, padding: Padding = 0, dilation=1,
                groups: int = 1) -> Tensor:
    """:func:`tinygen.ops.conv.conv1d` from pad + gather + matmul."""
    x, w = _floats("conv1d", input, weight)
    geo = _conv_geometry("conv1d", x, w, stride, padding, dilation, groups, nd=1)
    return _add_bias("conv1d", _as_1d(twin_forward(_as_2d(x), _as_2d(w), geo)), bias, 1)


def conv_transpose2d_twin(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                          groups: int = 1, dilation=1) -> Tensor:
    """:func:`tinygen.ops.conv.conv_transpose2d` from matmul + scatter-add + crop."""
    x, w = _floats("conv_transpose2d", input, weight)
    geo = _transpose_geometry("conv_transpose2d", x, w, stride, padding, output_padding,
                              dilation, groups, nd=2)
    return _add_bias("conv_transpose2d", twin_input_grad(x, w, geo), bias, 2)


def conv_transpose1d_twin(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                          groups: int = 1, dilation=1) -> Tensor:
    """:func:`tinygen.ops.conv.conv_transpose1d` from matmul + scatter-add + crop."""
    x, w = _floats("conv_transpose1d", input, weight)
    geo = _transpose_geometry("conv_transpose1d", x, w, stride, padding, output_padding,
                              dilation, groups, nd=1)
    y = _as_1d(twin_input_grad(_as_2d(x), _as_2d(w), geo))
    return _add_bias("conv_transpose1d", y, bias, 1)


def conv2d_weight_grad_twin(input, grad_output, kernel_size, stride=1,
                            padding: Padding = 0, dilation=1, groups: int = 1) -> Tensor:
    """:func:`tinygen.ops.conv.conv2d_weight_grad` from gather + matmul + sum."""
    x, g = _floats("conv2d_weight_grad", input, grad_output)
    kh, kw = A.sizes("conv2d_weight_grad", kernel_size, 2, "kernel_size", 1, str(x.shape))
    probe = Tensor(np.empty((g.shape[1], x.shape[1] // groups, kh, kw), dtype=x.dtype))
    geo = _conv_geometry("conv2d_weight_grad", x, probe, stride, padding, dilation, groups, 2)
    return twin_weight_grad(x, g, geo)


__all__ = ["conv1d_twin", "conv2d_twin", "conv2d_weight_grad_twin", "conv_transpose1d_twin",
           "conv_transpose2d_twin"]
