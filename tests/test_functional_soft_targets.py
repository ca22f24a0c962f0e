"""F.soft_cross_entropy: cross-entropy against target distributions (mixup's blended labels),
checked against SciPy, against F.cross_entropy on one-hot targets, by first- and
second-order gradient checks in float64, and on its errors."""

import numpy as np
import pytest
import scipy.special
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tests.conftest import DEVICES
from tinygen import F
from tinygen.errors import ShapeError
from tinygen.testing import arrays, check_grads, shapes

device_param = pytest.mark.parametrize("device", DEVICES)


def T(a, device: str = "cpu") -> tg.Tensor:
    return tg.tensor(np.asarray(a), dtype=np.float64, device=device)


@st.composite
def cases(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    q = scipy.special.softmax(draw(arrays(shape)), axis=axis)
    return dict(logits=draw(arrays(shape)), q=q, axis=axis,
                reduction=draw(st.sampled_from(["mean", "sum", "none"])))


def reference(logits, q, axis, reduction):
    loss = -(q * scipy.special.log_softmax(logits, axis=axis)).sum(axis=axis)
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


@device_param
@given(case=cases())
def test_soft_cross_entropy_matches_scipy(device, case):
    out = F.soft_cross_entropy(T(case["logits"], device), T(case["q"], device),
                               axis=case["axis"], reduction=case["reduction"])
    np.testing.assert_allclose(out.numpy(), reference(**case), rtol=1e-10, atol=1e-12)


@device_param
@given(case=cases(), data=st.data())
def test_soft_cross_entropy_one_hot_is_cross_entropy(device, case, data):
    axis = case["axis"] % case["logits"].ndim
    k = case["logits"].shape[axis]
    labels = data.draw(st.lists(st.integers(0, k - 1), min_size=case["q"].size // k,
                                max_size=case["q"].size // k))
    batch = case["logits"].shape[:axis] + case["logits"].shape[axis + 1:]
    labels = np.asarray(labels, dtype=np.int64).reshape(batch)
    one_hot = np.moveaxis(np.eye(k)[labels], -1, axis)
    soft = F.soft_cross_entropy(T(case["logits"], device), T(one_hot, device), axis=axis,
                                reduction=case["reduction"])
    hard = F.cross_entropy(T(case["logits"], device), tg.tensor(labels, device=device),
                           axis=axis, reduction=case["reduction"])
    np.testing.assert_allclose(soft.numpy(), hard.numpy(), rtol=1e-10, atol=1e-12)


@device_param
@given(case=cases())
def test_soft_cross_entropy_gradients(device, case):
    """Order 1 and 2, in the logits and in the target distribution."""
    check_grads(lambda z, q: F.soft_cross_entropy(z, q, axis=case["axis"],
                                                  reduction=case["reduction"]),
                [T(case["logits"], device), T(case["q"], device)], order=2,
                name="soft_cross_entropy")


@pytest.mark.parametrize("logits, target, kwargs, error, message", [
    (np.zeros((2, 3)), np.zeros((2, 4)), {}, ShapeError, r"target of shape \(2, 4\) for "
     r"logits of shape \(2, 3\)"),
    (np.zeros(()), np.zeros(()), {}, ShapeError, r"logits of shape \(\) have no class axis"),
    (np.zeros((2, 3)), np.zeros((2, 3)), {"axis": 2}, ShapeError, "axis 2 is out of range"),
    (np.zeros((2, 3)), np.zeros((2, 3)), {"reduction": "avg"}, ValueError,
     "reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
])
def test_soft_cross_entropy_errors(logits, target, kwargs, error, message):
    with pytest.raises(error, match=r"soft_cross_entropy: " + message):
        F.soft_cross_entropy(T(logits), T(target), **kwargs)
