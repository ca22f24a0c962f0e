"""Seeded random numbers, one generator per device: same seed, same numbers.

On the CPU a :class:`Generator` wraps NumPy's PCG64; on CUDA, CuPy's RandomState. The module
keeps a default generator per device; :func:`manual_seed` reseeds them all. Continuous samples
come in every floating dtype (float16, float32, float64): both libraries draw only float32 and
float64, so float16 is drawn in float32 and rounded.
"""

from __future__ import annotations

import numpy as np

from . import backend
from .autograd import Tensor, get_default_dtype
from .errors import DTypeError, ShapeError, TinygenError


def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = shape[0]
    return tuple(int(s) for s in shape)


class Generator:
    """A seeded source of random tensors on one device."""

    def __init__(self, seed: int | None = None, device: str = "cpu"):
        self.device = backend.check_device(device)
        self.manual_seed(seed)

    def manual_seed(self, seed: int | None) -> Generator:
        """Restart the stream from ``seed`` (None: fresh entropy)."""
        self.initial_seed = seed
        if self.device == "cpu":
            self._rng = np.random.Generator(np.random.PCG64(seed))
        else:
            self._rng = backend.module_of_device("cuda").random.RandomState(seed)
        return self

    def _dtype(self, dtype) -> np.dtype:
        return np.dtype(dtype or get_default_dtype())

    def _floating(self, op: str, dtype) -> tuple[np.dtype, np.dtype]:
        """(the dtype asked for, the dtype to draw in: float32 or float64)."""
        dtype = self._dtype(dtype)
        if dtype.kind != "f":
            raise DTypeError(f"{op}: samples come in a floating dtype (float16, float32 or "
                             f"float64), got {dtype}")
        return dtype, np.dtype(np.float64 if dtype.itemsize >= 8 else np.float32)

    def normal(self, *shape, mean: float = 0.0, std: float = 1.0, dtype=None) -> Tensor:
        """Samples of N(mean, std²)."""
        dtype, draw = self._floating("normal", dtype)
        z = self._rng.standard_normal(_shape(shape), dtype=draw).astype(dtype, copy=False)
        return Tensor(z * std + mean if (mean, std) != (0.0, 1.0) else z)

    def uniform(self, *shape, low: float = 0.0, high: float = 1.0, dtype=None) -> Tensor:
        """Samples of U[low, high)."""
        dtype, draw = self._floating("uniform", dtype)
        if self.device == "cpu":
            u = self._rng.random(_shape(shape), dtype=draw)
        else:
            u = self._rng.random_sample(_shape(shape), dtype=draw)
        if draw != dtype:  # rounding may reach 1: keep the largest value below it instead
            u = backend.xp_of(u).minimum(u.astype(dtype), np.nextafter(dtype.type(1),
                                                                         dtype.type(0)))
        return Tensor(u * (high - low) + low if (low, high) != (0.0, 1.0) else u)

    def bernoulli(self, p, shape=None, dtype=None) -> Tensor:
        """0/1 samples that are 1 with probability ``p`` (a number or tensor of them)."""
        p_arr = p.data if isinstance(p, Tensor) else p
        shape = tuple(shape) if shape is not None else tuple(getattr(p_arr, "shape", ()))
        u = self.uniform(shape, dtype=np.float64).data
        return Tensor((u < p_arr).astype(self._dtype(dtype)))

    def gumbel(self, *shape, dtype=None) -> Tensor:
        """Standard Gumbel samples g = −log(−log U)."""
        dtype, _ = self._floating("gumbel", dtype)
        u = self.uniform(_shape(shape), dtype=dtype).data
        tiny = np.finfo(dtype).tiny
        xp = backend.xp_of(u)
        return Tensor(-xp.log(-xp.log(xp.clip(u, tiny, 1.0 - np.finfo(dtype).eps))))

    def categorical(self, logits, num_samples: int | None = None) -> Tensor:
        """Class indices drawn from softmax(``logits``) over the last axis (Gumbel-max trick).

        Returns shape ``logits.shape[:-1]`` or, with ``num_samples``, that plus (num_samples,).
        """
        a = logits.data if isinstance(logits, Tensor) else np.asarray(logits)
        if a.ndim == 0:
            raise ShapeError("categorical: logits need a class axis, got a 0-d value")
        shape = a.shape if num_samples is None else a.shape[:-1] + (num_samples, a.shape[-1])
        if num_samples is not None:
            a = a[..., None, :]
        g = self.gumbel(shape, dtype=np.float64).data
        return Tensor((a + g).argmax(axis=-1))

    def integers(self, low: int, high: int, *shape) -> Tensor:
        """Integers uniform in [low, high)."""
        if self.device == "cpu":
            return Tensor(self._rng.integers(low, high, _shape(shape)))
        return Tensor(self._rng.randint(low, high, _shape(shape)))

    def permutation(self, n: int) -> Tensor:
        """A random permutation of 0 … n−1."""
        return Tensor(self._rng.permutation(n))

    def state_dict(self) -> dict:
        """The generator's exact state, JSON-serialisable (CPU generators only)."""
        if self.device != "cpu":
            raise TinygenError("Generator.state_dict: saving the state of a CUDA generator is "
                               "not supported; reseed it with manual_seed instead")
        state = self._rng.bit_generator.state
        return {"device": self.device, "bit_generator": state["bit_generator"],
                "state": {k: int(v) for k, v in state["state"].items()},
                "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}

    def load_state_dict(self, state: dict) -> None:
        if state.get("device") != self.device or state.get("bit_generator") != "PCG64":
            raise TinygenError(f"Generator.load_state_dict: expected a PCG64 state for device "
                               f"{self.device!r}, got {state.get('bit_generator')!r} on "
                               f"{state.get('device')!r}")
        self._rng.bit_generator.state = {k: v for k, v in state.items() if k != "device"}


_defaults: dict[str, Generator] = {}


def default_generator(device: str = "cpu") -> Generator:
    """The module's generator for ``device`` (created on first use, seed None)."""
    device = backend.check_device(device)
    if device not in _defaults:
        _defaults[device] = Generator(None, device)
    return _defaults[device]


def manual_seed(seed: int) -> None:
    """Reseed the default generator of every device in use (and the CPU one always)."""
    for device in set(_defaults) | {"cpu"}:
        default_generator(device).manual_seed(seed)


def randn(*shape, dtype=None, device: str = "cpu", requires_grad: bool = False,
          generator: Generator | None = None) -> Tensor:
    """Standard normal samples of ``shape``."""
    t = (generator or default_generator(device)).normal(*shape, dtype=dtype)
    return t.requires_grad_(requires_grad)


def rand(*shape, dtype=None, device: str = "cpu", requires_grad: bool = False,
         generator: Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1) of ``shape``."""
    t = (generator or default_generator(device)).uniform(*shape, dtype=dtype)
    return t.requires_grad_(requires_grad)


def randn_like(x: Tensor, generator: Generator | None = None) -> Tensor:
    return randn(x.shape, dtype=x.dtype, device=x.device, generator=generator)


def rand_like(x: Tensor, generator: Generator | None = None) -> Tensor:
    return rand(x.shape, dtype=x.dtype, device=x.device, generator=generator)
