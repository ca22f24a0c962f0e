"""GRAN in the paper's form: shapes and range, the canvas is the scaled running sum of the
drawings, each step reads the previous step's drawing (and the first reads an empty one),
T = 1 is the one-shot decoder, the number of steps adds no parameters, gradients reach every
parameter, the errors; and fit_gran's record."""

from __future__ import annotations

import numpy as np
import pytest

import tinygen as tg
from tinygen import ops
from tinygen.errors import ShapeError
from tinygen.models.gran import GRAN, fit_gran


def make(steps, write=1.0):
    tg.manual_seed(0)
    return GRAN(6, 8, steps=steps, hidden=12, code=5, channels=(8, 4), write=write)


def latents(n, seed):
    return tg.tensor(np.random.default_rng(seed).standard_normal((n, 6)).astype(np.float32))


def test_shapes_range_and_canvas_is_the_scaled_sum_of_drawings():
    model = make(3, write=0.5)
    z = latents(4, 1)
    drawings = [d.numpy() for d in model.drawings(z)]
    canvases = [c.numpy() for c in model.canvases(z)]
    assert len(drawings) == len(canvases) == 3 and canvases[-1].shape == (4, 1, 8, 8)
    np.testing.assert_allclose(canvases, 0.5 * np.cumsum(drawings, axis=0), atol=1e-5)
    x = model(z).numpy()
    assert x.shape == (4, 1, 8, 8) and np.all(np.abs(x) <= 1)
    np.testing.assert_allclose(x, np.tanh(canvases[-1]), atol=1e-6)
    assert all(np.abs(d).max() > 0 for d in drawings)  # every step draws something


def step_by_hand(model, z, previous):
    """ΔC_t = f([tanh(Wz + b), tanh(W_c ΔC_{t−1} + b_c)]), written out."""
    dec = model.decoder
    h = ops.concat([ops.tanh(model.noise(z)), ops.tanh(model.encode(previous))], axis=1)
    return dec.body(ops.reshape(dec.project(h), (-1, dec.channels[0], dec.base, dec.base)))


def test_each_step_reads_the_previous_drawing():
    model = make(3)
    z = latents(3, 2)
    drawings = model.drawings(z)
    previous = tg.zeros(3, 64)
    for drawing in drawings:
        want = step_by_hand(model, z, previous)
        np.testing.assert_allclose(drawing.numpy(), want.numpy(), atol=1e-5)
        previous = drawing.reshape(3, -1)


def test_one_step_is_the_one_shot_decoder_and_steps_add_no_parameters():
    model = make(1)
    z = latents(3, 3)
    want = ops.tanh(step_by_hand(model, z, tg.zeros(3, 64)))
    np.testing.assert_allclose(model(z).numpy(), want.numpy(), atol=1e-6)
    counts = {t: sum(p.size for p in make(t).parameters()) for t in (1, 2, 5)}
    assert len(set(counts.values())) == 1
    for a, b in zip(make(1).parameters(), make(4).parameters()):  # same seed, same weights
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_gradients_reach_every_parameter():
    model = make(2)
    params = list(model.parameters())
    grads = tg.grad((model(latents(5, 4)) ** 2).mean(), params)
    assert all(np.abs(g.numpy()).max() > 0 for g in grads)


def test_errors_are_named():
    with pytest.raises(ShapeError, match="GRAN: steps"):
        GRAN(4, 8, steps=0)
    with pytest.raises(ShapeError, match=r"GRAN: z must be \(B, 6\)"):
        make(2)(tg.zeros(3, 5))


def test_the_write_scale_keeps_the_untrained_canvas_at_the_one_shot_scale():
    """The untrained drawings are alike, so the plain sum's spread grows with T; w = 1/T
    keeps it near the one-shot generator's (the reason lesson 27 uses it)."""
    z = latents(64, 5)
    one = float(make(1).canvases(z)[-1].numpy().std())
    plain = float(make(4).canvases(z)[-1].numpy().std())
    scaled = float(make(4, write=0.25).canvases(z)[-1].numpy().std())
    assert plain > 2 * one and 0.5 * one < scaled < 2 * one


def test_fit_gran_record():
    train = {"z_dim": 6, "critic": (4, 8), "rounds": 4, "d_steps": 1, "g_steps": 1,
             "batch": 16, "lr": 1e-3, "gamma": 1.0, "ema": 0.5}
    model = {"steps": 2, "hidden": 12, "code": 5, "channels": (8, 4), "write": 0.5}
    r = fit_gran(True, model, train, seed=0, n_eval=40, checkpoints=[2], fixed=3)
    assert len(r["step_fdd"]) == 2 and r["step_fdd"][-1] == r["quality"]["fdd"]
    assert [c.shape for c in r["fixed"]] == [(3, 1, 8, 8)] * 2
    assert r["d_loss"].shape == r["g_loss"].shape == (4,) and np.all(np.isfinite(r["d_loss"]))
    assert [p[0] for p in r["track"]] == [2] and r["params"] > 0 and r["cpu_seconds"] > 0
    assert r["last_fdd"] != r["quality"]["fdd"]  # the averaged generator is the one scored
    again = fit_gran(True, model, train, seed=0, n_eval=40, checkpoints=[2], fixed=3)
    assert again["quality"]["fdd"] == pytest.approx(r["quality"]["fdd"], rel=1e-5)
