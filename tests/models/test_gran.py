"""GRAN: shapes and range, the canvas is the running sum of the steps' changes, T = 1 is the
one-shot decoder of the LSTM state, gradients reach every parameter, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygen as tg
from tinygen import ops
from tinygen.errors import ShapeError
from tinygen.models.gran import GRAN


def make(steps):
    tg.manual_seed(0)
    return GRAN(6, 8, steps=steps, hidden=12, code=5, channels=(8, 4))


def test_shapes_range_and_canvas_sum():
    model = make(3)
    z = tg.tensor(np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32))
    canvases = model.canvases(z)
    assert len(canvases) == 3 and canvases[-1].shape == (4, 1, 8, 8)
    x = model(z).numpy()
    assert x.shape == (4, 1, 8, 8) and np.all(np.abs(x) <= 1)
    np.testing.assert_allclose(x, np.tanh(canvases[-1].numpy()), atol=1e-6)
    steps = [canvases[0].numpy()] + [b.numpy() - a.numpy()
                                     for a, b in zip(canvases[:-1], canvases[1:])]
    assert all(np.abs(s).max() > 0 for s in steps)  # every step changes the canvas


def test_one_step_is_the_one_shot_decoder():
    model = make(1)
    z = tg.tensor(np.random.default_rng(2).standard_normal((3, 6)).astype(np.float32))
    code = model.encode(tg.zeros(3, 64))
    h = model.cell(ops.concat([z, code], axis=1))[0]
    dec = model.decoder
    want = ops.tanh(dec.body(ops.reshape(dec.project(h), (-1, 8, dec.base, dec.base))))
    np.testing.assert_allclose(model(z).numpy(), want.numpy(), atol=1e-6)


def test_gradients_reach_every_parameter():
    model = make(2)
    z = tg.tensor(np.random.default_rng(3).standard_normal((5, 6)).astype(np.float32))
    params = list(model.parameters())
    grads = tg.grad((model(z) ** 2).mean(), params)
    assert all(np.abs(g.numpy()).max() > 0 for g in grads)


def test_errors_are_named():
    with pytest.raises(ShapeError, match="GRAN: steps"):
        GRAN(4, 8, steps=0)
    with pytest.raises(ShapeError, match=r"GRAN: z must be \(B, 6\)"):
        make(2)(tg.zeros(3, 5))


def test_the_canvas_accumulates_the_steps():
    """With the decoder's last conv reduced to a bias b, each step adds b: C_t = t·b."""
    model = make(4)
    last = model.decoder.body[-1]
    last.weight.data = 0 * last.weight.data
    last.bias.data = 0 * last.bias.data + 0.1
    canvases = model.canvases(tg.zeros(2, 6))
    for t, canvas in enumerate(canvases, start=1):
        np.testing.assert_allclose(canvas.numpy(), 0.1 * t, rtol=1e-5)


def test_the_write_scale_multiplies_each_change():
    """With ``write`` = w and the last conv reduced to a bias b, C_t = t·w·b; and with
    w = 1/T the untrained canvas keeps the one-shot generator's spread instead of growing
    with T (the reason lesson 27 uses it)."""
    tg.manual_seed(0)
    model = GRAN(6, 8, steps=4, hidden=12, code=5, channels=(8, 4), write=0.25)
    last = model.decoder.body[-1]
    last.weight.data = 0 * last.weight.data
    last.bias.data = 0 * last.bias.data + 0.1
    for t, canvas in enumerate(model.canvases(tg.zeros(2, 6)), start=1):
        np.testing.assert_allclose(canvas.numpy(), 0.025 * t, rtol=1e-5)
    z = tg.tensor(np.random.default_rng(4).standard_normal((64, 6)).astype(np.float32))
    spread = {}
    for write in (1.0, 0.25):
        tg.manual_seed(0)
        spread[write] = float(GRAN(6, 8, steps=4, hidden=12, code=5, channels=(8, 4),
                                   write=write).canvases(z)[-1].numpy().std())
    tg.manual_seed(0)
    one = float(make(1).canvases(z)[-1].numpy().std())
    assert spread[1.0] > 2 * one and 0.5 * one < spread[0.25] < 2 * one
