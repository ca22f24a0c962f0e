"""Langevin (ULA), MALA and the replay buffer, checked statistically against exact answers.

* MALA leaves a known Gaussian invariant: chains started at exact draws are still exact draws
  after any number of steps (means, variances and Kolmogorov–Smirnov within stated
  tolerances); the same checker rejects ULA at that step, so it can fail.
* Detailed balance: π(x)K(x, y) = π(y)K(y, x) as an identity of the log-densities, and
  statistically: with x ~ π and y one MALA step from x, the pair (x, y) is exchangeable, so
  the binned joint histogram is symmetric (Bowker's test); a MH rule missing the proposal
  ratio q(x|y)/q(y|x) fails it.
* ULA's bias is the exact one: for U = x²/(2σ²) its stationary variance is σ²/(1 − ε/(4σ²)).
* MALA's acceptance rate matches E[min(1, α)] computed by Gauss–Hermite quadrature.

Every statistical test is seeded (reproducible); the tolerances (4–5 standard errors, KS and
χ² p-values > 10⁻³) say how often it would fail under another seed if the code is right.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import tinygen as tg
from tinygen.errors import ArgumentError, ShapeError
from tinygen.stochastic import samplers as S

MU = np.array([1.0, -0.5])
COV = np.array([[1.0, 0.6], [0.6, 0.5]])
PREC = np.linalg.inv(COV)


def gaussian_energy(x):
    """U(x) = ½(x − μ)ᵀΣ⁻¹(x − μ) for the 2-D Gaussian above."""
    d = x - tg.tensor(MU)
    return 0.5 * ((d @ tg.tensor(PREC)) * d).sum(axis=1)


def exact_gaussian(n, seed):
    return np.random.default_rng(seed).multivariate_normal(MU, COV, n)


def gaussian_mismatch(x: np.ndarray) -> list[str]:
    """What is wrong with ``x`` as independent draws of N(μ, Σ): the mean of each coordinate
    (within 4 standard errors), each variance (within 4 SE, SE = σ²√(2/n)), and KS tests of the
    whitened coordinates against N(0, 1) (p > 10⁻³)."""
    n, problems = len(x), []
    for i in range(2):
        se_mean, se_var = math.sqrt(COV[i, i] / n), COV[i, i] * math.sqrt(2.0 / n)
        if abs(x[:, i].mean() - MU[i]) > 4 * se_mean:
            problems.append(f"mean {i}: {x[:, i].mean():.4f} vs {MU[i]}")
        if abs(x[:, i].var() - COV[i, i]) > 4 * se_var:
            problems.append(f"variance {i}: {x[:, i].var():.4f} vs {COV[i, i]}")
    white = (x - MU) @ np.linalg.cholesky(PREC)  # whitened: N(0, I) for exact draws
    for i in range(2):
        p = stats.kstest(white[:, i], "norm").pvalue
        if p < 1e-3:
            problems.append(f"KS whitened {i}: p = {p:.2g}")
    return problems


def test_mala_leaves_a_gaussian_invariant_and_the_checker_catches_ula():
    x0 = tg.tensor(exact_gaussian(4000, 1))
    assert gaussian_mismatch(x0.numpy()) == []  # exact draws pass
    step = 0.3  # large against the smallest variance (0.14): ULA's bias shows
    result = S.mala(gaussian_energy, x0, step, 10, tg.Generator(2))
    assert gaussian_mismatch(result.x.numpy()) == []
    assert 0.3 < result.acceptance_rate < 0.95
    moved = np.abs(result.x.numpy() - x0.numpy()).sum(1) > 0
    assert moved.mean() > 0.9  # the chains did move
    ula = S.langevin(gaussian_energy, x0, step, 10, tg.Generator(2))
    assert gaussian_mismatch(ula.numpy()) != []


def test_ula_bias_is_the_exact_one():
    """U = x²/(2σ²): ULA is the AR(1) x' = (1 − ε/(2σ²))x + √ε n, whose stationary variance
    is ε/(1 − (1 − ε/(2σ²))²) = σ²/(1 − ε/(4σ²)); MALA at the same step keeps σ²."""
    sigma2, n = 1.0, 20000
    energy = lambda x: 0.5 * (x * x).sum(axis=1) / sigma2  # noqa: E731
    x0 = tg.tensor(np.zeros((n, 1)))
    for eps in (0.4, 1.0, 2.0):
        x = S.langevin(energy, x0, eps, 60, tg.Generator(3)).numpy()[:, 0]
        exact = sigma2 / (1 - eps / (4 * sigma2))
        assert abs(x.var() - exact) < 5 * exact * math.sqrt(2.0 / n), (eps, x.var(), exact)
    start = tg.tensor(np.random.default_rng(4).standard_normal((n, 1)))
    y = S.mala(energy, start, 2.0, 20, tg.Generator(5)).x.numpy()[:, 0]
    assert abs(y.var() - sigma2) < 5 * sigma2 * math.sqrt(2.0 / n)


def double_well(x):
    """An asymmetric double well, U(x) = 2(x² − 1)² + x/2, in 1-D (x of shape (N, 1))."""
    s = x[:, 0]
    return 2.0 * (s * s - 1.0) ** 2 + 0.5 * s


def exact_double_well(n, seed):
    """Exact draws of exp(−U) by inverting its CDF on a fine grid."""
    grid = np.linspace(-3.0, 3.0, 200001)
    p = np.exp(-(2.0 * (grid**2 - 1.0) ** 2 + 0.5 * grid))
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return np.interp(np.random.default_rng(seed).random(n), cdf, grid)[:, None]


def bowker_p(x: np.ndarray, y: np.ndarray, edges: np.ndarray) -> float:
    """Bowker's test that the joint histogram of (x, y) is symmetric (exchangeable pairs)."""
    counts, _, _ = np.histogram2d(x, y, bins=[edges, edges])
    i, j = np.triu_indices(len(edges) - 1, 1)
    a, b = counts[i, j], counts[j, i]
    used = a + b > 0
    chi2 = float(np.sum((a[used] - b[used]) ** 2 / (a[used] + b[used])))
    return float(stats.chi2.sf(chi2, used.sum()))


