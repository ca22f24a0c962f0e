"""The reaction-network model and the SSA: the network's tables, the direct and
first-reaction methods against exact moments (the DSMTS Z/Y rule, fixed seeds), the
stationary law of birth–death (Poisson(λ/μ)) from the kernel and from a time-weighted
histogram, a wrong propensity that must fail, custom propensities and every error path."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygen.errors import ArgumentError
from tinygen.stochastic import ssa

LAM, MU = 10.0, 1.0


def birth_death(lam=LAM, mu=MU, x0=0, death=1):
    """∅ → X at λ, X → ∅ at μ·x (``death=2``: the wrong propensity μ·C(x, 2), 2X → X)."""
    return ssa.ReactionNetwork.build({"X": x0}, [({}, {"X": 1}, lam),
                                                 ({"X": death}, {"X": death - 1}, mu)])


def poisson_pmf(mean, n):
    return np.array([math.exp(-mean + c * math.log(mean) - math.lgamma(c + 1))
                     for c in range(n)])


def test_the_network_tables():
    net = ssa.ReactionNetwork.build({"m": 0, "n": 0}, [({}, {"m": 1}, 20.0),
                                                       ({"m": 1}, {"m": 1, "n": 1}, 2.5),
                                                       ({"m": 1}, {}, 1.0), ({"n": 1}, {}, 1.0)])
    assert net.species == ("m", "n")
    assert net.stoichiometry.tolist() == [[1, 0], [0, 1], [-1, 0], [0, -1]]
    assert net.propensities([4, 3]) == [20.0, 10.0, 4.0, 3.0]
    dimer = ssa.ReactionNetwork.build({"A": 5}, [({"A": 2}, {}, 0.5)])
    assert dimer.propensities([5]) == [0.5 * 10]  # C(5, 2) = 10 pairs
    assert dimer.propensities([1]) == [0.0]


def _stationary_scores(net, n=4000, seed=3):
    x = ssa.simulate_many(net, [20.0, 25.0, 30.0], n, seed)[:, :, 0]
    return ssa.moment_scores(x, LAM / MU, math.sqrt(LAM / MU))


def test_birth_death_is_poisson_at_stationarity():
    z, y = _stationary_scores(birth_death())
    assert (np.abs(z) < 3).all() and (np.abs(y) < 5).all(), (z, y)


def test_a_wrong_propensity_fails_the_same_check():
    z, y = _stationary_scores(birth_death(death=2))  # μ·C(x, 2) instead of μ·x
    assert not ((np.abs(z) < 3).all() and (np.abs(y) < 5).all()), (z, y)


def test_dsmts_birth_death_moments():
    """DSMTS 001-01: X0 = 100, X → 2X at λ = 0.1, X → ∅ at μ = 0.11; mean X0·e^{(λ−μ)t},
    variance X0·(λ+μ)/(λ−μ)·e^{(λ−μ)t}(e^{(λ−μ)t} − 1)."""
    lam, mu, x0 = 0.1, 0.11, 100
    net = ssa.ReactionNetwork.build({"X": x0}, [({"X": 1}, {"X": 2}, lam), ({"X": 1}, {}, mu)])
    t = np.arange(1.0, 51.0)
    g = np.exp((lam - mu) * t)
    x = ssa.simulate_many(net, t, 3000, seed=11)[:, :, 0]
    z, y = ssa.moment_scores(x, x0 * g, np.sqrt(x0 * (lam + mu) / (lam - mu) * g * (g - 1)))
    assert (np.abs(z) < 3).all() and (np.abs(y) < 5).all(), (z, y)


@pytest.mark.parametrize("method", ["direct", "first_reaction"])
def test_both_methods_give_the_exact_moments(method):
    """From x = 0, birth–death is Poisson with mean (λ/μ)(1 − e^{−μt}) at every t."""
    t = np.array([0.3, 1.0, 2.0])
    x = np.stack([ssa.simulate(birth_death(), t, seed=5, trajectory=i, method=method)[:, 0]
                  for i in range(400)])
    mean = LAM / MU * (1 - np.exp(-MU * t))
    z, y = ssa.moment_scores(x, mean, np.sqrt(mean))
    assert (np.abs(z) < 3).all() and (np.abs(y) < 5).all(), (z, y)


def test_the_two_methods_are_different_samplers():
    t = np.linspace(0, 2, 5)
    a = ssa.simulate(birth_death(), t, seed=1, method="direct")
    b = ssa.simulate(birth_death(), t, seed=1, method="first_reaction")
    assert not np.array_equal(a, b)


def test_time_weighted_histogram_is_poisson_and_event_counts_are_not():
    """One long path: the time spent at each count follows Poisson(λ/μ); counting events
    weighs count x by λ + μx and shifts the mean from λ/μ to λ/μ + ½."""
    t_end = 4000.0
    times, states = ssa.path(birth_death(x0=10), t_end, seed=2)
    p = ssa.time_weighted_histogram(times, states, t_end)
    assert p.sum() == pytest.approx(1.0)
    counts = np.arange(len(p))
    assert abs(p @ counts - LAM / MU) < 0.25
    assert 0.5 * np.abs(p - poisson_pmf(LAM / MU, len(p))).sum() < 0.02
    by_events = np.bincount(states[:, 0]) / len(states)  # the post's histogram
    assert abs(by_events @ np.arange(len(by_events)) - LAM / MU) > 0.25


def test_grid_samples_are_the_state_at_each_time():
    times = np.array([0.0, 1.0, 2.5])
    states = np.array([[0], [1], [2]])
    grid = np.array([0.0, 0.5, 1.0, 2.0, 2.5, 9.0])
    assert ssa.on_grid(times, states, grid)[:, 0].tolist() == [0, 0, 1, 1, 2, 2]


def test_kernel_trajectory_i_is_the_twins():
    net = birth_death()
    grid = np.linspace(0, 3, 10)
    many = ssa.simulate_many(net, grid, 3, seed=9, first=5)
    for i in range(3):
        np.testing.assert_array_equal(many[i], ssa.simulate(net, grid, 9, trajectory=5 + i))


def test_a_custom_propensity():
    mass_action = birth_death()
    same = ssa.ReactionNetwork.build({"X": 0}, [({}, {"X": 1}, 0.0), ({"X": 1}, {}, 0.0)],
                                     propensity=lambda x: [LAM, MU * x[0]])
    grid = np.linspace(0, 4, 9)
    np.testing.assert_array_equal(ssa.simulate(same, grid, 4), ssa.simulate(mass_action, grid, 4))
    hill = ssa.ReactionNetwork.build({"X": 0}, [({}, {"X": 1}, 0.0), ({"X": 1}, {}, 0.0)],
                                     propensity=lambda x: [LAM / (1 + x[0] / 5), MU * x[0]])
    assert ssa.simulate(hill, [50.0], 4)[0, 0] < 10


ERRORS = [
    (lambda: ssa.ReactionNetwork.build({"X": 0}, [({"Y": 1}, {}, 1.0)]), "names species 'Y'"),
    (lambda: ssa.ReactionNetwork.build({"X": 0}, [({"X": -1}, {}, 1.0)]), "integers ≥ 0"),
    (lambda: ssa.ReactionNetwork.build({"X": 0}, [({"X": 1}, {}, -2.0)]), "rates are ≥ 0"),
    (lambda: ssa.ReactionNetwork.build({"X": -3}, [({"X": 1}, {}, 1.0)]), "initial counts"),
    (lambda: ssa.path(birth_death(), 1.0, 0, method="tau_leap"), "method must be"),
    (lambda: ssa.path(birth_death(), 100.0, 0, max_events=50), "max_events=50"),
    (lambda: ssa.simulate_many(birth_death(), [100.0], 2, 0, max_events=50), "max_events=50"),
    (lambda: ssa.simulate_many(ssa.ReactionNetwork.build(
        {"X": 0}, [({}, {"X": 1}, 1.0)], propensity=lambda x: [1.0]), [1.0], 2, 0),
     "mass-action propensities only"),
    (lambda: ssa.path(ssa.ReactionNetwork.build(
        {"X": 0}, [({}, {"X": 1}, 1.0)], propensity=lambda x: [-1.0]), 1.0, 0),
     "propensities must be ≥ 0"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors(case):
    fn, match = ERRORS[case]
    with pytest.raises(ArgumentError, match=match):
        fn()
