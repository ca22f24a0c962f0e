"""Fuzz: every public op, called with wrong and odd arguments, either works or raises one of
tinygen's own errors (which name the op, the argument, what it got and what it accepts).

The ops are enumerated from ``__all__`` of :mod:`tinygen` (those defined in the ops layer) and
of :mod:`tinygen.functional`, so a new op is covered without editing this file. Each argument
is drawn from a pool of tensors (0-d, zero-size, integer, bool, complex, float16, NaN, ±1e4),
numbers (NumPy scalars, NaN, ±1e4), strings, None, shapes and axis lists (duplicates, out of
range, ragged) and the parameter's default. Where a result requires a gradient, the gradient
is taken too. Any exception other than a :class:`tinygen.TinygenError`, or a TypeError from
binding the arguments to the op's signature, fails the test.

The ``ci`` profile runs a few dozen calls per op (a few thousand in all); ``intense`` ten
times as many.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import functional as F


def _public_ops() -> list[tuple[str, object]]:
    ops = [(f"tg.{name}", getattr(tg, name)) for name in tg.__all__
           if getattr(getattr(tg, name), "__module__", "").startswith("tinygen.ops")
           and inspect.isfunction(getattr(tg, name))]
    return ops + [(f"F.{name}", getattr(F, name)) for name in F.__all__]


OPS = _public_ops()

SHAPES = [(), (0,), (1,), (3,), (2, 3), (3, 1), (2, 0, 3), (1, 3, 1), (2, 3, 4), (2, 3, 5),
          (1, 2, 4, 4)]
DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8, np.bool_,
          np.complex128]
SPECIAL = [math.nan, 1e4, -1e4, 0.0, math.inf]


@st.composite
def tensors(draw):
    """A tensor of a drawn shape and dtype; floats may hold NaN, ±1e4, 0 or inf and may
    require a gradient."""
    shape = draw(st.sampled_from(SHAPES))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if dtype.kind in "iu":
        data = rng.integers(-2 if dtype.kind == "i" else 0, 5, size=shape)
    elif dtype.kind == "b":
        data = rng.random(shape) < 0.5
    else:
        data = rng.normal(size=shape) * draw(st.sampled_from([1.0, 1e4]))
        if data.size and draw(st.booleans()):
            data.flat[draw(st.integers(0, data.size - 1))] = draw(st.sampled_from(SPECIAL))
    data = data.astype(dtype)
    grad = dtype.kind == "f" and dtype.itemsize >= 4 and draw(st.booleans())
    return tg.tensor(data, requires_grad=grad)


SCALARS = [None, True, False, np.True_, 0, 1, 2, 3, -1, -2, 7, np.int64(1), np.int32(-1),
           np.uint8(2), 0.5, 1.5, -0.5, 0.0, math.nan, math.inf, 1e4, -1e4, np.float32(2.0),
           "a", "", "mean", "same", "valid", "nearest", "bilinear", "float32", np.float16,
           np.int64, Ellipsis, slice(0, 2), 1 + 2j, object()]
SEQUENCES = [(), (0,), (1,), (-1,), (0, 0), (0, 1), (1, 0), (2, 3), (3, 2), (-1, 6), (6, -1),
             (1, 2, 3), (0, 1, 2), (2, 1, 0), (0, 1, 1), (0, 5), (1.5, 2), ("a", 1), (None,),
             [0, 1], [2, 2], [[1, 2], [3]], [(1, 1), (0, 2)], [(0, 1)] * 3, [(1, 1)] * 4,
             [[0, 1], [1, 0]], np.array([0, 1]), np.array([0.5, 1.0]), np.array([[1, 0]]),
             np.zeros((2, 3)), np.arange(6).reshape(2, 3), (np.int64(1), np.int64(0))]


@st.composite
def values(draw):
    """Anything an argument might be given: a tensor, a list of tensors, a number, a string,
    a shape, an axis list, a NumPy array."""
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        return draw(tensors())
    if kind == 4:
        return draw(st.lists(tensors(), max_size=3))
    if kind == 5:
        return tg.tensor(draw(st.integers(-2, 3)))  # a 0-d integer tensor
    if kind <= 7:
        return draw(st.sampled_from(SCALARS))
    return draw(st.sampled_from(SEQUENCES))


@st.composite
def arguments(draw, fn):
    """Positional and keyword arguments for ``fn``: each parameter keeps its default or gets
    a drawn value; a rare extra keyword tests the signature check."""
    args, kwargs, positional = [], {}, True
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.VAR_KEYWORD:
            continue
        if p.kind is p.VAR_POSITIONAL:
            if positional:
                args += draw(st.lists(values(), max_size=3))
        elif p.default is not p.empty and draw(st.integers(0, 2)) == 0:
            positional = False  # left at its default: later arguments go by keyword
        elif positional and p.kind is p.POSITIONAL_OR_KEYWORD and draw(st.integers(0, 3)):
            args.append(draw(values()))
        else:
            positional = positional and p.kind is not p.POSITIONAL_OR_KEYWORD
            kwargs[p.name] = draw(values())
    if draw(st.integers(0, 30)) == 0:
        kwargs["not_a_parameter"] = 1
    return args, kwargs


def _outputs(result) -> list:
    items = result if isinstance(result, tuple | list) else [result]
    return [t for t in items if isinstance(t, tg.Tensor)]


def _leaves(args, kwargs) -> list:
    found = []
    for v in [*args, *kwargs.values()]:
        for t in (v if isinstance(v, list) else [v]):
            if isinstance(t, tg.Tensor) and t.requires_grad and t.is_leaf:
                found.append(t)
    return found


def _call(fn, args, kwargs) -> None:
    """Call ``fn`` and, where its result requires a gradient, take the gradient too."""
    try:
        inspect.signature(fn).bind(*args, **kwargs)
    except TypeError:
        with pytest.raises(TypeError):
            fn(*args, **kwargs)
        return
    with np.errstate(all="ignore"):
        try:
            out = _outputs(fn(*args, **kwargs))
            live = [tg.sum(o) for o in out if o.requires_grad]
            leaves = _leaves(args, kwargs)
            if live and leaves:
                tg.grad(live, leaves, allow_unused=True)
        except tg.TinygenError:
            pass


@pytest.mark.parametrize("name, fn", OPS, ids=[name for name, _ in OPS])
@given(data=st.data())
def test_op_raises_only_tinygen_errors(name, fn, data):
    """Wrong arguments give a TinygenError (or a signature TypeError); nothing else escapes."""
    args, kwargs = data.draw(arguments(fn))
    _call(fn, args, kwargs)


def test_the_ops_are_all_there():
    names = {name for name, _ in OPS}
    assert {"tg.sum", "tg.reshape", "tg.conv2d", "tg.crf_nll", "F.cross_entropy",
            "F.softmax"} <= names
    assert "tg.zeros" not in names and "tg.Tensor" not in names
