"""Convolutional layers: Conv1d, Conv2d, ConvTranspose2d, pools, BatchNorm2d, Upsample, Flatten.

Layouts are PyTorch's, channels first: inputs (N, C, L) or (N, C, H, W); a convolution's
weight is (C_out, C_in/groups, kH, kW) and a transposed convolution's (C_in, C_out/groups, kH,
kW). The layers are thin: each holds its parameters and settings, checks the input's rank and
channel count, and calls the op of :mod:`tinygen.ops.conv` (``tinygen.conv2d`` and friends),
whose backward is itself made of differentiable conv ops, so gradients of any order flow
through every layer here.

**Initialisation.** Convolution weights start **He-uniform** (He et al., 2015):
U[−a, a] with a = √(6/fan_in), so Var(w) = 2/fan_in, and biases start at zero. A conv layer
is almost always followed by a ReLU, which zeroes half of its input: the mean square of
a layer's output is fan_in·Var(w)·½·(that of the layer before). He's factor 2 makes up for
the half, so the activations keep their scale through a deep stack, while Glorot's
2/(fan_in + fan_out) (right for tanh, and what :class:`~tinygen.nn.Linear` uses, as Keras
does) multiplies it by fan_in/(fan_in + fan_out) per layer: it shrinks the signal by √2 per
layer when fan_in = fan_out, and more where a layer widens (C_out > C_in, the usual case).
The fan-in is the number of inputs one output value sums over:

* convolution: (C_in/groups)·kH·kW;
* transposed convolution: each output pixel gathers (C_in/groups) channels but, at stride s,
  only about kH·kW/(sH·sW) kernel taps, so fan_in = (C_in/groups)·kH·kW/(sH·sW) (at least 1).

(PyTorch's default, kaiming_uniform with a = √5, works out to U[±1/√fan_in], a sixth of
this variance; Keras' Conv2D default is Glorot-uniform.) The conv layers take a ``generator``,
so a seed fixes their initial weights. Every layer's shape error names the layer, the shape
it got and the shape it expects, e.g.
``Conv2d(in_channels=3, out_channels=8, kernel_size=(3, 3)): expected input of shape
(N, 3, H, W), got (2, 4, 8, 8)``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..autograd import Tensor, as_tensor
from ..creation import zeros
from ..errors import ShapeError
from ..random import Generator
from . import init
from .layers import BatchNorm1d
from .module import Module, Parameter

__all__ = ["AvgPool2d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose2d", "Flatten",
           "MaxPool2d", "Upsample"]


def _tuple(name: str, what: str, value, n: int, minimum: int) -> tuple[int, ...]:
    """``value`` (an int or n ints, each ≥ ``minimum``) as a tuple of n ints."""
    def is_int(v) -> bool:
        return isinstance(v, int | np.integer) and not isinstance(v, bool)

    items = (value,) * n if is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        items = ()
    if len(items) != n or not all(is_int(v) and v >= minimum for v in items):
        kind = "positive" if minimum >= 1 else "non-negative"
        raise ShapeError(f"{name}: {what} must be a {kind} int or {n} {kind} ints, got "
                         f"{value!r}")
    return tuple(int(v) for v in items)


def _he_uniform_(weight: Tensor, fan_in: float, generator: Generator | None) -> Tensor:
    """U[−a, a] with a = √(6/fan_in): Var = 2/fan_in (see the module docstring)."""
    a = math.sqrt(6.0 / max(fan_in, 1.0))
    return init.uniform_(weight, -a, a, generator)


def _expect_image(layer: Module, x: Tensor, channels: int | None) -> None:
    """Check that x is (N, C, H, W), with C = ``channels`` when given."""
    c = "C" if channels is None else channels
    layer._expect(x.ndim == 4 and (channels is None or x.shape[1] == channels), x.shape,
                  f"(N, {c}, H, W)")


def _call_op(layer: Module, op, *args, **kwargs) -> Tensor:
    """Run a conv/pool op; its ShapeErrors (e.g. an input smaller than the kernel) are
    re-raised naming the layer as well as the op."""
    try:
        return op(*args, **kwargs)
    except ShapeError as err:
        raise ShapeError(f"{layer._describe()}: {err}") from err


class _ConvNd(Module):
    """What the convolutions share: settings, argument checks, weight, bias and repr."""

    _nd = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 generator: Generator | None = None, output_padding=0):
        super().__init__()
        nd, name = self._nd, type(self).__name__
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _tuple(name, "kernel_size", kernel_size, nd, 1)
        self.stride = _tuple(name, "stride", stride, nd, 1)
        self.dilation = _tuple(name, "dilation", dilation, nd, 1)
        if isinstance(padding, str) and not self._transposed:
            if padding not in ("same", "valid"):
                raise ShapeError(f"{name}: padding must be an int, {nd} ints, 'same' or "
                                 f"'valid', got {padding!r}")
            self.padding = padding
        else:
            self.padding = _tuple(name, "padding", padding, nd, 0)
        self.output_padding = _tuple(name, "output_padding", output_padding, nd, 0)
        if not self._transposed and any(self.output_padding):
            raise ShapeError(f"{name}: output_padding belongs to transposed convolutions, got "
                             f"{output_padding!r}")
        self.groups, self._has_bias = groups, bool(bias)
        for what, v in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ShapeError(f"{name}: {what} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ShapeError(f"{self._describe()}: groups={groups} must divide in_channels "
                             f"({in_channels}) and out_channels ({out_channels})")
        if self.padding == "same" and any(s != 1 for s in self.stride):
            raise ShapeError(f"{self._describe()}: padding='same' needs stride 1")
        if self._transposed and any(q >= max(s, d) for q, s, d in
                                    zip(self.output_padding, self.stride, self.dilation)):
            raise ShapeError(f"{self._describe()}: output_padding {self.output_padding} must "
                             f"be smaller than the stride {self.stride} or the dilation "
                             f"{self.dilation}")
        receptive = math.prod(self.kernel_size)
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
            fan_in = in_channels // groups * receptive / math.prod(self.stride)
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
            fan_in = in_channels // groups * receptive
        self.weight = Parameter(_he_uniform_(zeros(shape), fan_in, generator))
        self.bias = Parameter(zeros(out_channels)) if bias else None

    def _expect_input(self, x: Tensor) -> None:
        c = self.in_channels
        layout = f"(N, {c}, L)" if self._nd == 1 else f"(N, {c}, H, W)"
        self._expect(x.ndim == self._nd + 2 and x.shape[1] == c, x.shape, layout)

    def forward(self, x) -> Tensor:
        """The layer's op (``_op``: conv1d or conv2d) on x with the layer's settings."""
        x = as_tensor(x)
        self._expect_input(x)
        return _call_op(self, self._op, x, self.weight, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)

    def extra_repr(self) -> str:
        k = self.kernel_size
        parts = [f"in_channels={self.in_channels}", f"out_channels={self.out_channels}",
                 f"kernel_size={k}"]
        ones, zeros_ = (1,) * self._nd, (0,) * self._nd
        if self.stride != ones:
            parts.append(f"stride={self.stride}")
        if self.padding != zeros_:
            parts.append(f"padding={self.padding!r}")
        if self._transposed and self.output_padding != zeros_:
            parts.append(f"output_padding={self.output_padding}")
        if self.dilation != ones:
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if not self._has_bias:
            parts.append("bias=False")
        return ", ".join(parts)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) of x (N, C_in, H, W) → (N, C_out, H_out, W_out),
    H_out = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1, with a weight (C_out, C_in/groups, kH, kW)
    (He-uniform) and a bias (C_out,) (zeros).

    ``stride``, ``dilation``: an int or a pair; ``padding``: an int, a pair, "valid" (0) or
    "same" (stride 1 only; output size = input size); ``groups`` splits the channels into
    that many independent convolutions (groups = C_in = C_out is a depthwise convolution).
    Arguments: ``(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True, generator=None)``.
    """

    _op = staticmethod(ops.conv2d)


