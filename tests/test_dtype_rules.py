"""The dtype rules of the README ("Rules worth knowing", Dtypes), held against NumPy's own.

Two tensors promote as ``np.result_type``. A Python scalar next to a tensor follows NumPy 2's
rule for Python scalars (NEP 50), with two departures: a float meeting a bool or integer tensor
gives the default float (NumPy: float64), and an int that the integer dtype cannot hold is a
DTypeError naming the op (NumPy 2: OverflowError). Every pair of kinds is checked: bool, int,
uint, float tensors against each other and against Python bools, ints and floats.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygen as tg
from tinygen.errors import DTypeError

TENSOR_DTYPES = ["bool", "int8", "int64", "uint8", "uint64", "float16", "float32", "float64"]
SCALARS = [True, False, 0, 3, -1, 127, 300, -129, 2**40, 2.5, -0.5, 1e30]
OPS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "maximum": np.maximum,
       "minimum": np.minimum, "div": np.true_divide}
VALUES = [0, 1, 1, 0]  # valid in every dtype


def _tinygen_dtype(numpy_dtype: np.dtype, tensor_dtype: np.dtype, scalar) -> np.dtype:
    """NumPy's result dtype with tinygen's one departure: a Python float meeting a bool or
    integer tensor gives the default float instead of float64."""
    if isinstance(scalar, float) and tensor_dtype.kind in "biu":
        return tg.get_default_dtype()
    return numpy_dtype


def _fits(value: int, dtype: np.dtype) -> bool:
    return dtype.kind not in "iu" or np.iinfo(dtype).min <= value <= np.iinfo(dtype).max


@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
@pytest.mark.parametrize("dtype", TENSOR_DTYPES)
@pytest.mark.parametrize("op", list(OPS))
def test_tensor_with_python_scalar_follows_numpy(op, dtype, scalar):
    dtype = np.dtype(dtype)
    array = np.array(VALUES, dtype=dtype)
    fn, np_fn = getattr(tg, op), OPS[op]
    for args, np_args in (((tg.tensor(array), scalar), (array, scalar)),
                          ((scalar, tg.tensor(array)), (scalar, array))):
        try:
            want = np_fn(*np_args)
        except OverflowError:  # NumPy 2: a Python int out of the integer dtype's range
            assert isinstance(scalar, int) and not _fits(scalar, dtype)
            with pytest.raises(DTypeError, match=f"{op}: the Python int {scalar} does not fit"):
                fn(*args)
            continue
        except TypeError:  # NumPy has no bool − bool; neither has tinygen
            with pytest.raises(TypeError):
                fn(*args)
            continue
        if op != "div":
            assert want.dtype == np.result_type(dtype, scalar)
        got = fn(*args)
        assert got.dtype == _tinygen_dtype(want.dtype, dtype, scalar), (args, got, want)
        with np.errstate(over="ignore"):
            np.testing.assert_allclose(got.numpy().astype(np.float64),
                                       want.astype(got.dtype).astype(np.float64), rtol=1e-6)


@pytest.mark.parametrize("b", TENSOR_DTYPES)
@pytest.mark.parametrize("a", TENSOR_DTYPES)
def test_two_tensors_promote_as_numpy_result_type(a, b):
    x, y = np.array(VALUES, dtype=a), np.array(VALUES[::-1], dtype=b)
    for op in ("add", "mul", "maximum", "minimum"):
        got = getattr(tg, op)(tg.tensor(x), tg.tensor(y))
        assert got.dtype == np.result_type(x.dtype, y.dtype), (op, a, b)
        np.testing.assert_array_equal(got.numpy(), OPS[op](x, y))


def test_the_issue_examples():
    np.testing.assert_array_equal(tg.add(tg.tensor([True, False]), 3).numpy(), [4, 3])
    np.testing.assert_allclose(tg.div(tg.tensor(True), 300).numpy(), 1 / 300)
    np.testing.assert_array_equal(tg.maximum(tg.tensor([True, False]), 3).numpy(), [3, 3])
    np.testing.assert_array_equal(tg.mul(tg.tensor([True, False]), 7).numpy(), [7, 0])
    assert (tg.tensor(np.uint8([250])) + 5).tolist() == [255]
    with pytest.raises(DTypeError, match="add: the Python int 300 does not fit a uint8"):
        tg.tensor(np.uint8([1])) + 300
    with pytest.raises(DTypeError, match="where: the Python int -1 does not fit a uint8"):
        tg.where(np.array([True]), tg.tensor(np.uint8([1])), -1)
    assert tg.add(True, 3).item() == 4  # two Python scalars: as tg.tensor(True) + 3


def test_numpy_scalars_count_as_python_scalars():
    """NumPy would let np.float64(2) promote a float32 array to float64; tinygen keeps the
    tensor's dtype (as for a Python float), so a float32 model stays float32."""
    x = tg.tensor(np.float32([1.0, 2.0]))
    assert (x * np.float64(2.0)).dtype == np.float32
    assert (tg.tensor(np.int8([1])) + np.int64(3)).dtype == np.int8
    with pytest.raises(DTypeError, match="add"):
        tg.tensor(np.uint8([1])) + np.int64(300)


def test_gradients_keep_their_dtype_with_scalars():
    x = tg.tensor(np.float16([1.0, 2.0]), requires_grad=True)
    tg.sum(x * 2.5 + 3).backward()
    assert x.grad.dtype == np.float16
    np.testing.assert_array_equal(x.grad.numpy(), [2.5, 2.5])
