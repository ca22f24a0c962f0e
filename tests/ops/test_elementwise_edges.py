"""Elementwise ops that used to give wrong or misleading results instead of an error."""

from __future__ import annotations

import numpy as np
import pytest

import tinygen as tg
from tinygen.errors import DTypeError, ShapeError


@pytest.mark.parametrize("call, what", [
    (lambda x: tg.leaky_relu(x, slope=tg.tensor(0.1)), "leaky_relu: slope must be a real"),
    (lambda x: tg.leaky_relu(x, slope=np.array([0.1, 0.2])), "leaky_relu: slope"),
    (lambda x: tg.elu(x, alpha=tg.tensor(1.0)), "elu: alpha must be a real"),
])
def test_activation_parameters_must_be_numbers(call, what):
    """A tensor slope used to give an object-dtype tensor of tensors."""
    with pytest.raises(DTypeError, match=what):
        call(tg.tensor([1.0, -1.0]))
    assert tg.leaky_relu(tg.tensor([-1.0]), np.float32(0.5)).tolist() == [-0.5]


def test_cast_to_a_non_numeric_dtype_is_refused():
    with pytest.raises(DTypeError, match="cast: cannot cast to <U3"):
        tg.cast(tg.tensor([1.0, -1.0], requires_grad=True), "U3")
    with pytest.raises(DTypeError, match="cast: cannot cast to object"):
        tg.cast(tg.tensor([1.0]), object)


@pytest.mark.parametrize("dtype", ["int64", "uint8", "bool"])
def test_a_cast_to_an_integer_dtype_carries_no_gradient(dtype):
    x = tg.tensor([1.5, -0.5], dtype="float64", requires_grad=True)
    y = tg.cast(x, dtype)
    assert not y.requires_grad and y.is_leaf
    assert y.tolist() == np.array([1.5, -0.5]).astype(dtype).tolist()
    z = tg.cast(x, "float32")  # floating casts stay differentiable
    tg.sum(z * 2.0).backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("call", [lambda: tg.exp(None), lambda: tg.add(None, 1),
                                  lambda: tg.tensor([1.0]) * None, lambda: tg.sum(None)])
def test_none_is_not_a_number(call):
    """tg.exp(None) used to be NaN while tg.tensor(None) raised."""
    with pytest.raises(DTypeError, match="expected numbers, got NoneType"):
        call()


def test_integer_to_a_negative_integer_power_is_a_tinygen_error():
    """It used to say 'shapes () and () do not broadcast'."""
    with pytest.raises(DTypeError, match="pow: an integer base to a negative integer power"):
        tg.pow(0, -1)
    with pytest.raises(DTypeError, match="exponent -2"):
        tg.tensor([2, 3]) ** tg.tensor([1, -2])
    assert tg.pow(2, 3).item() == 8
    assert tg.pow(2.0, -1).item() == 0.5


def test_unbroadcastable_shapes_are_a_shape_error():
    a, b = tg.tensor([1.0, 2.0, 3.0]), tg.tensor([1.0, 2.0])
    with pytest.raises(ShapeError, match=r"add: shapes \(3,\) and \(2,\) do not broadcast"):
        a + b
    for op, name in [("__lt__", "lt"), ("__le__", "le"), ("__gt__", "gt"), ("__ge__", "ge"),
                     ("__eq__", "eq"), ("__ne__", "ne")]:
        with pytest.raises(ShapeError, match=rf"{name}: shapes \(3,\) and \(2,\) do not"):
            getattr(a, op)(b)
    with pytest.raises(ShapeError, match="lt: shapes"):
        a.__lt__([1.0, 2.0])
    assert (a < [2.0, 2.0, 2.0]).tolist() == [True, False, False]
    assert (tg.tensor(np.uint8([1, 200])) < 300).tolist() == [True, True]  # NumPy 2's compare
