"""Indexing: ``x[key]`` with basic and advanced keys, and its adjoint, a scatter-add.

The two are each other's VJP: the gradient of ``x[key]`` is the upstream gradient added into
zeros at ``key`` (repeated indices sum), and the gradient of that scatter is ``g[key]``. So
indexing is differentiable to any order. ``take_along_axis``/``gather`` are indexing with a
constructed advanced key, so they share the same pair.
"""

from __future__ import annotations

from .. import backend
from ..autograd import Tensor, apply, get_default_dtype
from ..errors import DTypeError, IndexOutOfRange, ShapeError
from . import args as A


_BASIC = (int, slice, type(None), type(Ellipsis))  # exact types: a bool is no int here


def _dims_taken(k) -> int:
    """How many of the tensor's dimensions one key part indexes (a mask: its ndim)."""
    if k is None or k is Ellipsis or isinstance(k, bool):
        return 0
    return k.ndim if _is_mask(k) else 1


def _is_mask(k) -> bool:
    return getattr(getattr(k, "dtype", None), "kind", None) == "b"


def _check_mask(x: Tensor, mask, dim: int) -> None:
    """A boolean mask must have exactly the shape of the dimensions it indexes (NumPy's rule;
    its ``nonzero`` would otherwise accept a too-long mask with no True past the end)."""
    if mask.ndim and tuple(mask.shape) != tuple(x.shape[dim:dim + mask.ndim]):
        raise IndexOutOfRange(f"getitem: a boolean mask of shape {tuple(mask.shape)} indexes "
                              f"dimensions {tuple(x.shape[dim:dim + mask.ndim])} at axis {dim} "
                              f"of a tensor of shape {x.shape}; expected the same shape")


def _normalise_key(x: Tensor, key) -> tuple[tuple, bool]:
    """The key as a tuple of ints/slices/None/Ellipsis/arrays; boolean arrays become integer
    arrays (``nonzero``). Returns (key, whether it has advanced parts)."""
    parts = key if isinstance(key, tuple) else (key,)
    if all(type(k) in _BASIC for k in parts):
        return parts, False  # ints, slices, None, ...: NumPy checks them as it indexes
    parts = tuple((A.tensor("getitem", k, "index").data if k else x.xp.zeros(0, dtype=int))
                  if isinstance(k, list) else k.data if isinstance(k, Tensor) else k
                  for k in parts)
    taken = sum(_dims_taken(k) for k in parts)
    out, advanced, dim = [], False, 0
    for k in parts:
        if k is Ellipsis:
            dim += x.ndim - taken  # the dimensions that no other part indexes
        elif _is_mask(k):
            _check_mask(x, k, dim)
        dim += _dims_taken(k)
        if not (k is None or k is Ellipsis or isinstance(k, slice)
                or A.as_int(k) is not None or A.is_array(k)):
            raise IndexOutOfRange(f"getitem: an index must be an int, a slice, None, ..., or an "
                                  f"integer or boolean array, got {A.describe(k)}")
        if A.as_int(k) is not None:
            k = A.as_int(k)
        elif A.is_array(k):
            backend.xp_of(x.data, k, op="getitem")
            if k.dtype == bool:
                if k.ndim == 0:
                    raise IndexOutOfRange("getitem: a 0-d boolean index is not supported; use "
                                          "None for a new axis or a boolean array as a mask")
                out.extend(k.nonzero())
                advanced = True
                continue
            if k.dtype.kind not in "iu":
                raise DTypeError(f"getitem: index arrays must be integer or boolean, got {k.dtype}")
            advanced = True
        out.append(k)
    return tuple(out), advanced


def getitem(x, key) -> Tensor:
    """``x[key]``; the VJP scatters the gradient back (summing repeated indices)."""
    x = A.tensor("getitem", x)
    key, advanced = _normalise_key(x, key)
    try:
        y = x.data[key]
    except (IndexError, TypeError, ValueError) as e:
        raise IndexOutOfRange(f"getitem: {e} (tensor of shape {x.shape})") from e
    if not advanced:
        y = y.copy() if hasattr(y, "copy") else y  # a view would alias the input's memory
    return apply("getitem", y, [(x, lambda g, out: scatter_add(g, x.shape, key, advanced))])


def scatter_add(values, shape: tuple, key, advanced: bool = True) -> Tensor:
    """Zeros of ``shape`` with ``values`` added at ``key`` (repeated indices sum); VJP: g[key]."""
    values = A.tensor("scatter_add", values, "values")
    shape = A.shape("scatter_add", shape)
    key, has_arrays = _normalise_key(values, key)
    advanced = A.flag("scatter_add", advanced, "advanced") or has_arrays
    xp = values.xp
    z = xp.zeros(shape, dtype=values.dtype)
    try:
        if advanced:
            backend.scatter_add(xp, z, key, values.data)
        else:
            z[key] = values.data
    except (IndexError, TypeError, ValueError) as e:
        raise IndexOutOfRange(f"scatter_add: values of shape {values.shape} do not fit at key "
                              f"{A.describe(key)} of a tensor of shape {shape}: {e}") from e
    return apply("scatter_add", z, [(values, lambda g, out: getitem(g, key))])


def take_along_axis(x, indices, axis: int) -> Tensor:
    """Pick entries along ``axis`` at ``indices`` (same ndim as ``x``), like
    ``np.take_along_axis``; built as advanced indexing so it shares its gradient."""
    x = A.tensor("take_along_axis", x)
    idx = A.index_array("take_along_axis", indices, x)
    if idx.ndim != x.ndim or x.ndim == 0:
        raise ShapeError(f"take_along_axis: indices have {idx.ndim} dims, tensor of shape "
                         f"{x.shape} has {x.ndim}; expected equal dims, at least 1")
    a = A.axis("take_along_axis", axis, x.ndim, shape=x.shape)
    if any(m != n and 1 not in (m, n) for i, (m, n) in enumerate(zip(idx.shape, x.shape))
           if i != a):
        raise ShapeError(f"take_along_axis: indices of shape {idx.shape} do not broadcast "
                         f"against the tensor's shape {x.shape} off axis {a}")
    key = []
    for i, n in enumerate(x.shape):
        if i == a:
            key.append(idx)
        else:
            shape = [1] * x.ndim
            shape[i] = n
            key.append(x.xp.arange(n).reshape(shape))
    return getitem(x, tuple(key))


gather = take_along_axis


def one_hot(indices, num_classes: int, dtype=None) -> Tensor:
    """Integer labels (any shape) → one-hot vectors on a new last axis of ``num_classes``."""
    idx = A.tensor("one_hot", indices, "labels").data
    num_classes = A.integer("one_hot", num_classes, "num_classes", minimum=0)
    dtype = get_default_dtype() if dtype is None else A.dtype("one_hot", dtype)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: labels must be integers, got {idx.dtype}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_classes):
        raise IndexOutOfRange(f"one_hot: labels must lie in [0, {num_classes}), got range "
                              f"[{int(idx.min())}, {int(idx.max())}]")
    xp = backend.xp_of(idx)
    return Tensor((idx[..., None] == xp.arange(num_classes)).astype(dtype))
