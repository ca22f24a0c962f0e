"""Indexing: ``x[key]`` with basic and advanced keys, and its adjoint, a scatter-add.

The two are each other's VJP: the gradient of ``x[key]`` is the upstream gradient added into
zeros at ``key`` (repeated indices sum), and the gradient of that scatter is ``g[key]``. So
indexing is differentiable to any order. ``take_along_axis``/``gather`` are indexing with a
constructed advanced key, so they share the same pair.
"""

from __future__ import annotations

from .. import backend
from ..autograd import Tensor, apply, as_tensor, get_default_dtype
from ..errors import DTypeError, IndexOutOfRange, ShapeError


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
    parts = tuple(x.xp.asarray(k) if isinstance(k, list) else k.data if isinstance(k, Tensor)
                  else k for k in parts)
    taken = sum(_dims_taken(k) for k in parts)
    out, advanced, dim = [], False, 0
    for k in parts:
        if k is Ellipsis:
            dim += x.ndim - taken  # the dimensions that no other part indexes
        elif _is_mask(k):
            _check_mask(x, k, dim)
        dim += _dims_taken(k)
        if hasattr(k, "ndim") and k.ndim == 0 and k.dtype.kind in "iu":
            k = int(k)
        elif hasattr(k, "ndim") and hasattr(k, "dtype"):
            backend.xp_of(x.data, k, op="getitem")
            if k.dtype == bool:
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
    x = as_tensor(x)
    key, advanced = _normalise_key(x, key)
    try:
        y = x.data[key]
    except IndexError as e:
        raise IndexOutOfRange(f"getitem: {e} (tensor of shape {x.shape})") from e
    if not advanced:
        y = y.copy() if hasattr(y, "copy") else y  # a view would alias the input's memory
    return apply("getitem", y, [(x, lambda g, out: scatter_add(g, x.shape, key, advanced))])


def scatter_add(values, shape: tuple, key, advanced: bool = True) -> Tensor:
    """Zeros of ``shape`` with ``values`` added at ``key`` (repeated indices sum); VJP: g[key]."""
    values = as_tensor(values)
    xp = values.xp
    z = xp.zeros(shape, dtype=values.dtype)
    if advanced:
        backend.scatter_add(xp, z, key, values.data)
    else:
        z[key] = values.data
    return apply("scatter_add", z, [(values, lambda g, out: getitem(g, key))])


def take_along_axis(x, indices, axis: int) -> Tensor:
    """Pick entries along ``axis`` at ``indices`` (same ndim as ``x``), like
    ``np.take_along_axis``; built as advanced indexing so it shares its gradient."""
    x = as_tensor(x)
    idx = indices.data if isinstance(indices, Tensor) else x.xp.asarray(indices)
    if idx.ndim != x.ndim:
        raise ShapeError(f"take_along_axis: indices have {idx.ndim} dims, tensor of shape "
                         f"{x.shape} has {x.ndim}")
    a = axis % x.ndim
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
    idx = indices.data if isinstance(indices, Tensor) else as_tensor(indices).data
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: labels must be integers, got {idx.dtype}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_classes):
        raise IndexOutOfRange(f"one_hot: labels must lie in [0, {num_classes}), got range "
                              f"[{int(idx.min())}, {int(idx.max())}]")
    xp = backend.xp_of(idx)
    return Tensor((idx[..., None] == xp.arange(num_classes)).astype(dtype or get_default_dtype()))
