"""Shape primitives: they move values around, so each VJP moves the gradient back."""

from __future__ import annotations

from collections.abc import Sequence

from .. import backend
from ..autograd import Tensor, apply
from ..errors import ShapeError
from . import args as A


def reshape(x, *shape) -> Tensor:
    """The same values in a new shape (one entry may be −1)."""
    x = A.tensor("reshape", x)
    shape = A.shape("reshape", shape, fill=True)
    try:
        y = x.data.reshape(shape)
    except ValueError as e:
        raise ShapeError(f"reshape: cannot reshape {x.shape} ({x.size} values) "
                         f"into {shape}") from e
    return apply("reshape", y, [(x, lambda g, out: reshape(g, x.shape))])


def permute(x, *axes) -> Tensor:
    """Reorder the axes; the VJP applies the inverse permutation."""
    x = A.tensor("permute", x)
    axes = A.permutation("permute", axes, x.ndim, x.shape)
    inverse = tuple(sorted(range(x.ndim), key=axes.__getitem__))
    return apply("permute", x.data.transpose(axes), [(x, lambda g, out: permute(g, inverse))])


def transpose(x, axis0: int = -2, axis1: int = -1) -> Tensor:
    """Swap two axes (the last two by default; a 1-D or 0-D tensor is returned as it is)."""
    x = A.tensor("transpose", x)
    if x.ndim < 2:
        return x
    a = A.axis("transpose", axis0, x.ndim, "axis0", x.shape)
    b = A.axis("transpose", axis1, x.ndim, "axis1", x.shape)
    return apply("transpose", x.xp.swapaxes(x.data, a, b),
                 [(x, lambda g, out: transpose(g, a, b))])


def expand(x, *shape) -> Tensor:
    """Broadcast ``x`` to ``shape`` (a read-only view); the VJP sums back."""
    x = A.tensor("expand", x)
    shape = A.shape("expand", shape)
    try:
        y = x.xp.broadcast_to(x.data, shape)
    except ValueError as e:
        raise ShapeError(f"expand: shape {x.shape} cannot be broadcast to {shape}") from e
    return apply("expand", y, [(x, lambda g, out: g)])  # autograd sums g back to x.shape


def squeeze(x, axis: int | Sequence[int] | None = None) -> Tensor:
    """Drop axes of length 1 (all of them, or those named)."""
    x = A.tensor("squeeze", x)
    if axis is None:
        axes = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        axes = set(A.axes("squeeze", axis, x.ndim))
        bad = [a for a in axes if x.shape[a] != 1]
        if bad:
            raise ShapeError(f"squeeze: axis {bad[0]} of shape {x.shape} has length "
                             f"{x.shape[bad[0]]}, not 1")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x, axis: int) -> Tensor:
    """Insert an axis of length 1 at ``axis``."""
    x = A.tensor("unsqueeze", x)
    a = A.axis("unsqueeze", axis, x.ndim + 1)
    return reshape(x, x.shape[:a] + (1,) + x.shape[a:])


