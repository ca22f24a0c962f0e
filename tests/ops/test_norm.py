"""``standardize``: the one-primitive normalisation against its composed twin.

The op matrix (test_matrix.py) checks its first and second derivatives numerically; but a
second derivative goes through the twin (the VJPs differentiate it when a gradient is
recorded), so these tests hold the primitive and the twin to each other: forward, the
array-code VJPs, and the VJPs recorded with ``create_graph``.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tests.ops.test_matrix import standardize_kwargs, standardize_shapes
from tinygen.ops.norm import standardize_twin


@settings(deadline=None, max_examples=60)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]),
       eps=st.sampled_from([1e-5, 0.1]), affine=st.booleans())
def test_primitive_matches_twin(data, dtype, eps, affine):
    x_shape, w_shape, b_shape = data.draw(standardize_shapes(), label="shapes")
    axes = data.draw(standardize_kwargs([x_shape]), label="kwargs")["axes"]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    x = tg.tensor(rng.standard_normal(x_shape).astype(dtype), requires_grad=True)
    w = tg.tensor(rng.standard_normal(w_shape).astype(dtype), requires_grad=True)
    b = tg.tensor(rng.standard_normal(b_shape).astype(dtype), requires_grad=True)
    g = tg.tensor(rng.standard_normal(x_shape).astype(dtype))
    params = (w, b) if affine else (None, None)
    inputs = [x, w, b] if affine else [x]
    y = tg.standardize(x, axes, eps, *params)
    want = standardize_twin(x, axes, eps, *params)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
    assert y.dtype == want.dtype and y.shape == want.shape
    np.testing.assert_allclose(y.numpy(), want.numpy(), **tol)
    expected = tg.grad(want, inputs, grad_outputs=g, retain_graph=True)
    for create_graph in (False, True):
        got = tg.grad(tg.standardize(x, axes, eps, *params), inputs, grad_outputs=g,
                      create_graph=create_graph)
        for a, e in zip(got, expected, strict=True):
            assert a.shape == e.shape and a.dtype == e.dtype
            np.testing.assert_allclose(a.numpy(), e.numpy(), **tol)


def test_stats_are_the_batch_mean_and_biased_variance():
    x = np.random.default_rng(0).standard_normal((5, 3, 4))
    y, mu, var = tg.standardize(tg.tensor(x), (0, 2), 1e-5, stats=True)
    np.testing.assert_allclose(mu, x.mean(axis=(0, 2), keepdims=True))
    np.testing.assert_allclose(var, x.var(axis=(0, 2), keepdims=True))
    np.testing.assert_allclose(y.numpy(), (x - mu) / np.sqrt(var + 1e-5))


def test_second_derivative_through_batch_norm():
    """A gradient penalty through a batch-normalised layer: d/dw of ‖∂(Σ y²)/∂x‖² through
    the primitive equals that through the twin."""
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    w = tg.tensor(rng.standard_normal(3) + 1.5, requires_grad=True)

    def penalty_grad(fn):
        y = fn(x, (0,), 1e-5, w)
        (gx,) = tg.grad((y * y * y).sum(), [x], create_graph=True)
        return tg.grad((gx * gx).sum(), [w])[0].numpy()

    np.testing.assert_allclose(penalty_grad(tg.standardize), penalty_grad(standardize_twin),
                               rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("call, match", [
    (lambda x: tg.standardize(x, ()), "no axes"),
    (lambda x: tg.standardize(x, 3), "axis"),
    (lambda x: tg.standardize(x, 0, eps=-1.0), "eps must be ≥ 0"),
    (lambda x: tg.standardize(x, 0, eps="small"), "eps must be a real number"),
    (lambda x: tg.standardize(x, 0, weight=np.ones(4)), r"weight of shape \(4,\) does not"),
    (lambda x: tg.standardize(x, 0, bias=np.ones((2, 2, 3))), "bias of shape"),
    (lambda x: tg.standardize(tg.tensor(np.zeros((0, 3))), 0), "empty axis"),
    (lambda x: tg.standardize(x.numpy() + 1j, 0), "complex"),
])
def test_bad_arguments_are_named(call, match):
    x = tg.tensor(np.ones((2, 3)))
    with pytest.raises(tg.TinygenError, match=match) as info:
        call(x)
    assert "standardize" in str(info.value)


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_layout_takes_the_kernel(shape, dtype):
    """Normalised over every axis but 1 with per-channel γ and β: the Numba kernels run
    (forward and backward) and agree with the twin; other axes take the array code."""
    from tinygen.kernels.cpu import norm as K

    rng = np.random.default_rng(2)
    kept = (1, shape[1]) + (1,) * (len(shape) - 2)
    x = tg.tensor(rng.standard_normal(shape).astype(dtype) + 3, requires_grad=True)
    w = tg.tensor(rng.standard_normal(kept).astype(dtype), requires_grad=True)
    b = tg.tensor(rng.standard_normal(kept).astype(dtype), requires_grad=True)
    g = tg.tensor(rng.standard_normal(shape).astype(dtype))
    axes = (0,) + tuple(range(2, len(shape)))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
    with mock.patch.object(K, "batch_norm_forward", wraps=K.batch_norm_forward) as fwd, \
            mock.patch.object(K, "batch_norm_backward", wraps=K.batch_norm_backward) as bwd:
        y, mu, var = tg.standardize(x, axes, 1e-5, w, b, stats=True)
        got = tg.grad(y, [x, w, b], grad_outputs=g)
        assert fwd.call_count == 1 and bwd.call_count == 1
        tg.standardize(x, tuple(range(1, len(shape))), 1e-5, w, b)
        assert fwd.call_count == 1
    want = standardize_twin(x, axes, 1e-5, w, b)
    np.testing.assert_allclose(y.numpy(), want.numpy(), **tol)
    assert mu.dtype == dtype and var.dtype == dtype and mu.shape == kept
    np.testing.assert_allclose(var, x.numpy().var(axis=axes, keepdims=True), **tol)
    for a, e in zip(got, tg.grad(want, [x, w, b], grad_outputs=g), strict=True):
        assert a.shape == e.shape and a.dtype == e.dtype
        np.testing.assert_allclose(a.numpy(), e.numpy(), **tol)
