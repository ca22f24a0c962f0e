"""Argument normalisers shared by every op: an op's arguments go through one of these before
any array is touched, so a wrong argument gives a tinygen error that names the op, the
argument, what it got and what it accepts, never NumPy's or Python's internals.

What is accepted (the README's "Rules worth knowing" says the same):

* an **int** (an axis, a size, one entry of a shape) is a Python int, a NumPy integer or a 0-d
  integer tensor or array; bools and floats (even 2.0) are refused;
* an **axis** is such an int in [−ndim, ndim); **axes** are None (all), one axis, or a
  sequence or 1-d integer tensor of distinct axes;
* a **shape** is ints given one by one (``reshape(x, 2, 3)``), a sequence of ints or a 1-d
  integer tensor, each ≥ 0 (``reshape`` also takes one −1);
* a **flag** (``keepdims``, ``descending`` ...) is a bool or ``np.bool_``;
* a **number** (a slope, an eps, a fill value) is a real Python or NumPy number (not a
  tensor: it would get no gradient);
* a **dtype** is anything ``np.dtype`` takes that names a bool, integer, float or complex type;
* an **index array** is an integer tensor, array, list or int.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .. import backend
from ..autograd import Tensor, as_tensor, get_default_dtype, ragged_problem
from ..errors import ArgumentError, DTypeError, ShapeError, TinygenError

_INT = "an int (a Python int, a NumPy integer or a 0-d integer tensor)"


def is_array(value) -> bool:
    """A NumPy/CuPy array or scalar (not a Tensor, not a type such as np.float32)."""
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, type)


def describe(value) -> str:
    """What was passed, briefly: a tensor's or array's shape and dtype, else its repr."""
    if isinstance(value, Tensor):
        return f"a tensor of shape {value.shape} and dtype {value.dtype}"
    if is_array(value):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_int(value) -> int | None:
    """``value`` as a Python int if it is an integer (not a bool), else None."""
    if type(value) is int:  # the common case, checked first: this runs for every dimension
        return value
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    data = value.data if isinstance(value, Tensor) else value
    if is_array(data) and data.ndim == 0 and data.dtype.kind in "iu":
        return int(data)
    return None


def _int_list(value) -> list | None:
    """The items of a sequence or 1-d integer tensor/array, or None for anything else."""
    data = value.data if isinstance(value, Tensor) else value
    if is_array(data):
        if data.ndim != 1 or data.dtype.kind not in "iu":
            return None
        return [int(v) for v in data.tolist()]
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        return list(data)
    return None


def _unpack(value):
    """The one sequence inside varargs like ``((2, 3),)``; anything else unchanged."""
    if isinstance(value, tuple) and len(value) == 1 and as_int(value[0]) is None:
        return value[0]
    return value


def tensors(op: str, value, what: str = "tensors") -> list[Tensor]:
    """A list or tuple of tensors (each through :func:`tensor`)."""
    if not isinstance(value, list | tuple):
        raise ShapeError(f"{op}: {what} must be a list or tuple of tensors, got "
                         f"{describe(value)}")
    return [tensor(op, v, f"{what}[{i}]") for i, v in enumerate(value)]


def integer(op: str, value, what: str, minimum: int | None = None) -> int:
    """One int, at least ``minimum`` when given (a size, a count, a number of classes)."""
    n = as_int(value)
    if n is None:
        raise ShapeError(f"{op}: {what} must be {_INT}, got {describe(value)}")
    if minimum is not None and n < minimum:
        kind = "positive" if minimum == 1 else f"at least {minimum}"
        raise ShapeError(f"{op}: {what} must be {kind}, got {n}")
    return n


def axis(op: str, value, ndim: int, what: str = "axis", shape: tuple | None = None) -> int:
    """One axis of a tensor with ``ndim`` dims, as a non-negative int."""
    a = as_int(value)
    if a is None:
        raise ShapeError(f"{op}: {what} must be {_INT}, got {describe(value)}")
    if not -ndim <= a < ndim:
        where = "" if shape is None else f" (shape {tuple(shape)})"
        valid = f"an int in [{-ndim}, {ndim})" if ndim else "no axis at all"
        raise ShapeError(f"{op}: {what} {a} is out of range for a tensor with {ndim} dims"
                         f"{where}; expected {valid}")
    return a % ndim


def axes(op: str, value, ndim: int, what: str = "axis") -> tuple[int, ...]:
    """None (all axes), one axis, or distinct axes, as a sorted tuple of non-negative ints.
    A 0-d tensor takes axis 0 or −1 (nothing to reduce), as NumPy's reductions do."""
    if value is None:
        return tuple(range(ndim))
    single = as_int(value)
    items = [value] if single is not None else _int_list(value)
    if items is None:
        raise ShapeError(f"{op}: {what} must be None, {_INT} or a sequence of ints, got "
                         f"{describe(value)}")
    out = [axis(op, a, ndim or 1, what) for a in items]
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {what} {describe(value)}")
    return tuple(sorted(out)) if ndim else ()


