"""Making tensors: from data, filled, ranges, identity, and random (through a Generator)."""

from __future__ import annotations

import numpy as np

from . import backend
from .autograd import Tensor, as_array, get_default_dtype
from .errors import DTypeError


def tensor(data, dtype=None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (a number, nested list, NumPy or CuPy array,
    or Tensor). Python floats get the default dtype (float32); NumPy arrays keep theirs."""
    xp = backend.module_of_device(device)
    if isinstance(data, Tensor):
        data = data.data
    if backend.device_of(data) != device:
        data = backend.to_device(data, device) if hasattr(data, "dtype") else data
    array = as_array(data, dtype=dtype, xp=xp)
    if array is data:
        array = array.copy()
    if array.dtype.kind not in "biufc":
        raise DTypeError(f"tensor: unsupported dtype {array.dtype}")
    return Tensor(array, requires_grad=requires_grad)


def _filled(fill, shape, dtype, device, requires_grad) -> Tensor:
    xp = backend.module_of_device(device)
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
    return Tensor(xp.full(shape, fill, dtype=np.dtype(dtype or get_default_dtype())),
                  requires_grad=requires_grad)


def zeros(*shape, dtype=None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of ``shape``."""
    return _filled(0, shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of ones of ``shape``."""
    return _filled(1, shape, dtype, device, requires_grad)


def full(shape, value, dtype=None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` filled with ``value``."""
    return _filled(value, (tuple(shape),), dtype, device, requires_grad)


def _like(x: Tensor, fill, dtype, requires_grad) -> Tensor:
    return _filled(fill, (x.shape,), dtype or x.dtype, x.device, requires_grad)


def zeros_like(x: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _like(x, 0, dtype, requires_grad)


def ones_like(x: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _like(x, 1, dtype, requires_grad)


def full_like(x: Tensor, value, dtype=None, requires_grad: bool = False) -> Tensor:
    return _like(x, value, dtype, requires_grad)


def arange(start, stop=None, step=1, dtype=None, device: str = "cpu") -> Tensor:
    """Evenly spaced values in [start, stop) (integers stay integers)."""
    xp = backend.module_of_device(device)
    if stop is None:
        start, stop = 0, start
    if dtype is None and any(isinstance(v, float) for v in (start, stop, step)):
        dtype = get_default_dtype()
    return Tensor(xp.arange(start, stop, step, dtype=dtype))


def linspace(start: float, stop: float, num: int, dtype=None, device: str = "cpu") -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive."""
    xp = backend.module_of_device(device)
    return Tensor(xp.linspace(start, stop, num, dtype=np.dtype(dtype or get_default_dtype())))


def eye(n: int, m: int | None = None, dtype=None, device: str = "cpu") -> Tensor:
    """The identity matrix (n × m)."""
    xp = backend.module_of_device(device)
    return Tensor(xp.eye(n, m, dtype=np.dtype(dtype or get_default_dtype())))
