"""tinygen: a small deep-learning library from first principles on NumPy (and CuPy).

Read it bottom-up: :mod:`tinygen.backend` (NumPy/CuPy seam), :mod:`tinygen.autograd` (Tensor
and reverse mode of any order), :mod:`tinygen.ops` (primitives), :mod:`tinygen.functional`
(composites, imported as ``F``), :mod:`tinygen.nn` (modules and layers).
"""

from . import backend, checkpoint, functional, nn, optim
from . import functional as F
from .autograd import (Tensor, detect_anomaly, enable_grad, get_default_dtype, grad,
                       is_grad_enabled, no_grad, set_default_dtype)
from .backend import cuda_available
from .creation import (arange, eye, full, full_like, linspace, ones, ones_like, tensor, zeros,
                       zeros_like)
from .errors import (AnomalyError, ArgumentError, DeviceError, DTypeError, IndexOutOfRange,
                     ShapeError, TinygenError)
from .ops import *  # noqa: F403
from .ops import __all__ as _ops_all
from .random import (Generator, default_generator, manual_seed, rand, rand_like, randn,
                     randn_like)

__version__ = "0.1.0"

__all__ = [
    "AnomalyError", "ArgumentError", "DTypeError", "DeviceError", "F", "Generator",
    "IndexOutOfRange", "ShapeError", "Tensor", "TinygenError", "arange", "backend",
    "cuda_available",
    "default_generator", "detect_anomaly", "enable_grad", "eye", "full", "full_like",
    "checkpoint", "functional", "get_default_dtype", "grad", "is_grad_enabled", "linspace",
    "manual_seed", "nn", "no_grad", "ones", "optim", "ones_like", "rand", "rand_like", "randn",
    "randn_like", "set_default_dtype", "tensor", "zeros", "zeros_like", *_ops_all,
]