def permutation(op: str, value, ndim: int, shape: tuple) -> tuple[int, ...]:
    """A reordering of all ``ndim`` axes (negative axes count from the end); ``value`` may be
    the ``*axes`` varargs of ``permute(x, 1, 0)``."""
    value = _unpack(value)
    items = _int_list(value)
    ok = items is not None and len(items) == ndim and all(
        as_int(a) is not None and -ndim <= as_int(a) < ndim for a in items)
    perm = tuple(as_int(a) % ndim for a in items) if ok else ()
    if not ok or sorted(perm) != list(range(ndim)):
        raise ShapeError(f"{op}: {describe(value)} is not a permutation of the {ndim} axes "
                         f"of {tuple(shape)}; expected each of 0..{ndim - 1} once")
    return perm


def shape(op: str, value, what: str = "shape", fill: bool = False) -> tuple[int, ...]:
    """A shape: ints, a sequence of ints or a 1-d integer tensor, each ≥ 0 (one may be −1 when
    ``fill``). ``value`` may also be the ``*shape`` varargs of ``f(x, 2, 3)``."""
    rule = "each ≥ 0" + (" (or one −1)" if fill else "")
    if type(value) is tuple and len(value) == 1 and type(value[0]) is tuple:
        value = value[0]  # the varargs of ``reshape(x, (2, 3))``
    if type(value) is tuple and all(type(d) is int for d in value):
        dims = value  # the common case, a tuple of plain ints: only the range checks below
    else:
        value = _unpack(value)
        items = [value] if as_int(value) is not None else _int_list(value)
        dims = None if items is None else [as_int(v) for v in items]
        if dims is None or None in dims:
            raise ShapeError(f"{op}: {what} must be ints, a sequence of ints or a 1-d integer "
                             f"tensor ({rule}), got {describe(value)}")
    if any(d < -1 or (d == -1 and not fill) for d in dims) or dims.count(-1) > 1:
        raise ShapeError(f"{op}: {what} {tuple(dims)} must have {rule}")
    return tuple(dims)


def sizes(op: str, value, n: int, what: str, minimum: int, context: str = "") -> tuple[int, ...]:
    """An int or ``n`` ints, each at least ``minimum`` (a stride, a padding, a kernel size)."""
    items = [value] * n if as_int(value) is not None else _int_list(value)
    ints = None if items is None or len(items) != n else [as_int(v) for v in items]
    if ints is None or None in ints or any(v < minimum for v in ints):
        kind = "positive" if minimum >= 1 else "non-negative"
        extra = f" ({context})" if context else ""
        raise ShapeError(f"{op}: {what} must be a {kind} int or {n} {kind} ints, got "
                         f"{describe(value)}{extra}")
    return tuple(ints)


