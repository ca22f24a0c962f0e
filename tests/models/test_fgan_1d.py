"""f-GAN in one dimension (tinygen.models.fgan_1d): the conjugates of gan.F_DIVERGENCES are
the conjugates of these f, the exact optima (moment matching for KL, the target itself when
it is Gaussian), the grid divergence, the Gaussian generator and the mixture."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.models.fgan_1d import (F_GENERATORS, GaussianGenerator, Mixture1D,
                                    divergence_on_grid, optimal_gaussian, train_fgan_1d)
from tinygen.models.gan import F_DIVERGENCES

U = np.exp(np.linspace(-12, 8, 400_001))  # u = p/q over many orders of magnitude


@pytest.mark.parametrize("name", sorted(F_GENERATORS))
@given(v=st.floats(-1.5, 1.5))
def test_conjugate_is_sup_over_u(name, v):
    """f*(t) = sup_u (t·u − f(u)) at t = g_f(v), by brute force over a fine grid of u."""
    g, conj = F_DIVERGENCES[name]
    t = float(g(tg.tensor(v, dtype="float64")).numpy())
    brute = np.max(t * U - F_GENERATORS[name](U))
    assert float(conj(tg.tensor(t, dtype="float64")).numpy()) == pytest.approx(brute, abs=1e-5)


@pytest.mark.parametrize("name", sorted(F_GENERATORS))
def test_f_is_zero_at_one_and_convex(name):
    f = F_GENERATORS[name]
    assert abs(f(np.array(1.0))) < 1e-12
    u = np.linspace(0.05, 20, 2000)
    assert (np.diff(f(u), 2) > -1e-9).all()


def test_exact_optima():
    single = Mixture1D(weights=(1.0,), means=(0.7,), std=0.9)
    for name in F_GENERATORS:
        mu, sd = optimal_gaussian(name, single)
        assert mu == pytest.approx(0.7, abs=1e-3) and sd == pytest.approx(0.9, abs=1e-3), name
    mix = Mixture1D()
    mu, sd = optimal_gaussian("kl", mix)  # KL(P‖Q) over Gaussians Q = moment matching
    assert mu == pytest.approx(-1.0, abs=1e-3) and sd == pytest.approx(math.sqrt(3.25), abs=1e-3)
    mu, sd = optimal_gaussian("reverse_kl", mix)  # far-apart modes: the major one
    assert mu == pytest.approx(-2.0, abs=1e-2) and sd == pytest.approx(0.5, abs=1e-2)


def test_divergence_on_grid_against_closed_forms():
    x = np.linspace(-12, 12, 8001)
    dx = x[1] - x[0]

    def normal(m, s):
        return np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))

    p, q = normal(0.3, 1.0), normal(-0.2, 1.5)
    kl_pq = math.log(1.5 / 1.0) + (1.0 + 0.5 ** 2) / (2 * 1.5 ** 2) - 0.5
    kl_qp = math.log(1.0 / 1.5) + (1.5 ** 2 + 0.5 ** 2) / 2 - 0.5
    assert divergence_on_grid("kl", p, q, dx) == pytest.approx(kl_pq, rel=1e-6)
    assert divergence_on_grid("reverse_kl", p, q, dx) == pytest.approx(kl_qp, rel=1e-6)
    for name in F_GENERATORS:
        assert abs(divergence_on_grid(name, p, p, dx)) < 1e-9


def test_gaussian_generator_and_its_gradients():
    g = GaussianGenerator(0.5, 2.0)
    z = tg.tensor(np.array([[-1.0], [0.0], [3.0]], np.float32))
    x = g(z)
    np.testing.assert_allclose(x.numpy().ravel(), [-1.5, 0.5, 6.5], rtol=1e-6)
    tg.mean(x).backward()
    assert g.mean.grad.numpy()[0] == pytest.approx(1.0)
    assert g.log_std.grad.numpy()[0] == pytest.approx(2.0 * (2.0 / 3.0), rel=1e-6)  # σ·mean z
    assert g.params() == pytest.approx((0.5, 2.0))


def test_mixture():
    mix = Mixture1D()
    x = np.linspace(-10, 10, 20001)
    assert np.sum(mix.pdf(x)) * (x[1] - x[0]) == pytest.approx(1.0, abs=1e-9)
    draws = mix.sample(40_000, np.random.default_rng(0))
    assert (draws > 0).mean() == pytest.approx(0.25, abs=0.01)
    assert draws.dtype == np.float32
    with pytest.raises(ValueError, match="Mixture1D"):
        Mixture1D(weights=(0.5, 0.6))


def test_training_records_a_path():
    tg.manual_seed(0)
    h = train_fgan_1d("reverse_kl", Mixture1D(), 5, batch=32, width=8)
    assert len(h["mean"]) == len(h["std"]) == len(h["d_loss"]) == len(h["g_loss"]) == 5
    assert np.isfinite(h["d_loss"]).all() and h["mean"][-1] != 0.0


def test_the_seed_fixes_the_run_whatever_drew_before():
    """Same seed, same curves, though the engine's stream was moved in between and the
    second pair runs in worker processes (fresh streams); another seed, other curves."""
    from tinygen.models.fgan_1d import fgan_1d_curves
    from tinygen.parallel import map_jobs

    tg.manual_seed(0)
    a = fgan_1d_curves("js", Mixture1D(), 4, batch=16, width=8, seed=3)
    tg.manual_seed(1)
    tg.randn(100)
    b = fgan_1d_curves("js", Mixture1D(), 4, batch=16, width=8, seed=3)
    assert a == b
    jobs = [{"divergence": "js", "target": Mixture1D(), "steps": 4, "batch": 16, "width": 8,
             "seed": seed} for seed in (3, 4)]
    c, d = map_jobs(fgan_1d_curves, jobs, 2)
    assert c == a and d != a
