"""The one seam between NumPy and CuPy.

A tensor's device is wherever its array lives: a ``numpy.ndarray`` is on ``"cpu"``, a
``cupy.ndarray`` on ``"cuda"``. Every op asks :func:`xp_of` for the array module of its inputs,
so the same code runs on both; nothing global decides the device.
"""

from __future__ import annotations

import functools
import importlib
import os
from types import ModuleType

import numpy as np

from .errors import DeviceError

DEVICES = ("cpu", "cuda")
CUDA_HINT = 'install the cuda extra (pip install "tinygen[cuda]") on a machine with an NVIDIA GPU'


@functools.lru_cache(maxsize=1)
def _cupy() -> ModuleType | None:
    """CuPy if it imports and sees at least one real GPU, else None.

    Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) makes ``numba.cuda.is_available()``
    return True on a CPU-only machine, so detection asks the CUDA runtime through CuPy instead
    and never consults Numba.
    """
    if os.environ.get("TINYGEN_DISABLE_CUDA") == "1":
        return None
    try:
        import cupy
    except Exception:
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:
        return None
    return cupy


def cuda_available() -> bool:
    """True when CuPy is installed and a real CUDA GPU is present."""
    return _cupy() is not None


def cuda_simulator_active() -> bool:
    """True when Numba's CUDA simulator is switched on in this process's environment."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def check_device(device: str) -> str:
    """Validate a device name and its availability; return it normalised."""
    if not isinstance(device, str) or device.split(":")[0] not in DEVICES:
        raise DeviceError(f"unknown device {device!r}; expected one of {DEVICES}")
    device = device.split(":")[0]
    if device == "cuda" and not cuda_available():
        raise DeviceError(f"device 'cuda' is not available: {CUDA_HINT}")
    return device


def device_of(array) -> str:
    """``"cpu"`` for NumPy arrays (and scalars), ``"cuda"`` for CuPy arrays."""
    if isinstance(array, np.ndarray | np.generic):
        return "cpu"
    cp = _cupy()
    if cp is not None and isinstance(array, cp.ndarray):
        return "cuda"
    return "cpu"


def module_of_device(device: str) -> ModuleType:
    """The array module (``numpy`` or ``cupy``) for a device name."""
    return np if check_device(device) == "cpu" else _cupy()


def xp_of(*arrays, op: str = "op") -> ModuleType:
    """The array module shared by ``arrays``; a DeviceError names both devices if they differ."""
    for a in arrays:  # the common case, all NumPy, kept cheap (a loop beats all(...) here)
        if type(a) is not np.ndarray:
            break
    else:
        return np
    devices = {device_of(a) for a in arrays if a is not None and not isinstance(a, int | float)}
    if len(devices) > 1:
        raise DeviceError(f"{op}: inputs are on different devices {sorted(devices)}; "
                          "move them to one device with .to(device)")
    return _cupy() if devices == {"cuda"} else np


def kernels(xp: ModuleType, family: str) -> ModuleType:
    """The kernel module of ``family`` (``"conv"``, ``"crf"``, ``"gp"`` ...) for an array
    module: NumPy → ``tinygen.kernels.cpu`` (Numba ``njit``), CuPy → ``tinygen.kernels.cuda``."""
    where = "cpu" if xp is np else "cuda"
    return importlib.import_module(f"tinygen.kernels.{where}.{family}")


def to_device(array, device: str):
    """Copy ``array`` to ``device`` (a no-op when it is already there)."""
    device = check_device(device)
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    return _cupy().asarray(array)


def to_numpy(array) -> np.ndarray:
    """A NumPy view or copy of any array."""
    return array.get() if device_of(array) == "cuda" else np.asarray(array)


def special(xp: ModuleType) -> ModuleType:
    """``scipy.special`` or ``cupyx.scipy.special`` (for erf); SciPy comes with scikit-learn."""
    if xp is np:
        import scipy.special
        return scipy.special
    import cupyx.scipy.special
    return cupyx.scipy.special


def scatter_add(xp: ModuleType, target, index, values) -> None:
    """``target[index] += values`` with repeated indices summed (``np.add.at`` on each device)."""
    if xp is np:
        np.add.at(target, index, values)
    else:
        import cupyx
        cupyx.scatter_add(target, index, values)
