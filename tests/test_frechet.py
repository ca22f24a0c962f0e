"""The Fréchet distance between Gaussians (tinygen.metrics.frechet_distance) against exact
cases: 1-D, diagonal and commuting covariances, the eigenvalues of Σ_a Σ_b in general;
symmetry, zero on equal Gaussians, singular covariances, fitted samples, bad shapes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygen.errors import ShapeError
from tinygen.metrics import fit_gaussian, frechet_distance, frechet_feature_distance

floats = st.floats(-5, 5)
variances = st.floats(1e-3, 10)


def random_cov(rng, d, rank=None):
    a = rng.standard_normal((d, rank or d))
    return a @ a.T + (0 if rank else 0.1) * np.eye(d)


@given(floats, floats, variances, variances)
def test_one_dimension_is_squared_mean_gap_plus_squared_sd_gap(m1, m2, v1, v2):
    expected = (m1 - m2) ** 2 + (np.sqrt(v1) - np.sqrt(v2)) ** 2
    assert frechet_distance([m1], [[v1]], [m2], [[v2]]) == pytest.approx(expected, abs=1e-9)
    assert frechet_distance(m1, v1, m2, v2) == pytest.approx(expected, abs=1e-9)  # scalars


@given(st.integers(0, 10_000), st.integers(1, 8))
def test_commuting_covariances_compare_square_roots_of_eigenvalues(seed, d):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))  # a shared eigenbasis
    lam, kap = rng.uniform(0.01, 5, d), rng.uniform(0.01, 5, d)
    mu_a, mu_b = rng.standard_normal(d), rng.standard_normal(d)
    expected = ((mu_a - mu_b) ** 2).sum() + ((np.sqrt(lam) - np.sqrt(kap)) ** 2).sum()
    got = frechet_distance(mu_a, q @ np.diag(lam) @ q.T, mu_b, q @ np.diag(kap) @ q.T)
    assert got == pytest.approx(expected, rel=1e-8, abs=1e-9)
    # diagonal: the basis is the identity
    got = frechet_distance(mu_a, np.diag(lam), mu_b, np.diag(kap))
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-10)


@given(st.integers(0, 10_000), st.integers(1, 8))
def test_general_case_matches_eigenvalues_of_the_product_and_is_symmetric(seed, d):
    rng = np.random.default_rng(seed)
    s_a, s_b = random_cov(rng, d), random_cov(rng, d)
    mu_a, mu_b = rng.standard_normal(d), rng.standard_normal(d)
    # tr (Σ_a^½ Σ_b Σ_a^½)^½ = Σ √λ(Σ_a Σ_b): the product is similar to the symmetric middle
    cross = np.sqrt(np.linalg.eigvals(s_a @ s_b).real.clip(0)).sum()
    expected = ((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * cross
    ab = frechet_distance(mu_a, s_a, mu_b, s_b)
    assert ab == pytest.approx(expected, rel=1e-7, abs=1e-8)
    assert ab == pytest.approx(frechet_distance(mu_b, s_b, mu_a, s_a), rel=1e-9, abs=1e-9)
    assert frechet_distance(mu_a, s_a, mu_a, s_a) == pytest.approx(0, abs=1e-9 * np.trace(s_a))


@given(st.integers(0, 10_000), st.integers(2, 10), st.integers(1, 3))
def test_singular_covariances_stay_real_and_non_negative(seed, d, rank):
    rng = np.random.default_rng(seed)
    rank = min(rank, d - 1)
    s_a, s_b = random_cov(rng, d, rank), random_cov(rng, d, rank)
    mu = rng.standard_normal(d)
    got = frechet_distance(mu, s_a, mu, s_b)
    assert np.isfinite(got) and got > -1e-8
    assert abs(frechet_distance(mu, s_a, mu, s_a)) < 1e-6 * (1 + np.trace(s_a))
    # rank-1 along the same axis: the 1-D answer
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    assert frechet_distance(mu, np.outer(u, u), mu, 4 * np.outer(u, u)) == pytest.approx(1.0)


def test_fitted_samples_converge_to_the_exact_distance():
    rng = np.random.default_rng(0)
    d = 4
    s_a, s_b = random_cov(rng, d), random_cov(rng, d)
    mu_b = np.ones(d)
    exact = frechet_distance(np.zeros(d), s_a, mu_b, s_b)
    errors = []
    for n in (1_000, 100_000):
        x = rng.multivariate_normal(np.zeros(d), s_a, n)
        y = rng.multivariate_normal(mu_b, s_b, n)
        errors.append(abs(frechet_feature_distance(x, y) - exact) / exact)
    assert errors[1] < 0.02 and errors[1] < errors[0]
    mean, cov = fit_gaussian(x)
    np.testing.assert_allclose(cov, np.cov(x.T), rtol=1e-12)


def test_bad_shapes_name_the_function():
    with pytest.raises(ShapeError, match="frechet_distance"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ShapeError, match="frechet_distance"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ShapeError, match="fit_gaussian"):
        fit_gaussian(np.zeros((1, 3)))
    with pytest.raises(ShapeError, match="fit_gaussian"):
        fit_gaussian(np.zeros(5))
