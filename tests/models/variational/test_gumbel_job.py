"""Lesson 20's training job (`fit_categorical_vae`): determined by its arguments alone (the
same numbers in two spawned workers as here, whatever the engine's stream held before), the
same training as a plain loop, and its measurements taken on the model of that very step
(the returned weights reproduce the last ones; a freshly seeded model the first ones).
(In a file of its own: test_gumbel.py runs in float64, the workers in float32.)"""

from __future__ import annotations

import numpy as np
import pytest

import tinygen as tg
from tinygen.errors import ArgumentError
from tinygen.models.variational.gumbel import (CategoricalVAE, fit_categorical_vae,
                                               gradient_variance, tau_schedule)
from tinygen.optim import Adam
from tinygen.parallel import map_jobs

PIXELS, LATENTS, CLASSES, HIDDEN, STEPS, SEED = 12, 3, 4, (8,), 6, 5


def job(estimator: str) -> dict:
    data = np.random.default_rng(0)
    images = data.random((40, PIXELS)).astype(np.float32)
    binary = (data.random((30, PIXELS)) < 0.5).astype(np.float32)
    return {"images": images, "test_images": binary[:20], "probe": binary[20:],
            "latents": LATENTS, "estimator": estimator, "steps": STEPS,
            "checkpoints": [0, 3, STEPS], "classes": CLASSES, "hidden": HIDDEN, "seed": SEED,
            "batch": 10, "rate": 0.1, "every": 2, "variance_at": [0, STEPS], "repeats": 3}


def same(a: dict, b: dict) -> None:
    assert a["curve"] == b["curve"] and a["variance"] == b["variance"]
    np.testing.assert_array_equal(a["train"], b["train"])
    assert a["state"].keys() == b["state"].keys()
    for name in a["state"]:
        np.testing.assert_array_equal(a["state"][name], b["state"][name])


def measured(model: CategoricalVAE, j: dict, step: int) -> tuple[float, dict]:
    """The job's two measurements, taken here on ``model`` as the job's step ``step``."""
    test, probe = tg.tensor(j["test_images"]), tg.tensor(j["probe"])
    curve = float(model.neg_elbo(test, tg.Generator(SEED + 9)).mean())
    with tg.no_grad():
        b = float(model.neg_elbo(probe, tg.Generator(1)).mean())
    encoder = [p for n, p in model.named_parameters() if n.startswith("encoder")]
    tau = tau_schedule(step, j["rate"], j["every"])
    return curve, {e: gradient_variance(model, probe, e, encoder, j["repeats"], tau,
                                        seed=SEED + 100, baseline=b)
                   for e in ("gumbel", "st", "reinforce")}


def test_two_workers_give_the_numbers_of_this_process_whatever_the_stream_held():
    jobs = [job("gumbel"), job("reinforce")]
    tg.manual_seed(123)
    tg.randn(50)  # the engine's stream moved: the job must seed itself
    here = [fit_categorical_vae(**j) for j in jobs]
    there = map_jobs(fit_categorical_vae, jobs, processes=2)
    for a, b in zip(here, there):
        same(a, b)
    assert here[0]["curve"][0] == here[1]["curve"][0]  # one start for every estimator
    assert not np.array_equal(here[0]["train"], here[1]["train"])


def test_the_job_is_the_plain_training_loop_and_measures_each_moments_model():
    j = job("reinforce")
    r = fit_categorical_vae(**j)
    tg.manual_seed(SEED)
    model = CategoricalVAE(PIXELS, LATENTS, CLASSES, HIDDEN)
    assert measured(model, j, 0) == (r["curve"][0], r["variance"][0])
    opt = Adam(model.parameters(), lr=1e-3)
    batches, gen = np.random.default_rng(SEED + 1), tg.Generator(SEED + 2)
    baseline, losses = 0.0, []
    for step in range(STEPS):
        xb = j["images"][batches.integers(0, 40, 10)]
        xb = tg.tensor((batches.random(xb.shape) < xb).astype(np.float32))
        loss, per_image = model.loss(xb, "reinforce", tau_schedule(step, 0.1, 2), gen,
                                     baseline=baseline)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(per_image.mean()))
        baseline = losses[0] if step == 0 else 0.9 * baseline + 0.1 * losses[-1]
    np.testing.assert_array_equal(r["train"], losses)
    assert measured(model, j, STEPS) == (r["curve"][STEPS], r["variance"][STEPS])
    rebuilt = CategoricalVAE(PIXELS, LATENTS, CLASSES, HIDDEN)
    rebuilt.load_state_dict(r["state"])
    assert measured(rebuilt, j, STEPS) == (r["curve"][STEPS], r["variance"][STEPS])
    assert r["variance"][0] != r["variance"][STEPS]  # the two moments differ


def test_an_unknown_estimator_is_named():
    with pytest.raises(ArgumentError, match="fit_categorical_vae: estimator must be one of"):
        fit_categorical_vae(**{**job("gumbel"), "estimator": "gumbel-max"})
