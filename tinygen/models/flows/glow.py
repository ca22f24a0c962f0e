r"""Glow (Kingma & Dhariwal 2018; the flow posts): a multi-scale normalising flow on images.

**Layers.** Each is a bijection on (B, C, H, W) images with ``forward(x) -> (y, logdet)``,
``logdet`` = log|det ∂y/∂x| per image (B,), and ``inverse(y) -> x``:

* :class:`ActNorm`: y = (x + b)·exp(s) per channel; b, s set from the first batch so that y
  has zero mean and unit variance per channel (data-dependent init). log-det H·W·Σ s.
* :class:`InvConv1x1`: y = W x at every pixel, W a C × C matrix starting as a random
  rotation. ``lu=False``: log-det H·W·log|det W| by ``slogdet``. ``lu=True`` (Glow's LU form):
  W = P L (U + diag(sign·exp(log_s))), P fixed, L unit lower-, U strictly upper-triangular;
  log-det H·W·Σ log_s, no determinant needed.
* :class:`Permutation`: a fixed channel order, reversed (RealNVP) or shuffled; log-det 0.
* :class:`Coupling`: x = (x_a, x_b) by channel halves, h = NN(x_a);
  affine: y_b = (x_b + t)·σ(h_s + 2) with (t, h_s) = h (the reference code's scale,
  which starts near σ(2) ≈ 0.88 and is bounded by 1), log-det Σ log σ(h_s + 2);
  additive (NICE): y_b = x_b + t, log-det 0. NN's last conv starts at zero, so every coupling
  starts as a fixed map (the identity for additive, ×σ(2) for affine).
* :func:`squeeze` / :func:`unsqueeze`: (C, H, W) ↔ (4C, H/2, W/2), 2 × 2 blocks to channels.
* :class:`Split` (multi-scale): x = (h, z); z is factored out with a learned conditional
  prior N(μ(h), σ(h)²), written as the bijection (h, z) → (h, ε = (z − μ)/σ) with log-det
  −Σ log σ, so ε joins the standard normal base.

**The model.** :class:`Glow`: per level, [squeeze] → K × (ActNorm, permutation, coupling) →
split (all levels but the last); log p(x) = Σ log N(ε; 0, I) + Σ log-dets, the loss
½‖z‖² + (D/2)·log 2π − Σ log-dets of MODELS.md. Sampling draws ε ~ N(0, T²I) (temperature
T < 1 trades diversity for quality, as in the paper).

**Pixels in.** Dequantised pixels x ∈ [0, 1) are centred (x − ½, as in the Glow code) or,
with ``Glow(logit=α)``, mapped by :class:`Logit` (RealNVP's logit(α + (1 − 2α)x)), whose
log-det is part of log p(x), so bits/dim stay those of a density on [0, 1)ᴰ.

**Bits per dimension.** :func:`dequantize` and :func:`bits_per_dim` (below).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from ... import nn, ops
from ...autograd import Tensor, as_tensor, no_grad
from ...errors import ShapeError
from ...random import Generator, default_generator

__all__ = ["ActNorm", "Coupling", "FlowStep", "Glow", "InvConv1x1", "Logit", "Permutation",
           "Split",
           "bits_per_dim", "dequantize", "quantize", "per_pixel_categorical_bits", "squeeze",
           "eval_bits_per_dim", "fit_glow", "train_glow", "unsqueeze"]

LOG_2PI = math.log(2 * math.pi)


def _image(layer: str, x: Tensor, channels: int | None = None) -> None:
    """x must be (B, C, H, W), with C = ``channels`` when given."""
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        c = "C" if channels is None else channels
        raise ShapeError(f"{layer}: expected images of shape (B, {c}, H, W), got {x.shape}")


def _zeros(b: int, like: Tensor) -> Tensor:
    return Tensor(like.xp.zeros(b, dtype=like.dtype))


# -- bits per dimension ------------------------------------------------------------------------

def dequantize(levels_int: np.ndarray, levels: int = 256,
               generator: Generator | None = None) -> np.ndarray:
    """Integer pixels y ∈ {0, …, levels − 1} → x = (y + u)/levels ∈ [0, 1), u ~ U[0, 1)
    per pixel (uniform dequantisation). A density p on [0, 1)ᴰ defines the discrete model
    P(y) = ∫ p over y's bin (a cube of side 1/levels), and by Jensen
    E_u[log p(x)] − D·log levels ≤ log P(y): trained on x, p bounds P's log-likelihood."""
    y = np.asarray(levels_int, dtype=np.float64)
    if y.size and (y.min() < 0 or y.max() > levels - 1):
        raise ValueError(f"dequantize: pixels must lie in 0 … {levels - 1}, got "
                         f"{y.min()} … {y.max()}")
    gen = generator or default_generator()
    return (y + gen.uniform(y.shape, dtype=np.float64).numpy()) / levels