class Conv1d(_ConvNd):
    """1-D convolution of x (N, C_in, L) → (N, C_out, L_out) with a weight
    (C_out, C_in/groups, k); arguments as :class:`Conv2d`, each a single int."""

    _nd = 1
    _op = staticmethod(ops.conv1d)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution x (N, C_in, H, W) → (N, C_out, H_out, W_out), the adjoint of a
    :class:`Conv2d` with the same settings (the usual learned upsampler of a decoder), with
    H_out = (H − 1)s − 2p + d(k − 1) + q + 1 and a weight (C_in, C_out/groups, kH, kW).

    ``padding`` p crops p rows/columns from each side of the result; ``output_padding`` q
    (smaller than the stride or the dilation) adds q at the bottom/right: a stride-s conv maps
    s different input sizes to the same output size, and q picks which one to give back.
    """

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, output_padding=0, groups: int = 1, bias: bool = True,
                 dilation=1, generator: Generator | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, generator, output_padding=output_padding)

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        self._expect_input(x)
        return _call_op(self, ops.conv_transpose2d, x, self.weight, self.bias, self.stride,
                        self.padding, self.output_padding, self.groups, self.dilation)


class MaxPool2d(Module):
    """The largest value of each kH × kW window of x (N, C, H, W); ``stride`` defaults to the
    kernel size (windows side by side). The gradient flows to each window's maximum."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _tuple(name, "kernel_size", kernel_size, 2, 1)
        self.stride = self.kernel_size if stride is None else _tuple(name, "stride", stride,
                                                                     2, 1)
        self.padding = _tuple(name, "padding", padding, 2, 0)
        self.dilation = _tuple(name, "dilation", dilation, 2, 1)

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        _expect_image(self, x, None)
        return _call_op(self, ops.max_pool2d, x, self.kernel_size, self.stride, self.padding,
                        self.dilation)

    def extra_repr(self) -> str:
        extra = "" if self.padding == (0, 0) else f", padding={self.padding}"
        extra += "" if self.dilation == (1, 1) else f", dilation={self.dilation}"
        return f"kernel_size={self.kernel_size}, stride={self.stride}{extra}"