def mh_without_proposal_ratio(energy, x, step, generator):
    """A broken MALA: accepts with min(1, exp(U(x) − U(y))), as if q were symmetric."""
    u_x, g_x = S.energy_and_grad(energy, x)
    y = x.data - 0.5 * step * g_x.data + math.sqrt(step) * generator.normal(x.shape).data
    u_y, _ = S.energy_and_grad(energy, tg.Tensor(y))
    accept = np.log(generator.uniform(x.shape[0]).data) < u_x.data - u_y.data
    return tg.Tensor(np.where(accept[:, None], y, x.data))


def test_detailed_balance_statistically():
    """x ~ π exactly, y = one step from x: under detailed balance (x, y) and (y, x) have the
    same law. MALA passes; the rule without q's ratio and ULA fail (same draws)."""
    n, step = 200_000, 0.5
    x = exact_double_well(n, 6)
    edges = np.array([-np.inf, -1.4, -1.0, -0.6, 0.0, 0.6, 1.0, 1.4, np.inf])
    y, accepted = S.mala_step(double_well, tg.tensor(x), step, tg.Generator(7))
    assert 0.2 < accepted.numpy().mean() < 0.9
    assert bowker_p(x[:, 0], y.numpy()[:, 0], edges) > 1e-3
    wrong = mh_without_proposal_ratio(double_well, tg.tensor(x), step, tg.Generator(7))
    assert bowker_p(x[:, 0], wrong.numpy()[:, 0], edges) < 1e-6
    ula = S.langevin_step(double_well, tg.tensor(x), step, tg.Generator(7))
    assert bowker_p(x[:, 0], ula.numpy()[:, 0], edges) < 1e-6


