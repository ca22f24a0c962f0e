"""Initialisers: functions that fill a tensor in place (and return it), from a seeded generator.

Fans. Weights use Keras' layout, inputs before outputs: a dense weight is (fan_in, fan_out) and
a convolution kernel (k₁, …, kₙ, in, out), whose fans are multiplied by the receptive field
k₁·…·kₙ. A vector has fan_in = fan_out = its length.

Variance targets (n = fan_in, m = fan_out):
  glorot / xavier   Var = 2/(n + m)   uniform on ±√(6/(n + m)), or normal  (Glorot & Bengio, 2010)
  he / kaiming      Var = 2/n         uniform on ±√(6/n), or normal        (He et al., 2015)
  orthogonal        W Wᵀ = I (or WᵀW = I), from the QR decomposition of a Gaussian matrix
                    (Saxe et al., 2014)
A ``gain`` multiplies the standard deviation. Random numbers come from ``generator`` (default:
the default generator of the tensor's device), so a seed fixes the initial weights.
"""

from __future__ import annotations

import math

from ..autograd import Tensor
from ..errors import DeviceError, ShapeError
from ..random import Generator, default_generator

__all__ = ["constant_", "fans", "glorot_normal_", "glorot_uniform_", "he_normal_", "he_uniform_",
           "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_", "orthogonal_", "uniform_",
           "xavier_normal_", "xavier_uniform_", "zeros_"]


def fans(shape: tuple) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape`` (see the module docstring for the layout)."""
    shape = tuple(shape)
    if len(shape) == 0:
        raise ShapeError("fans: a 0-d tensor has no fan-in or fan-out")
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _generator(t: Tensor, generator: Generator | None) -> Generator:
    gen = generator if generator is not None else default_generator(t.device)
    if gen.device != t.device:
        raise DeviceError(f"init: the generator is on {gen.device!r} but the tensor (shape "
                          f"{t.shape}) is on {t.device!r}")
    return gen


def _fill(t: Tensor, values) -> Tensor:
    t.data[...] = values.data if isinstance(values, Tensor) else values
    return t


def constant_(t: Tensor, value: float) -> Tensor:
    return _fill(t, value)


def zeros_(t: Tensor) -> Tensor:
    return _fill(t, 0)


def ones_(t: Tensor) -> Tensor:
    return _fill(t, 1)


def uniform_(t: Tensor, low: float = -0.05, high: float = 0.05,
             generator: Generator | None = None) -> Tensor:
    """U[low, high) (Keras' default range for embeddings)."""
    return _fill(t, _generator(t, generator).uniform(t.shape, low=low, high=high, dtype=t.dtype))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    """N(mean, std²)."""
    return _fill(t, _generator(t, generator).normal(t.shape, mean=mean, std=std, dtype=t.dtype))


def glorot_uniform_(t: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """U[−a, a] with a = gain·√(6/(fan_in + fan_out)), so Var = gain²·2/(fan_in + fan_out)."""
    n, m = fans(t.shape)
    a = gain * math.sqrt(6.0 / (n + m))
    return uniform_(t, -a, a, generator)


def glorot_normal_(t: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """N(0, σ²) with σ = gain·√(2/(fan_in + fan_out))."""
    n, m = fans(t.shape)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (n + m)), generator)


def _fan(t: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fans(t.shape)[0 if mode == "fan_in" else 1]


def he_uniform_(t: Tensor, mode: str = "fan_in", generator: Generator | None = None) -> Tensor:
    """U[−a, a] with a = √(6/fan), so Var = 2/fan: keeps the activations' scale through ReLUs."""
    a = math.sqrt(6.0 / _fan(t, mode))
    return uniform_(t, -a, a, generator)


def he_normal_(t: Tensor, mode: str = "fan_in", generator: Generator | None = None) -> Tensor:
    """N(0, 2/fan)."""
    return normal_(t, 0.0, math.sqrt(2.0 / _fan(t, mode)), generator)


def orthogonal_(t: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """A (scaled) orthogonal matrix: the Q of the QR decomposition of a Gaussian matrix, with
    the signs of R's diagonal moved into Q so that Q is uniformly distributed. The tensor is
    seen as (prod(shape[:-1]), shape[-1]); its rows (if fewer) or columns are orthonormal."""
    if t.ndim < 2:
        raise ShapeError(f"orthogonal_: needs at least 2 dimensions, got shape {t.shape}")
    rows, cols = math.prod(t.shape[:-1]), t.shape[-1]
    a = _generator(t, generator).normal(max(rows, cols), min(rows, cols), dtype="float64").data
    q, r = t.xp.linalg.qr(a)
    q = q * t.xp.sign(t.xp.diag(r))
    if rows < cols:
        q = q.T
    return _fill(t, gain * q.reshape(t.shape))


xavier_uniform_ = glorot_uniform_
xavier_normal_ = glorot_normal_
kaiming_uniform_ = he_uniform_
kaiming_normal_ = he_normal_
