"""Reductions at their edges: descending order on every integer dtype (−x wraps for unsigned
ints and the int minimum), and empty axes (the mathematical answer where there is one,
tinygen's own error otherwise)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygen as tg
from tinygen import functional as F
from tinygen.errors import ShapeError

ORDERED_DTYPES = ["bool", "uint8", "uint16", "uint64", "int8", "int64", "float32"]


def _values(dtype: str):
    """Arrays of ``dtype`` with many ties and the dtype's extremes."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        elements = st.booleans()
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        elements = st.sampled_from([int(info.min), int(info.min) + 1, 0, 1, 2,
                                    int(info.max) - 1, int(info.max)])
    else:
        elements = st.sampled_from([-np.inf, -1.0, 0.0, 1.0, 3e38, np.inf])
    return hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=2, max_side=5),
                      elements=elements)


@pytest.mark.parametrize("dtype", ORDERED_DTYPES)
@given(data=st.data())
def test_descending_sort_and_topk_on_every_dtype(dtype, data):
    x = data.draw(_values(dtype), label="x")
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    values, idx = tg.sort(tg.tensor(x), axis=axis, descending=True)
    moved = np.moveaxis(x, axis, -1)
    # stable descending order in exact (Python) arithmetic: ties keep their order
    want_idx = np.array([sorted(range(row.size), key=lambda i, r=row: -int(r[i])
                                if dtype != "float32" else -float(r[i]))
                         for row in moved.reshape(-1, moved.shape[-1])])
    want_idx = np.moveaxis(want_idx.reshape(moved.shape), -1, axis)
    np.testing.assert_array_equal(idx.numpy(), want_idx)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(x, want_idx, axis))
    assert values.dtype == x.dtype

    k = data.draw(st.integers(0, x.shape[axis]), label="k")
    top, top_idx = tg.topk(tg.tensor(x), k, axis=axis)
    np.testing.assert_array_equal(top_idx.numpy(), np.take(want_idx, range(k), axis))
    smallest, _ = tg.topk(tg.tensor(x), k, axis=axis, largest=False)
    np.testing.assert_array_equal(smallest.numpy(), np.take(np.sort(x, axis), range(k), axis))


def test_the_issue_examples():
    values, idx = tg.topk(tg.tensor(np.uint8([0, 3, 1, 2])), 2)
    assert values.tolist() == [3, 2] and idx.tolist() == [1, 3]
    assert tg.sort(tg.tensor(np.uint8([0, 3])), descending=True)[0].tolist() == [3, 0]
    assert tg.sort(tg.tensor(np.int8([-128, 5])), descending=True)[0].tolist() == [5, -128]


def test_logsumexp_of_an_empty_axis_is_minus_inf_with_a_zero_gradient():
    x = tg.zeros((2, 0), dtype="float64", requires_grad=True)
    y = tg.logsumexp(x, axis=1)
    np.testing.assert_array_equal(y.numpy(), [-np.inf, -np.inf])
    np.testing.assert_array_equal(tg.logsumexp(tg.zeros((0,))).numpy(), -np.inf)
    np.testing.assert_array_equal(tg.logsumexp(tg.zeros((2, 0)), axis=1, keepdims=True).numpy(),
                                  [[-np.inf], [-np.inf]])
    (g,) = [tg.grad(tg.sum(y), x)]
    assert g.shape == (2, 0)


def test_softmax_family_of_an_empty_axis():
    empty = tg.zeros((2, 0))
    for fn in (F.softmax, F.log_softmax, tg.log_softmax):
        assert fn(empty, axis=1).shape == (2, 0)
    np.testing.assert_array_equal(F.smooth_max(empty, 2.0).numpy(), [-np.inf, -np.inf])
    np.testing.assert_array_equal(F.smooth_min(empty, 2.0).numpy(), [np.inf, np.inf])
    for call in (lambda: F.kl_to_uniform(empty), lambda: F.categorical_kl(empty, empty),
                 lambda: F.smooth_argmax(empty, 2.0), lambda: F.gumbel_softmax(empty)):
        with pytest.raises(ShapeError, match="no classes on axis 1"):
            call()


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_of_an_empty_tensor_is_a_tinygen_error(name):
    fn = getattr(tg, name)
    with pytest.raises(ShapeError, match=f"{name}: the tensor of shape \\(0,\\) is empty"):
        fn(tg.zeros((0,)))
    with pytest.raises(ShapeError, match=f"{name}: axis 1 of shape \\(2, 0\\) is empty"):
        fn(tg.zeros((2, 0)), axis=1)
    assert fn(tg.zeros((0, 3)), axis=1).shape == (0,)  # nothing empty is reduced