@given(st.floats(-2.5, 2.5), st.floats(-2.5, 2.5), st.floats(0.01, 2.0))
def test_detailed_balance_identity(x, y, step):
    """log π(x) + log q(y|x) + min(0, log α(x→y)) = the same with x and y swapped."""
    xt, yt = tg.tensor(np.array([[x]])), tg.tensor(np.array([[y]]))
    ux, gx = S.energy_and_grad(double_well, xt)
    uy, gy = S.energy_and_grad(double_well, yt)
    log_q_yx = -(y - x + 0.5 * step * float(gx.item())) ** 2 / (2 * step)
    log_q_xy = -(x - y + 0.5 * step * float(gy.item())) ** 2 / (2 * step)
    forward = -float(ux.item()) + log_q_yx + min(0.0, float(
        S.mala_log_acceptance(double_well, xt, yt, step).item()))
    backward = -float(uy.item()) + log_q_xy + min(0.0, float(
        S.mala_log_acceptance(double_well, yt, xt, step).item()))
    assert forward == pytest.approx(backward, abs=1e-9)


def expected_acceptance(eps: float) -> float:
    """E[min(1, α)] for one MALA step on N(0, 1) from x ~ N(0, 1), by Gauss–Hermite quadrature
    over (x, n): y = (1 − ε/2)x + √ε n and
    log α = (x² − y²)/2 + ((y − (1 − ε/2)x)² − (x − (1 − ε/2)y)²)/(2ε)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(120)
    weights = weights / weights.sum()
    x, n = np.meshgrid(nodes, nodes, indexing="ij")
    c = 1 - eps / 2
    y = c * x + math.sqrt(eps) * n
    log_alpha = (x**2 - y**2) / 2 + ((y - c * x) ** 2 - (x - c * y) ** 2) / (2 * eps)
    return float(np.sum(np.outer(weights, weights) * np.exp(np.minimum(0.0, log_alpha))))


def test_acceptance_rate_is_the_exact_one():
    n = 40000
    energy = lambda x: 0.5 * (x * x).sum(axis=1)  # noqa: E731
    x0 = tg.tensor(np.random.default_rng(8).standard_normal((n, 1)))
    rates = []
    for eps in (0.5, 2.0, 3.5):
        _, accepted = S.mala_step(energy, x0, eps, tg.Generator(9))
        rate, exact = float(accepted.numpy().mean()), expected_acceptance(eps)
        assert abs(rate - exact) < 5 * math.sqrt(exact * (1 - exact) / n), (eps, rate, exact)
        rates.append(rate)
    assert rates[0] > rates[1] > rates[2]
    _, tiny = S.mala_step(energy, x0, 1e-4, tg.Generator(9))
    assert tiny.numpy().mean() > 0.999


def test_mala_reports_the_moves_it_made(device):
    x0 = tg.tensor(np.random.default_rng(10).standard_normal((500, 3))).to(device)
    energy = lambda x: 0.5 * (x * x).sum(axis=1)  # noqa: E731
    x1, accepted = S.mala_step(energy, x0, 2.5, tg.Generator(11, device=device))
    moved = np.any(x1.numpy() != x0.numpy(), axis=1)
    np.testing.assert_array_equal(moved, accepted.numpy())
    assert x1.device == device
    result = S.mala(energy, x0, 2.5, 4, tg.Generator(11, device=device))
    assert result.acceptance.shape == (500,)
    assert set(np.unique(result.acceptance.numpy() * 4)) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert result.acceptance_rate == pytest.approx(float(result.acceptance.numpy().mean()))


def test_energy_and_grad_matches_the_formula():
    x = np.random.default_rng(12).standard_normal((5, 2))
    u, g = S.energy_and_grad(gaussian_energy, tg.tensor(x))
    d = x - MU
    np.testing.assert_allclose(u.numpy(), 0.5 * np.einsum("ni,ij,nj->n", d, PREC, d))
    np.testing.assert_allclose(g.numpy(), d @ PREC)
    _, zero = S.energy_and_grad(lambda x: tg.zeros(len(x)), tg.tensor(x))  # x unused
    assert np.all(zero.numpy() == 0)


def test_replay_buffer():
    init = lambda n: tg.tensor(np.full((n, 2), -1.0))  # noqa: E731
    buffer = S.ReplayBuffer(100, init, fresh=0.05, generator=tg.Generator(13))
    assert len(buffer) == 0
    assert np.all(buffer.sample(10).numpy() == -1.0)  # empty: all fresh
    buffer.push(tg.tensor(np.arange(160.0).reshape(80, 2)))
    buffer.push(tg.tensor(np.arange(160.0, 200.0).reshape(20, 2)))
    buffer.push(tg.tensor(np.arange(200.0, 240.0).reshape(20, 2)))
    assert len(buffer) == 100  # capacity: the oldest 20 rows dropped
    n = 20000
    batch = buffer.sample(n).numpy()
    fresh = batch[:, 0] == -1.0
    assert abs(fresh.mean() - 0.05) < 5 * math.sqrt(0.05 * 0.95 / n)
    stored = batch[~fresh, 0]
    assert stored.min() == 40.0 and stored.max() == 238.0  # rows 0-19 are gone
    assert np.all(batch[~fresh, 1] == batch[~fresh, 0] + 1)  # whole rows
    counts = np.bincount(((stored - 40) / 2).astype(int), minlength=100)
    assert stats.chisquare(counts).pvalue > 1e-3  # uniform over the stored samples


@pytest.mark.parametrize("call, error, words", [
    (lambda: S.mala_step(gaussian_energy, np.zeros((3, 2)), 0.0), ArgumentError, "step"),
    (lambda: S.mala_step(gaussian_energy, np.zeros((3, 2)), -1.0), ArgumentError, "positive"),
    (lambda: S.langevin_step(gaussian_energy, np.zeros((3, 2)), float("nan")), ArgumentError,
     "step"),
    (lambda: S.langevin(gaussian_energy, np.zeros((3, 2)), "big", 2), ArgumentError, "step"),
    (lambda: S.mala(gaussian_energy, np.zeros((3, 2)), 0.1, 0), ShapeError, "n_steps"),
    (lambda: S.langevin(gaussian_energy, np.zeros((3, 2)), 0.1, -1), ShapeError, "n_steps"),
    (lambda: S.mala_step("U", np.zeros((3, 2)), 0.1), ArgumentError, "callable"),
    (lambda: S.mala_step(lambda x: x, np.zeros((3, 2)), 0.1), ShapeError, "3 energies"),
    (lambda: S.mala_step(gaussian_energy, np.zeros((0, 2)), 0.1), ShapeError, "N ≥ 1"),
    (lambda: S.mala_step(gaussian_energy, np.zeros((3, 2)), 0.1, generator=1), ArgumentError,
     "tinygen.Generator"),
    (lambda: S.mala_log_acceptance(gaussian_energy, np.zeros((3, 2)), np.zeros((2, 2)), 0.1),
     ShapeError, "same shape"),
    (lambda: S.ReplayBuffer(0, lambda n: np.zeros((n, 2))), ShapeError, "capacity"),
    (lambda: S.ReplayBuffer(10, lambda n: np.zeros((n, 2)), fresh=1.5), ArgumentError,
     "fraction"),
    (lambda: S.ReplayBuffer(10, "noise"), ArgumentError, "init"),
])
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_replay_buffer_shape_mismatch():
    buffer = S.ReplayBuffer(10, lambda n: tg.tensor(np.zeros((n, 3))))
    buffer.push(tg.tensor(np.zeros((4, 2))))
    with pytest.raises(ShapeError, match="buffer holds"):
        buffer.push(tg.tensor(np.zeros((4, 3))))
    buffer.fresh = 1.0
    with pytest.raises(ShapeError, match="buffer holds"):
        buffer.sample(5)
