"""The energy model's parts: grid normalisation against closed forms, the grid KL and exact
grid draws, the mixture energy, the Gaussian baseline, a few training steps of the energy
model and of MEG's generator, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import tinygen as tg
from tinygen.errors import ArgumentError, ShapeError
from tinygen.models import ebm


def test_grid_log_density_normalises_a_gaussian():
    s2 = 0.3
    log_p, log_z = ebm.grid_log_density(lambda x: (x * x).sum(1) / (2 * s2), 4.0, 200)
    assert log_z == pytest.approx(math.log(2 * math.pi * s2), abs=1e-6)
    area = (8.0 / 200) ** 2
    assert np.exp(log_p).sum() * area == pytest.approx(1.0, abs=1e-9)


def test_mixture_energy_is_the_mixture():
    centres, std = np.array([[1.0, 0.0], [-1.0, 0.5]]), 0.4
    x = np.random.default_rng(0).normal(size=(7, 2))
    got = ebm.mixture_energy(centres, std)(tg.tensor(x)).numpy()
    d2 = ((x[:, None, :] - centres[None]) ** 2).sum(-1)
    np.testing.assert_allclose(got, -np.log(np.exp(-d2 / (2 * std**2)).sum(1)), rtol=1e-10)


def test_grid_sample_and_kl():
    lim, bins = 3.0, 20
    log_p, _ = ebm.grid_log_density(  # asymmetric, so that a transposed grid shows
        lambda x: (x[:, 0] - 0.7) ** 2 / 2 + x[:, 1] ** 2 / 0.6, lim, bins)
    rng = np.random.default_rng(1)
    draws = ebm.grid_sample(log_p, lim, 50_000, rng)
    counts, _, _ = np.histogram2d(draws[:, 0], draws[:, 1], bins=np.linspace(-lim, lim, bins + 1))
    p = np.exp(log_p).ravel() / np.exp(log_p).sum()
    used = p * 50_000 > 5
    expected = p[used] * 50_000
    observed = counts.ravel()[used]
    assert stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > 1e-3
    floor = ebm.grid_kl(draws, log_p, lim)
    assert floor < 0.01
    assert ebm.grid_kl(draws + 0.5, log_p, lim) > 10 * floor  # shifted: clearly worse


def test_gaussian_baseline_is_the_fitted_normal():
    train = np.random.default_rng(2).normal(size=(500, 2)) @ np.array([[1.0, 0.3], [0.0, 0.5]])
    x = np.random.default_rng(3).normal(size=(5, 2))
    want = stats.multivariate_normal(train.mean(0), np.cov(train.T)).logpdf(x)
    np.testing.assert_allclose(ebm.gaussian_log_density(train, x), want, rtol=1e-10)


def test_energy_model_learns_where_the_data_is():
    model = ebm.EnergyModel(width=16, depth=2, langevin_steps=5, step=0.05, lr=5e-3,
                            activation="leaky_relu", buffer_size=500, seed=0)
    rng = np.random.default_rng(4)
    for _ in range(40):
        out = model.step(0.3 * rng.normal(size=(64, 2)) + 1.0)
        assert math.isfinite(out["loss"])
    assert len(model.buffer) == 500
    near = model.energy(0.3 * rng.normal(size=(200, 2)) + 1.0).mean()
    far = model.energy(rng.uniform(-4, 4, size=(200, 2))).mean()
    assert near < far - 0.5


def test_meg_trains_only_its_own_networks():
    energy = ebm.EnergyModel(width=8, depth=1, seed=0)
    before = [p.numpy().copy() for p in energy.parameters()]
    gen = ebm.EntropyGenerator(energy, width=16, lam=1.0, seed=0)
    assert {id(p) for p in gen.parameters()}.isdisjoint(id(p) for p in energy.parameters())
    first = gen.step(64)["energy"]
    for _ in range(30):
        last = gen.step(64)["energy"]
    assert last < first
    for a, p in zip(before, energy.parameters()):
        np.testing.assert_array_equal(a, p.numpy())
    z = gen.noise(5)
    assert gen.latent_energy(z).shape == (5,)


@pytest.mark.parametrize("call, error, words", [
    (lambda: ebm.mixture_energy(np.zeros((3, 3)), 0.5), ShapeError, "centres"),
    (lambda: ebm.EntropyGenerator("U"), ArgumentError, "callable"),
    (lambda: ebm.energy_mlp(activation="gelu"), ArgumentError, "activation"),
    (lambda: ebm.grid_log_density(lambda x: x, 2.0, 10), ShapeError, "gave shape"),
    (lambda: ebm.grid_log_density(lambda x: x[:, 0], 2.0, 1), ShapeError, "bins"),
])
def test_errors_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()