class AvgPool2d(Module):
    """The mean of each kH × kW window of x (N, C, H, W); ``stride`` defaults to the kernel
    size. With padding, ``count_include_pad`` decides whether the zeros count in the mean."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad: bool = True):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _tuple(name, "kernel_size", kernel_size, 2, 1)
        self.stride = self.kernel_size if stride is None else _tuple(name, "stride", stride,
                                                                     2, 1)
        self.padding = _tuple(name, "padding", padding, 2, 0)
        self.count_include_pad = count_include_pad

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        _expect_image(self, x, None)
        return _call_op(self, ops.avg_pool2d, x, self.kernel_size, self.stride, self.padding,
                        self.count_include_pad)

    def extra_repr(self) -> str:
        extra = "" if self.padding == (0, 0) else f", padding={self.padding}"
        extra += "" if self.count_include_pad else ", count_include_pad=False"
        return f"kernel_size={self.kernel_size}, stride={self.stride}{extra}"


class BatchNorm2d(BatchNorm1d):
    """Batch normalisation of images x (N, C, H, W) per channel, over N, H and W:
    y = (x − μ_c)/√(σ_c² + eps)·γ_c + β_c, running statistics as :class:`BatchNorm1d`.

    It *is* BatchNorm1d on the view (N, C, H·W): statistics per channel over the batch and
    every pixel, the same running-mean/variance buffers, momentum, train/eval behaviour and
    state_dict names (``weight``, ``bias``, ``running_mean``, ``running_var``).
    """

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        c = self.num_features
        _expect_image(self, x, c)
        n, _, h, w = x.shape
        self._expect(not self.training or n * h * w > 1, x.shape,
                     f"(N, {c}, H, W) with N·H·W > 1 (training needs more than one value "
                     "per channel)")
        y = super().forward(ops.reshape(x, (n, c, h * w)))
        return ops.reshape(y, (n, c, h, w))


class Upsample(Module):
    """Enlarge x (N, C, H, W) by an integer ``scale_factor`` (or a pair) per axis:
    "nearest" repeats each pixel, "bilinear" interpolates (PyTorch's pixel-centre convention,
    or corners aligned with ``align_corners=True``)."""

    def __init__(self, scale_factor=2, mode: str = "nearest", align_corners: bool = False):
        super().__init__()
        self.scale_factor = _tuple(type(self).__name__, "scale_factor", scale_factor, 2, 1)
        if mode not in ("nearest", "bilinear"):
            raise ValueError(f"Upsample: mode must be 'nearest' or 'bilinear', got {mode!r}")
        self.mode, self.align_corners = mode, align_corners

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        _expect_image(self, x, None)
        return ops.upsample(x, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        extra = ", align_corners=True" if self.align_corners else ""
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}{extra}"


class Flatten(Module):
    """Merge the dimensions ``start_dim`` … ``end_dim`` into one: (N, C, H, W) → (N, C·H·W)
    by default, the step between a conv stack and its dense head."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim
        if not any(self._dims(n) is not None for n in range(1, 65)):
            raise ShapeError(f"{self._describe()}: start_dim comes after end_dim for every "
                             "input")

    def _dims(self, ndim: int) -> tuple[int, int] | None:
        """(start, end) as non-negative axes for an input of ``ndim`` dimensions, or None."""
        start = self.start_dim + ndim if self.start_dim < 0 else self.start_dim
        end = self.end_dim + ndim if self.end_dim < 0 else self.end_dim
        return (start, end) if 0 <= start <= end < ndim else None

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        dims = self._dims(x.ndim)
        if dims is None:
            need = next((n for n in range(1, 65) if self._dims(n) is not None), None)
            self._expect(False, x.shape, f"(N, ...) with at least {need} dimensions")
        start, end = dims
        merged = math.prod(x.shape[start:end + 1])
        return ops.reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