def concat(tensors: Sequence, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis; each input gets its slice of the gradient."""
    ts = A.tensors("concat", tensors)
    if not ts:
        raise ShapeError("concat: needs at least one tensor")
    xp = backend.xp_of(*(t.data for t in ts), op="concat")
    if ts[0].ndim == 0:
        raise ShapeError("concat: cannot join 0-d tensors; use stack")
    a = A.axis("concat", axis, ts[0].ndim, shape=ts[0].shape)
    for t in ts:
        if t.ndim != ts[0].ndim or t.shape[:a] + t.shape[a + 1:] != \
                ts[0].shape[:a] + ts[0].shape[a + 1:]:
            raise ShapeError(f"concat: shapes {[t.shape for t in ts]} differ off axis {a}")
    y = xp.concatenate([t.data for t in ts], axis=a)
    parents, start = [], 0
    for t in ts:
        key = (slice(None),) * a + (slice(start, start + t.shape[a]),)
        parents.append((t, lambda g, out, key=key: g[key]))
        start += t.shape[a]
    return apply("concat", y, parents)


def stack(tensors: Sequence, axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new axis (unsqueeze each, then concat)."""
    ts = A.tensors("stack", tensors)
    if not ts:
        raise ShapeError("stack: needs at least one tensor")
    if len({t.shape for t in ts}) > 1:
        raise ShapeError(f"stack: all shapes must match, got {[t.shape for t in ts]}")
    a = A.axis("stack", axis, ts[0].ndim + 1)
    return concat([unsqueeze(t, a) for t in ts], axis=a)


def split(x, sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """Cut ``x`` along ``axis`` into ``sections`` equal parts, or parts of the given sizes."""
    x = A.tensor("split", x)
    a = A.axis("split", axis, x.ndim, shape=x.shape)
    n = x.shape[a]
    if A.as_int(sections) is not None:
        sections = A.as_int(sections)
        if sections <= 0 or n % sections:
            raise ShapeError(f"split: axis {a} of length {n} does not split into "
                             f"{sections} equal parts")
        sizes = [n // sections] * sections
    else:
        sizes = list(A.shape("split", sections, "sections"))
        if sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} do not add up to {n} (axis {a} of {x.shape})")
    parts, start = [], 0
    for s in sizes:
        parts.append(x[(slice(None),) * a + (slice(start, start + s),)])
        start += s
    return parts


def pad(x, widths: Sequence, value: float = 0.0) -> Tensor:
    """Pad with a constant; ``widths`` is one (before, after) pair per axis, like np.pad."""
    x = A.tensor("pad", x)
    if not isinstance(widths, Sequence) or isinstance(widths, str) or len(widths) != x.ndim:
        raise ShapeError(f"pad: expected {x.ndim} non-negative (before, after) pairs for shape "
                         f"{x.shape}, got {A.describe(widths)}")
    widths = [A.sizes("pad", w, 2, f"widths[{i}]", 0, f"shape {x.shape}")
              for i, w in enumerate(widths)]
    value = A.number("pad", value, "value")
    y = x.xp.pad(x.data, widths, constant_values=value) if x.ndim else x.data.copy()
    key = tuple(slice(b, b + n) for (b, _), n in zip(widths, x.shape, strict=True))
    return apply("pad", y, [(x, lambda g, out: g[key])])


def flip(x, axis: int | Sequence[int] | None = None) -> Tensor:
    """Reverse the order along ``axis`` (all axes when None); the VJP flips back."""
    x = A.tensor("flip", x)
    axes = A.axes("flip", axis, x.ndim)
    return apply("flip", x.xp.flip(x.data, axes), [(x, lambda g, out: flip(g, axes))])


def repeat(x, repeats: int, axis: int) -> Tensor:
    """Repeat each entry ``repeats`` times along ``axis`` (like np.repeat with an int)."""
    x = A.tensor("repeat", x)
    a = A.axis("repeat", axis, x.ndim, shape=x.shape)
    repeats = A.integer("repeat", repeats, "repeats", minimum=0)
    y = x.xp.repeat(x.data, repeats, axis=a)
    grouped = x.shape[:a + 1] + (repeats,) + x.shape[a + 1:]
    return apply("repeat", y, [(x, lambda g, out: reshape(g, grouped).sum(axis=a + 1))])


def tile(x, reps: Sequence[int]) -> Tensor:
    """Repeat the whole tensor ``reps[i]`` times along axis i (len(reps) == ndim)."""
    x = A.tensor("tile", x)
    reps = A.shape("tile", reps, "reps")
    if len(reps) != x.ndim:
        raise ShapeError(f"tile: expected {x.ndim} non-negative repeat counts for shape "
                         f"{x.shape}, got {reps}")
    y = x.xp.tile(x.data, reps)
    grouped = tuple(v for r, n in zip(reps, x.shape, strict=True) for v in (r, n))
    rep_axes = tuple(range(0, 2 * x.ndim, 2))
    return apply("tile", y, [(x, lambda g, out: reshape(g, grouped).sum(axis=rep_axes))])
