"""tinygen.distributions: log-densities against their formulas, gradients to second order,
the reparameterisation trick and Gumbel sampling statistically (fixed seeds, so no flakes),
the temperature schedules, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tinygen import distributions as D
from tinygen.testing import arrays, check_grads

STAT = settings(derandomize=True, max_examples=10, deadline=None)


def T(a):
    return tg.tensor(np.asarray(a, dtype=np.float64))


@given(data=st.data(), shape=st.tuples(st.integers(1, 3), st.integers(1, 4)))
def test_log_densities_match_their_formulas_and_gradients(data, shape):
    x, mu, lv = (data.draw(arrays(shape)) for _ in range(3))
    want = -0.5 * (np.log(2 * np.pi) + lv + (x - mu) ** 2 / np.exp(lv)).sum(-1)
    np.testing.assert_allclose(D.normal_log_prob(T(x), T(mu), T(lv)).numpy(), want, atol=1e-12)
    np.testing.assert_allclose(D.standard_normal_log_prob(T(x)).numpy(),
                               -0.5 * (np.log(2 * np.pi) + x ** 2).sum(-1), atol=1e-12)
    t = (x > 0).astype(np.float64)
    np.testing.assert_allclose(D.bernoulli_log_prob(T(t), T(mu), event_dims=2).numpy(),
                               (t * mu - np.logaddexp(0, mu)).sum(), atol=1e-12)
    np.testing.assert_allclose(D.log_mean_exp(T(x), axis=1).numpy(),
                               np.log(np.exp(x).mean(axis=1)), atol=1e-12)
    check_grads(lambda a, b, c: D.normal_log_prob(a, b, c), [x, mu, lv], order=2,
                name="normal_log_prob")
    check_grads(lambda a: D.bernoulli_log_prob(T(t), a), [mu], order=2, name="bernoulli")
    check_grads(lambda a: D.log_mean_exp(a, axis=0), [x], order=2, name="log_mean_exp")
    check_grads(lambda a, b: D.reparameterize(a, b, tg.Generator(3)), [mu, lv], order=2,
                name="reparameterize")
    onehot = np.eye(shape[1])[np.zeros(shape[0], dtype=int)]
    check_grads(lambda a: D.categorical_log_prob(T(onehot), a), [mu], order=2,
                name="categorical_log_prob")


def test_log_mean_exp_keeps_its_digits_far_from_zero():
    np.testing.assert_allclose(D.log_mean_exp(T([[-1e4, 5e3], [-1e4, 5e3]])).numpy(),
                               [-1e4, 5e3])


def test_reparameterize_draws_the_right_gaussian():
    mu, lv = np.array([1.0, -2.0, 0.5]), np.array([0.0, 1.0, -2.0])
    z = D.reparameterize(T(mu), T(lv), tg.Generator(0), samples=100_000).numpy()
    n = len(z)
    assert z.shape == (n, 3)
    assert np.all(np.abs(z.mean(0) - mu) < 5 * np.exp(lv / 2) / np.sqrt(n))
    np.testing.assert_allclose(z.var(0), np.exp(lv), rtol=0.02)
    # a scalar log-variance broadcasts (f-VAE's shared σ)
    assert D.reparameterize(T(mu), T(0.0), tg.Generator(0)).shape == (3,)
    # E[log q(z) − log p(z)] is the closed-form KL
    kl = (D.normal_log_prob(T(z), T(mu), T(lv)) - D.standard_normal_log_prob(T(z))).numpy()
    exact = float(tg.F.gaussian_kl(T(mu), T(lv)).numpy())
    assert abs(kl.mean() - exact) < 5 * kl.std() / np.sqrt(n)


@STAT
@given(logits=arrays((5,), -2.0, 2.0), seed=st.integers(0, 2**16))
def test_gumbel_max_samples_have_the_softmax_distribution(logits, seed):
    # argmax(logits + Gumbel) ~ softmax(logits): a chi-square test with 4 degrees of freedom
    n = 20_000
    y = tg.F.gumbel_softmax(T(np.broadcast_to(logits, (n, 5))), tau=1.0, hard=True,
                            generator=tg.Generator(seed)).numpy()
    p = np.exp(logits - logits.max())
    p /= p.sum()
    counts = y.sum(axis=0)
    chi2 = ((counts - n * p) ** 2 / (n * p)).sum()
    assert chi2 < 18.47  # the 99.9% quantile of chi-square(4)


def test_relaxed_samples_approach_one_hot_as_tau_shrinks():
    logits = T(np.broadcast_to(np.log([0.1, 0.2, 0.3, 0.4]), (5000, 4)))
    tops = []
    for tau in (5.0, 1.0, 0.3, 0.1, 0.01):
        y = tg.F.gumbel_softmax(logits, tau=tau, generator=tg.Generator(1)).numpy()
        tops.append(y.max(axis=1).mean())
        hard = tg.F.gumbel_softmax(logits, tau=tau, hard=True, generator=tg.Generator(1))
        np.testing.assert_array_equal(hard.numpy().argmax(1), y.argmax(1))  # same noise
    assert all(a < b for a, b in zip(tops, tops[1:]))
    assert tops[0] < 0.4 and tops[-1] > 0.995


def test_temperature_schedules():
    assert D.anneal_exponential(0) == 1.0
    assert math.isclose(D.anneal_exponential(1000), 0.01 + 0.99 * 0.999 ** 1000)
    assert D.anneal_exponential(10**6) == pytest.approx(0.01)
    assert D.anneal_jang(0) == 1.0 and D.anneal_jang(10**6) == 0.5
    assert math.isclose(D.anneal_jang(3000, rate=1e-4), math.exp(-0.3))


def test_errors_name_the_function():
    with pytest.raises(tg.ShapeError, match="normal_log_prob: event_dims=3"):
        D.normal_log_prob(T([[0.0]]), T(0.0), T(0.0), event_dims=3)
    with pytest.raises(tg.ShapeError, match="log_mean_exp: axis 0 .* is empty"):
        D.log_mean_exp(T(np.zeros((0, 2))))
    with pytest.raises(tg.ShapeError, match="categorical_log_prob"):
        D.categorical_log_prob(T([1.0, 0.0]), T([0.0, 0.0, 0.0]))
    with pytest.raises(tg.ShapeError, match="reparameterize: mu .* do not broadcast"):
        D.reparameterize(T([0.0, 1.0]), T([0.0, 1.0, 2.0]))
    with pytest.raises(tg.ArgumentError, match="anneal_exponential: expected decay < 1"):
        D.anneal_exponential(3, decay=1.5)
    with pytest.raises(tg.ArgumentError, match="anneal_jang: floor must be positive"):
        D.anneal_jang(3, floor=0.0)
    with pytest.raises(tg.ShapeError, match="anneal_jang: step must be at least 0"):
        D.anneal_jang(-1)
