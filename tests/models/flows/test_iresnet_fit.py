"""Lesson 15's jobs (tinygen.models.flows.iresnet_fit): each is fixed by its arguments, so
two of them in worker processes (fresh random streams) give what they give in this process,
whatever drew from the engine's stream before; a fitted toy flow rebuilds from its state."""

from __future__ import annotations

import numpy as np
import pytest

import tinygen as tg
from tinygen.errors import ArgumentError
from tinygen.models.flows import iresnet_fit as F
from tinygen.parallel import run_jobs

MODEL = {"blocks": 2, "width": 16, "depth": 3, "activation": "elu", "c": 0.97,
         "n_power_iterations": 3, "actnorm": False}
TOY = {"name": "two moons", "seed": 3, "n_train": 400, "n_test": 100, "model": MODEL,
       "steps": 6, "batch": 64, "lr": 5e-3, "series_n": 20, "trace_every": 3,
       "trace": {"repeats": 2, "cap": 40, "p": 0.05}}
DIGITS = {"quick": True, "seed": 5, "steps": 3, "batch": 16, "lr": 2e-3, "p": 0.05,
          "ridges": (1e-2, 1e-1), "iterations": 5, "samples": 2,
          "model": {"blocks": 1, "width": 16, "depth": 3, "activation": "tanh", "c": 0.97,
                    "n_power_iterations": 2}}


def same(a, b) -> bool:
    """Equal to the last bit, through nested dicts and lists (timings skipped)."""
    if isinstance(a, dict):
        keys = {k for k in a if not k.endswith("seconds")}
        return keys == {k for k in b if not k.endswith("seconds")} and all(
            same(a[k], b[k]) for k in keys)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b)


def test_two_jobs_in_workers_give_what_they_give_in_process():
    tg.manual_seed(1)
    tg.randn(50)  # the engine's stream moved: the jobs must not read it
    here = [F.fit_toy(**TOY), F.fit_digits(**DIGITS)]
    there = run_jobs([(F.fit_toy, TOY), (F.fit_digits, DIGITS)], 2)
    assert same(here[0], there[0]) and same(here[1], there[1])
    assert len(here[0]["losses"]) == 6 and here[0]["trace"]["step"] == [0, 3, 6]
    assert here[1]["samples"].shape == (2, 8, 8) and np.isfinite(here[1]["bits_per_dim"])
    # another seed, another run
    assert not np.array_equal(F.fit_toy(**{**TOY, "seed": 4})["test_lp"], here[0]["test_lp"])


def test_a_fitted_toy_flow_rebuilds_from_its_state():
    fit = F.fit_toy(**TOY)
    net = F.toy_model(MODEL, TOY["seed"], fit["state"])
    x = F.toy_data("two moons", TOY["n_test"], tg.Generator(TOY["seed"] + 2))
    with tg.no_grad():
        lp = net.log_prob(tg.tensor((x - fit["mu"]) / fit["sd"]), "exact").numpy()
    np.testing.assert_array_equal(lp, fit["test_lp"])
    assert fit["params"] == sum(p.size for p in net.parameters())
    assert fit["shift"] == pytest.approx(np.log(fit["sd"]).sum())


def test_baselines_choose_the_mixture_on_validation_within_the_budget():
    out = F.toy_baselines("8 gaussians", 0, 2000, 500, ks=(1, 2, 8, 16), budget=50)
    gmm = out["gmm"]
    assert set(gmm["per_k"]) == {"1", "2", "8"}  # 6·16 − 1 = 95 parameters > 50
    assert gmm["k"] == 8 and gmm["nll"] == gmm["per_k"]["8"]["test"]
    np.testing.assert_allclose(-gmm["test_lp"].mean(), gmm["nll"])
    # GMM-8 is the generating family: it sits at the truth, far below one Gaussian
    assert abs(gmm["nll"] + out["true_lp"].mean()) < 0.05 < out["gaussian_nll"] - gmm["nll"]


def test_unknown_toy_is_refused_by_name():
    with pytest.raises(ArgumentError, match="toy_data.*'spiral'"):
        F.toy_data("spiral", 10, tg.Generator(0))