def flag(op: str, value, what: str) -> bool:
    """A bool (``np.bool_`` too)."""
    if not isinstance(value, bool | np.bool_):
        raise ArgumentError(f"{op}: {what} must be True or False, got {describe(value)}")
    return bool(value)


def number(op: str, value, what: str) -> float:
    """A real Python or NumPy number as a float; NaN passes. A tensor is refused: as a
    parameter of an op it would get no gradient."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ArgumentError(f"{op}: {what} must be a real number, got {describe(value)}")
    return float(value)


def choice(op: str, value, what: str, options: Sequence[str]) -> str:
    """One of the strings ``options``."""
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ArgumentError(f"{op}: {what} must be one of {listed}, got {describe(value)}")
    return value


def dtype(op: str, value, what: str = "dtype") -> np.dtype:
    """A bool, integer, float or complex dtype (a np.dtype, a type or a name like "float32")."""
    if value is None or isinstance(value, Tensor) or is_array(value):
        raise DTypeError(f"{op}: {what} must be a dtype such as np.float32 or 'int64', got "
                         f"{describe(value)}")
    try:
        dt = np.dtype(value)
    except (TypeError, ValueError) as e:
        raise DTypeError(f"{op}: {what} must be a dtype such as np.float32 or 'int64', got "
                         f"{describe(value)}") from e
    if dt.kind not in "biufc":
        raise DTypeError(f"{op}: cannot cast to {dt}; expected a bool, integer, floating or "
                         f"complex {what}")
    return dt


def tensor(op: str, value, what: str = "input", like: Tensor | None = None) -> Tensor:
    """A numeric Tensor from a Tensor, array, number or (non-ragged) nested list; Python
    scalars take ``like``'s dtype and device."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, str | bytes) or not (isinstance(value, numbers.Number | Sequence)
                                              or is_array(value)):
        raise DTypeError(f"{op}: {what} must be a tensor, an array, a number or a nested list "
                         f"of numbers (expected numbers, got {type(value).__name__}: "
                         f"{describe(value)})")
    if backend.device_of(value) != "cpu":
        return tensor(op, Tensor(value), what)
    try:
        t = as_tensor(value, like=like, op=op)
    except (TinygenError, TypeError, ValueError, OverflowError) as e:
        problem = ragged_problem(value) if isinstance(value, list | tuple) else None
        if isinstance(e, TinygenError) and problem is None:
            raise
        raise ShapeError(f"{op}: {what} {describe(value)} is not a rectangular array of "
                         f"numbers ({problem or 'a ragged list?'})") from e
    if t.dtype.kind not in "biufc":
        raise DTypeError(f"{op}: {what} must hold numbers, got dtype {t.dtype} "
                         f"({describe(value)})")
    return t


def floating(op: str, value, what: str = "input", kernel: bool = False) -> Tensor:
    """A floating Tensor: bool and integer inputs become the default float dtype (complex
    stays complex). ``kernel=True`` is for ops backed by a Numba kernel, which takes float32
    and float64 only: float16 is widened to float32 and complex is refused."""
    t = tensor(op, value, what)
    if t.dtype.kind in "biu":  # integers carry no gradient: a plain conversion will do
        t = Tensor(t.data.astype(get_default_dtype()))
    if kernel:
        if t.dtype.kind == "c":
            raise DTypeError(f"{op}: {what} is complex ({t.dtype}); this op takes real "
                             "float32 or float64 tensors")
        if t.dtype.itemsize < 4:
            from .elementwise import cast  # differentiable; elementwise imports this module
            t = cast(t, np.float32)
    return t


def index_array(op: str, value, like: Tensor, what: str = "indices"):
    """An integer index array on ``like``'s device, from a tensor, array, list or int."""
    data = tensor(op, value, what).data
    backend.xp_of(like.data, data, op=op)
    if data.dtype.kind not in "iu":
        raise DTypeError(f"{op}: {what} must be integers, got dtype {data.dtype}")
    return data
