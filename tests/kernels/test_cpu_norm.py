"""The Numba batch-norm kernels on raw arrays, against the formulas in float64 NumPy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygen.kernels.cpu import norm as K

DTYPES = hnp.floating_dtypes(sizes=(32, 64), endianness="=")


def _reference(x, g, gamma, beta, eps):
    x, g = x.astype(np.float64), g.astype(np.float64)
    mu = x.mean(axis=(0, 2), keepdims=True)
    var = x.var(axis=(0, 2), keepdims=True)
    xhat = (x - mu) / np.sqrt(var + eps)
    y = xhat * gamma[:, None] + beta[:, None]
    gh = g * gamma[:, None]
    dx = (gh - gh.mean(axis=(0, 2), keepdims=True)
          - xhat * (gh * xhat).mean(axis=(0, 2), keepdims=True)) / np.sqrt(var + eps)
    return y, mu.ravel(), var.ravel(), dx, (g * xhat).sum(axis=(0, 2)), g.sum(axis=(0, 2))


def _run(x, g, gamma, beta, eps):
    mean, var = np.empty(x.shape[1]), np.empty(x.shape[1])
    y, dx = np.empty_like(x), np.empty_like(x)
    dgamma, dbeta = np.empty_like(gamma), np.empty_like(gamma)
    K.batch_norm_forward(x, gamma, beta, eps, y, mean, var)
    K.batch_norm_backward(x, g, gamma, mean, var, eps, dx, dgamma, dbeta)
    return y, mean, var, dx, dgamma, dbeta


@settings(deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 5), s=st.integers(1, 40), dtype=DTYPES,
       shift=st.sampled_from([0.0, 1e4]), eps=st.sampled_from([1e-5, 0.5]),
       seed=st.integers(0, 2**32 - 1))
def test_kernels_match_the_formulas(n, c, s, dtype, shift, eps, seed):
    """Every output, on batches of a few values up to a few hundred per channel; a mean of
    10⁴ next to unit spread loses no precision (the variance is taken about the mean)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c, s)) + shift).astype(dtype)
    g = rng.standard_normal((n, c, s)).astype(dtype)
    gamma, beta = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    got = _run(x, g, gamma, beta, eps)
    want = _reference(x, g, gamma, beta, eps)
    tol = dict(rtol=1e-9, atol=1e-9) if dtype == np.float64 else dict(rtol=2e-3, atol=2e-3)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, **tol)


def test_a_nan_poisons_its_channel_only():
    x = np.random.default_rng(0).standard_normal((3, 2, 5))
    x[1, 0, 2] = np.nan
    y, mean, var, dx, dgamma, dbeta = _run(x, np.ones_like(x), np.ones(2), np.zeros(2), 1e-5)
    assert np.isnan(y[:, 0]).all() and np.isnan(dx[:, 0]).all() and np.isnan(dgamma[0])
    assert np.isfinite(y[:, 1]).all() and np.isfinite(dx[:, 1]).all()
    assert np.isfinite([mean[1], var[1], dgamma[1], dbeta[0], dbeta[1]]).all()