def quantize(images: np.ndarray, size: int | None = None, levels: int = 256) -> np.ndarray:
    """Images (N, H, W) in [0, 1] → integer levels (N, 1, size, size) in {0, …, levels − 1}:
    each output pixel the mean of an (H/size)² block (28 → 14 averages 2 × 2 blocks),
    rounded to the nearest level."""
    images = np.asarray(images, dtype=np.float64)
    n, h, w = images.shape
    size = h if size is None else size
    if h != w or h % size:
        raise ShapeError(f"quantize: size {size} must divide square images, got {h}×{w}")
    f = h // size
    small = images.reshape(n, size, f, size, f).mean(axis=(2, 4))
    return np.clip(np.round(small * (levels - 1)), 0, levels - 1).astype(np.int64)[:, None]


IMAGE_DATA = ("digits 8x8", "mnist 14x14", "fashion 14x14")


def image_data(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """The flow lessons' images as integer levels: ``(train, test, levels)`` for
    ``"digits 8x8"`` (scikit-learn's digits, 17 grey levels), ``"mnist 14x14"`` (MNIST-10k) or
    ``"fashion 14x14"`` (Fashion-MNIST), the 28 × 28 sets averaged 2 × 2 to 256 levels."""
    from ...data import load_digits, load_fashion_mnist, load_mnist10k
    from ...ops.args import choice

    name = choice("image_data", name, "name", IMAGE_DATA)
    if name == "digits 8x8":
        (xtr, _), _, (xte, _) = load_digits()
        return quantize(xtr, levels=17), quantize(xte, levels=17), 17
    (xtr, _), _, (xte, _) = (load_mnist10k if name == "mnist 14x14" else load_fashion_mnist)()
    return quantize(xtr, 14), quantize(xte, 14), 256


def bits_per_dim(log_px, dims: int, levels: int = 256) -> np.ndarray:
    """Bits per dimension of discrete images from ``log_px``, the log-density (nats) of their
    dequantised versions x = (y + u)/levels in [0, 1)ᴰ (``dims`` = D):

        bits/dim = −(log p(x) − D·log levels) / (D·log 2)

    The bin of one level has width 1/levels, so P(y) ≈ p(x)/levelsᴰ. A model that works on
    rescaled pixels (x − ½, or x·levels) must add the log-det of its rescaling to log p first.
    The uniform density on [0, 1)ᴰ (log p = 0) gives exactly log₂ levels (8 for 256)."""
    lp = np.asarray(log_px, dtype=np.float64)
    return -(lp - dims * math.log(levels)) / (dims * math.log(2))


# -- the pixel pre-transform ------------------------------------------------------------------

class Logit(nn.Module):
    """RealNVP's pre-transform of pixels x ∈ [0, 1) to the real line:
    y = logit(α + (1 − 2α)·x), log-det Σ [log(1 − 2α) − log p − log(1 − p)] with
    p = α + (1 − 2α)·x. It stretches the bins near 0 and 1 (a background pixel's bin
    [0, 1/256) becomes an interval ~8 wide for α = 1e-6), so the point masses of images with
    many black pixels become broad bumps a Gaussian-based flow can fit, and samples map back
    into (−α/(1 − 2α), 1 + α/(1 − 2α)) whatever the latent."""

    def __init__(self, alpha: float = 1e-6):
        super().__init__()
        if not 0 < alpha < 0.5:
            raise ValueError(f"Logit: alpha must lie in (0, 0.5), got {alpha}")
        self.alpha = float(alpha)

    def forward(self, x) -> tuple[Tensor, Tensor]:
        x = as_tensor(x)
        _image(self._describe(), x)
        p = self.alpha + (1 - 2 * self.alpha) * x
        log_p, log_q = ops.log(p), ops.log(1 - p)
        logdet = (math.log(1 - 2 * self.alpha) - log_p - log_q).sum(axis=(1, 2, 3))
        return log_p - log_q, logdet

    def inverse(self, y) -> Tensor:
        y = as_tensor(y)
        _image(self._describe(), y)
        return (ops.sigmoid(y) - self.alpha) / (1 - 2 * self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:g}"


# -- squeeze ---------------------------------------------------------------------------------

def squeeze(x) -> Tensor:
    """(B, C, H, W) → (B, 4C, H/2, W/2): each 2 × 2 block of a channel becomes 4 channels
    (channel c·4 + 2i + j holds pixel (i, j) of the block). Needs even H and W."""
    x = as_tensor(x)
    _image("squeeze", x)
    b, c, h, w = x.shape
    if h % 2 or w % 2:
        raise ShapeError(f"squeeze: needs even height and width, got {h}×{w} "
                         f"(images of shape {x.shape})")
    y = ops.reshape(x, (b, c, h // 2, 2, w // 2, 2))
    return ops.reshape(ops.permute(y, (0, 1, 3, 5, 2, 4)), (b, 4 * c, h // 2, w // 2))


def unsqueeze(x) -> Tensor:
    """The inverse of :func:`squeeze`: (B, 4C, H, W) → (B, C, 2H, 2W)."""
    x = as_tensor(x)
    _image("unsqueeze", x)
    b, c, h, w = x.shape
    if c % 4:
        raise ShapeError(f"unsqueeze: needs a multiple of 4 channels, got {c} "
                         f"(images of shape {x.shape})")
    y = ops.reshape(x, (b, c // 4, 2, 2, h, w))
    return ops.reshape(ops.permute(y, (0, 1, 4, 2, 5, 3)), (b, c // 4, 2 * h, 2 * w))


# -- layers ----------------------------------------------------------------------------------

class ActNorm(nn.Module):
    """y = (x + b)·exp(s) per channel, initialised from the first training batch so that y has
    zero mean and unit variance per channel; log-det H·W·Σ_c s_c."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.bias = nn.Parameter(np.zeros((1, channels, 1, 1)))
        self.log_scale = nn.Parameter(np.zeros((1, channels, 1, 1)))
        self.register_buffer("initialized", Tensor(np.zeros(())))

    def initialize(self, x) -> None:
        """Set b = −mean, s = −log(std + 1e−6) per channel from the batch x."""
        x = as_tensor(x)
        _image(self._describe(), x, self.channels)
        data = x.data
        mean = data.mean(axis=(0, 2, 3), keepdims=True)
        std = data.std(axis=(0, 2, 3), keepdims=True)
        self.bias.data[...] = -mean
        self.log_scale.data[...] = -x.xp.log(std + 1e-6)
        self.initialized.data[...] = 1

    def forward(self, x) -> tuple[Tensor, Tensor]:
        x = as_tensor(x)
        _image(self._describe(), x, self.channels)
        if self.training and not float(self.initialized.data):
            self.initialize(x)
        y = (x + self.bias) * ops.exp(self.log_scale)
        h, w = x.shape[2:]
        logdet = self.log_scale.sum() * (h * w)
        return y, logdet + _zeros(x.shape[0], x)

    def inverse(self, y) -> Tensor:
        y = as_tensor(y)
        _image(self._describe(), y, self.channels)
        return y * ops.exp(-self.log_scale) - self.bias

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


def _rotation(c: int, gen: Generator) -> np.ndarray:
    """A random C × C rotation: Q of the QR decomposition of a Gaussian matrix."""
    q, _ = np.linalg.qr(gen.normal((c, c), dtype=np.float64).numpy())
    return q


def _pixelwise(x: Tensor, w: Tensor) -> Tensor:
    """y[:, i] = Σ_j W[i, j] x[:, j] at every pixel (a 1 × 1 convolution), as one matrix
    product over the channels-last pixels."""
    return ops.permute(ops.permute(x, (0, 2, 3, 1)) @ ops.transpose(w), (0, 3, 1, 2))


class InvConv1x1(nn.Module):
    """Invertible 1 × 1 convolution y = W x per pixel, W starting as a fixed random rotation.
    ``lu=False``: W is the parameter, log-det H·W·log|det W| (``slogdet``).
    ``lu=True``: W = P L (U + diag(sign·exp(log_s))) from the LU decomposition of that
    rotation; P and sign stay fixed, log-det H·W·Σ log_s."""

    def __init__(self, channels: int, lu: bool = True, generator: Generator | None = None):
        super().__init__()
        import scipy.linalg

        self.channels, self.lu = channels, lu
        w = _rotation(channels, generator or default_generator())
        if not lu:
            self.weight = nn.Parameter(w)
            return
        p, lower, upper = scipy.linalg.lu(w)
        s = np.diag(upper)
        self.register_buffer("p", Tensor(p))
        self.register_buffer("sign", Tensor(np.sign(s)))
        self.register_buffer("l_mask", Tensor(np.tril(np.ones((channels, channels)), -1)))
        self.register_buffer("eye", Tensor(np.eye(channels)))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(np.triu(upper, 1))
        self.log_s = nn.Parameter(np.log(np.abs(s)))

    def weight_matrix(self) -> Tensor:
        """W (C × C), differentiable in the parameters."""
        if not self.lu:
            return self.weight
        lower = self.lower * self.l_mask + self.eye
        upper = self.upper * ops.transpose(self.l_mask) + self.eye * (
            self.sign * ops.exp(self.log_s))
        return self.p @ lower @ upper

    def forward(self, x) -> tuple[Tensor, Tensor]:
        x = as_tensor(x)
        _image(self._describe(), x, self.channels)
        w = self.weight_matrix()
        per_pixel = self.log_s.sum() if self.lu else ops.slogdet(w)[1]
        h, wd = x.shape[2:]
        return _pixelwise(x, w), per_pixel * (h * wd) + _zeros(x.shape[0], x)

    def inverse(self, y) -> Tensor:
        y = as_tensor(y)
        _image(self._describe(), y, self.channels)
        return _pixelwise(y, ops.inv(self.weight_matrix()))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, lu={self.lu}"


class Permutation(nn.Module):
    """A fixed channel permutation (log-det 0): ``"reverse"`` (RealNVP's alternation) or
    ``"shuffle"`` (a random order fixed at construction)."""

    def __init__(self, channels: int, kind: str = "reverse", generator: Generator | None = None):
        super().__init__()
        if kind not in ("reverse", "shuffle"):
            raise ValueError(f"Permutation: kind must be 'reverse' or 'shuffle', got {kind!r}")
        self.channels, self.kind = channels, kind
        if kind == "reverse":
            order = np.arange(channels)[::-1].copy()
        else:
            order = (generator or default_generator()).permutation(channels).numpy()
        self.order = order
        self.inverse_order = np.argsort(order)

    def forward(self, x) -> tuple[Tensor, Tensor]:
        x = as_tensor(x)
        _image(self._describe(), x, self.channels)
        return x[:, self.order], _zeros(x.shape[0], x)

    def inverse(self, y) -> Tensor:
        y = as_tensor(y)
        _image(self._describe(), y, self.channels)
        return y[:, self.inverse_order]

    def extra_repr(self) -> str:
        return f"channels={self.channels}, kind={self.kind!r}"


class Coupling(nn.Module):
    """Affine (Glow/RealNVP) or additive (NICE) coupling on the channel halves (x_a, x_b):
    h = NN(x_a) with NN = conv3×3 → ReLU → conv1×1 → ReLU → conv3×3 (zero-initialised);
    affine y_b = (x_b + t)·σ(h_s + 2), additive y_b = x_b + t; y_a = x_a. ``kernel=1`` makes
    every conv 1 × 1: on (B, C, 1, 1) "images" NN is then an MLP, a coupling on vectors."""

    def __init__(self, channels: int, hidden: int = 32, affine: bool = True,
                 generator: Generator | None = None, kernel: int = 3):
        super().__init__()
        if channels < 2 or channels % 2:
            raise ShapeError(f"Coupling: needs an even number of channels (two halves), got "
                             f"{channels}")
        gen = generator or default_generator()
        half = channels // 2
        self.channels, self.affine = channels, affine
        last = nn.Conv2d(hidden, 2 * half if affine else half, kernel, padding="same",
                         generator=gen)
        last.weight.data[...] = 0
        self.net = nn.Sequential(nn.Conv2d(half, hidden, kernel, padding="same",
                                           generator=gen),
                                 nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 1, generator=gen), nn.ReLU(), last)

    def _shift_scale(self, xa: Tensor) -> tuple[Tensor, Tensor | None]:
        h = self.net(xa)
        if not self.affine:
            return h, None
        half = self.channels // 2
        return h[:, :half], ops.sigmoid(h[:, half:] + 2.0)

    def forward(self, x) -> tuple[Tensor, Tensor]:
        x = as_tensor(x)
        _image(self._describe(), x, self.channels)
        xa, xb = ops.split(x, 2, axis=1)
        shift, scale = self._shift_scale(xa)
        if scale is None:
            return ops.concat([xa, xb + shift], axis=1), _zeros(x.shape[0], x)
        yb = (xb + shift) * scale
        return ops.concat([xa, yb], axis=1), ops.log(scale).sum(axis=(1, 2, 3))

    def inverse(self, y) -> Tensor:
        y = as_tensor(y)
        _image(self._describe(), y, self.channels)
        ya, yb = ops.split(y, 2, axis=1)
        shift, scale = self._shift_scale(ya)
        xb = yb - shift if scale is None else yb / scale - shift
        return ops.concat([ya, xb], axis=1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, affine={self.affine}"


class FlowStep(nn.Module):
    """One step of flow: ActNorm → permutation (``"lu"``, ``"conv"`` = plain 1 × 1 conv,
    ``"reverse"``, ``"shuffle"``) → coupling (affine or additive; ``kernel`` its conv size)."""

    PERMUTATIONS = ("lu", "conv", "reverse", "shuffle")

    def __init__(self, channels: int, hidden: int = 32, affine: bool = True,
                 permutation: str = "lu", generator: Generator | None = None,
                 kernel: int = 3):
        super().__init__()
        if permutation not in self.PERMUTATIONS:
            raise ValueError(f"FlowStep: permutation must be one of {self.PERMUTATIONS}, got "
                             f"{permutation!r}")
        gen = generator or default_generator()
        self.actnorm = ActNorm(channels)
        self.permute = (InvConv1x1(channels, permutation == "lu", gen)
                        if permutation in ("lu", "conv") else
                        Permutation(channels, permutation, gen))
        self.coupling = Coupling(channels, hidden, affine, gen, kernel)

    def forward(self, x) -> tuple[Tensor, Tensor]:
        total = 0.0
        for layer in (self.actnorm, self.permute, self.coupling):
            x, logdet = layer(x)
            total = total + logdet
        return x, total

    def inverse(self, y) -> Tensor:
        for layer in (self.coupling, self.permute, self.actnorm):
            y = layer.inverse(y)
        return y


class Split(nn.Module):
    """Multi-scale split: x = (h, z) by channel halves; z gets the learned conditional prior
    N(μ(h), σ(h)²), (μ, log σ) = conv3×3(h) (zero-initialised, so the prior starts as
    N(0, I)). As a bijection: x → (h, ε), ε = (z − μ)/σ, log-det −Σ log σ, and ε joins the
    standard normal base. ``forward(x) -> (h, ε, logdet)``, ``inverse(h, ε) -> x``."""

    def __init__(self, channels: int, generator: Generator | None = None):
        super().__init__()
        if channels < 2 or channels % 2:
            raise ShapeError(f"Split: needs an even number of channels, got {channels}")
        self.channels = channels
        self.prior = nn.Conv2d(channels // 2, channels, 3, padding="same",
                               generator=generator or default_generator())
        self.prior.weight.data[...] = 0

    def _mean_log_std(self, h: Tensor) -> tuple[Tensor, Tensor]:
        p = self.prior(h)
        half = self.channels // 2
        return p[:, :half], p[:, half:]

    def forward(self, x) -> tuple[Tensor, Tensor, Tensor]:
        x = as_tensor(x)
        _image(self._describe(), x, self.channels)
        h, z = ops.split(x, 2, axis=1)
        mean, log_std = self._mean_log_std(h)
        eps = (z - mean) * ops.exp(-log_std)
        return h, eps, -log_std.sum(axis=(1, 2, 3))

    def inverse(self, h, eps) -> Tensor:
        h, eps = as_tensor(h), as_tensor(eps)
        mean, log_std = self._mean_log_std(h)
        return ops.concat([h, mean + eps * ops.exp(log_std)], axis=1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class Glow(nn.Module):
    """Glow on images of shape ``shape`` = (C, H, W): ``len(squeeze)`` levels, level i
    squeezing first when ``squeeze[i]``, then ``steps`` flow steps (an int, or one count per
    level; 0 is allowed, e.g. for a last level of one channel), ``hidden`` channels in
    each coupling net, ``affine`` or additive coupling, ``permutation`` as in
    :class:`FlowStep`), then a :class:`Split` (not after the last level). Pixels in [0, 1)
    are centred (x − ½) first, or, with ``logit`` = α, mapped by :class:`Logit` (α) with
    its log-det counted."""

    def __init__(self, shape: Sequence[int], squeeze: Sequence[bool] = (True, False),
                 steps: int | Sequence[int] = 4, hidden: int = 32, affine: bool = True,
                 permutation: str = "lu", generator: Generator | None = None,
                 logit: float | None = None):
        super().__init__()
        self.pre = None if logit is None else Logit(logit)
        c, h, w = (int(v) for v in shape)
        gen = generator or default_generator()
        self.shape, self.squeeze = (c, h, w), tuple(bool(s) for s in squeeze)
        counts = [steps] * len(self.squeeze) if isinstance(steps, int) else list(steps)
        if not self.squeeze or len(counts) != len(self.squeeze) or min(counts) < 0:
            raise ValueError(f"Glow: needs at least one level and a step count >= 0 per level; "
                             f"got squeeze={tuple(squeeze)}, steps={steps}")
        levels, splits = [], []
        for i, sq in enumerate(self.squeeze):
            if sq:
                if h % 2 or w % 2:
                    raise ShapeError(f"Glow: level {i} squeezes {c}×{h}×{w} images, which "
                                     "needs even height and width")
                c, h, w = 4 * c, h // 2, w // 2
            levels.append(nn.ModuleList(FlowStep(c, hidden, affine, permutation, gen)
                                        for _ in range(counts[i])))
            if i < len(self.squeeze) - 1:
                splits.append(Split(c, gen))
                c //= 2
        self.levels, self.splits = nn.ModuleList(levels), nn.ModuleList(splits)
        self.dims = int(np.prod(self.shape))

    def forward(self, x) -> tuple[list[Tensor], Tensor]:
        """x (B, C, H, W) in [0, 1) → (the ε of every split and the last level's output,
        the total log-det per image)."""
        x = as_tensor(x)
        _image("Glow", x, self.shape[0])
        if tuple(x.shape[1:]) != self.shape:
            raise ShapeError(f"Glow: expected images of shape (B, {', '.join(map(str, self.shape))}"
                             f"), got {x.shape}")
        if self.pre is None:
            x, total = x - 0.5, 0.0
        else:
            x, total = self.pre(x)
        zs = []
        for i, steps in enumerate(self.levels):
            if self.squeeze[i]:
                x = squeeze(x)
            for step in steps:
                x, logdet = step(x)
                total = total + logdet
            if i < len(self.splits):
                x, eps, logdet = self.splits[i](x)
                zs.append(eps)
                total = total + logdet
        zs.append(x)
        return zs, total

    def inverse(self, zs: Sequence) -> Tensor:
        """The images whose :meth:`forward` gives ``zs``."""
        x = as_tensor(zs[-1])
        for i in range(len(self.levels) - 1, -1, -1):
            if i < len(self.splits):
                x = self.splits[i].inverse(x, zs[i])
            for step in reversed(list(self.levels[i])):
                x = step.inverse(x)
            if self.squeeze[i]:
                x = unsqueeze(x)
        return x + 0.5 if self.pre is None else self.pre.inverse(x)

    def log_prob(self, x) -> Tensor:
        """log p(x) per image (nats): Σ log N(ε; 0, I) + Σ log-dets."""
        zs, logdet = self(x)
        base = sum(-0.5 * (z * z).sum(axis=(1, 2, 3)) for z in zs)
        return base - 0.5 * self.dims * LOG_2PI + logdet

    def latent_shapes(self, batch: int) -> list[tuple[int, ...]]:
        """Shapes of the ``zs`` of :meth:`forward` for ``batch`` images."""
        with no_grad():
            was = self.training
            self.eval()
            zs, _ = self(Tensor(np.full((1, *self.shape), 0.5, dtype=self._dtype())))
            self.train(was)
        return [(batch, *z.shape[1:]) for z in zs]

    def _dtype(self):
        return next(iter(self.parameters())).dtype

    def sample(self, n: int, temperature: float = 1.0,
               generator: Generator | None = None) -> Tensor:
        """n images from ε ~ N(0, T²I) (T = ``temperature``), without a graph."""
        gen = generator or default_generator()
        with no_grad():
            zs = [gen.normal(s, dtype=self._dtype()) * temperature
                  for s in self.latent_shapes(n)]
            return self.inverse(zs)


# -- training and evaluation -----------------------------------------------------------------

def eval_bits_per_dim(model: Glow, images: np.ndarray, levels: int = 256,
                      generator: Generator | None = None, batch: int = 500) -> np.ndarray:
    """Bits/dim of each integer image (N, C, H, W) in {0, …, levels − 1}, from one uniform
    dequantisation draw per image, in eval mode without a graph."""
    was = model.training
    model.eval()
    out = []
    with no_grad():
        for i in range(0, len(images), batch):
            x = dequantize(images[i:i + batch], levels, generator).astype(model._dtype())
            out.append(model.log_prob(Tensor(x)).numpy())
    model.train(was)
    return bits_per_dim(np.concatenate(out), model.dims, levels)


def train_glow(model: Glow, images: np.ndarray, steps: int, batch: int = 64, lr: float = 1e-3,
               levels: int = 256, warmup: int = 50, init_batch: int = 256, cosine: bool = True,
               generator: Generator | None = None) -> list[float]:
    """Maximum likelihood by Adam on integer images (N, C, H, W), freshly dequantised every
    step: ActNorm is initialised on ``init_batch`` images first; the learning rate rises
    linearly over ``warmup`` steps (as in the Glow code) and, with ``cosine``, then follows
    half a cosine down to a tenth (short runs end better when the steps get small). Returns
    the training bits/dim per step."""
    from ...optim import Adam

    gen = generator or default_generator()
    rng = np.random.default_rng(int(gen.integers(0, 2**31, 1).numpy()[0]))
    dtype = model._dtype()
    model.train()
    with no_grad():
        first = images[rng.permutation(len(images))[:init_batch]]
        model(Tensor(dequantize(first, levels, gen).astype(dtype)))
    opt = Adam(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        decay = 0.55 + 0.45 * math.cos(math.pi * step / steps) if cosine else 1.0
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / max(warmup, 1)) * decay
        x = Tensor(dequantize(images[rng.integers(0, len(images), batch)], levels,
                              gen).astype(dtype))
        nll = -model.log_prob(x).mean()
        opt.zero_grad()
        nll.backward()
        opt.step()
        losses.append(float(bits_per_dim(-nll.item(), model.dims, levels)))
    return losses


def fit_glow(data: str, model: dict, train: dict, seed: int = 0, untrained: bool = False
             ) -> dict:
    """One model of the Glow lesson, start to finish, with only plain values in and out (so
    that it can run in a worker process, :func:`tinygen.parallel.map_jobs`): load ``data``
    (an :func:`image_data` name), build ``Glow((1, side, side), **model)`` with a generator
    seeded by ``seed``, train it by ``train_glow(..., **train)`` (generator ``seed + 1``) and
    score every test image (:func:`eval_bits_per_dim`, generator ``seed + 2``).

    Returns ``bits`` (test bits/dim per image), ``losses`` (training bits/dim per step),
    ``untrained`` (with ``untrained=True``: the test bits/dim after ActNorm's data-dependent
    init alone, the same init that training then starts from; else None), ``state`` (the
    trained parameters and buffers as arrays, to load into the same ``Glow`` built with the
    same seed), ``params``, ``cpu_seconds`` (this process's CPU time for the whole job) and
    ``train_cpu_seconds`` (that of the training alone)."""
    t0 = time.process_time()
    images, test, levels = image_data(data)
    side = images.shape[-1]
    glow = Glow((1, side, side), **model, generator=Generator(seed))
    before = None
    if untrained:
        train_glow(glow, images, 0, levels=levels, generator=Generator(seed + 1))
        before = eval_bits_per_dim(glow, test, levels, generator=Generator(seed + 2))
    t1 = time.process_time()
    losses = train_glow(glow, images, levels=levels, generator=Generator(seed + 1), **train)
    trained = time.process_time() - t1
    bits = eval_bits_per_dim(glow, test, levels, generator=Generator(seed + 2))
    return {"bits": bits, "losses": np.asarray(losses), "untrained": before,
            "state": {name: t.numpy() for name, t in glow.state_dict().items()},
            "params": int(sum(p.size for p in glow.parameters())),
            "cpu_seconds": time.process_time() - t0, "train_cpu_seconds": trained}


def per_pixel_categorical_bits(train: np.ndarray, test: np.ndarray, levels: int = 256,
                               alpha: float = 0.5) -> np.ndarray:
    """The independent per-pixel baseline: each pixel its own categorical over ``levels``
    values, estimated from ``train`` counts with add-α smoothing; returns the exact bits/dim
    −(1/D)·Σ_i log₂ P_i(y_i) of each ``test`` image (no dequantisation needed)."""
    tr = np.asarray(train).reshape(len(train), -1).astype(np.int64)
    te = np.asarray(test).reshape(len(test), -1).astype(np.int64)
    d = tr.shape[1]
    counts = np.zeros((d, levels))
    np.add.at(counts, (np.broadcast_to(np.arange(d), tr.shape), tr), 1.0)
    probs = (counts + alpha) / (len(tr) + alpha * levels)
    return -np.log2(probs[np.arange(d), te]).mean(axis=1)
