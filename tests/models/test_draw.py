"""DRAW's Gaussian filterbank against its formulas (first- and second-order gradient checks
over hypothesis-drawn parameters, an identity glimpse, rows summing to one), read and write,
the model's shapes and −ELBO, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygen as tg
from tinygen.errors import ArgumentError, ShapeError
from tinygen.models import draw
from tinygen.parallel import map_jobs
from tinygen.testing import check_grads

params = hnp.arrays(np.float64, (2, 5), elements=st.floats(-1.0, 1.0))


def filterbank_formula(p: np.ndarray, n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The paper's formulas, written out with NumPy loops."""
    fx, fy = np.zeros((len(p), n, size)), np.zeros((len(p), n, size))
    for b, (gx_, gy_, log_s2, log_d, _) in enumerate(p):
        gx, gy = (size + 1) / 2 * (gx_ + 1), (size + 1) / 2 * (gy_ + 1)
        delta = (size - 1) / (n - 1) * np.exp(log_d)
        for i in range(1, n + 1):
            for a in range(1, size + 1):
                fx[b, i - 1, a - 1] = np.exp(-(a - gx - (i - n / 2 - 0.5) * delta) ** 2
                                             / (2 * np.exp(log_s2)))
                fy[b, i - 1, a - 1] = np.exp(-(a - gy - (i - n / 2 - 0.5) * delta) ** 2
                                             / (2 * np.exp(log_s2)))
    eps = 1e-8  # as the model: a filter centred far outside the image is nearly all zeros
    return (fx / (fx.sum(2, keepdims=True) + eps), fy / (fy.sum(2, keepdims=True) + eps))


@given(params)
def test_filterbank_is_the_formula(p):
    fx, fy, gamma = draw.filterbank(tg.tensor(p), 3, 7)
    want_x, want_y = filterbank_formula(p, 3, 7)
    np.testing.assert_allclose(fx.numpy(), want_x, atol=1e-7)
    np.testing.assert_allclose(fy.numpy(), want_y, atol=1e-7)
    np.testing.assert_allclose(gamma.numpy().ravel(), np.exp(p[:, 4]))


@given(params, hnp.arrays(np.float64, (2, 6, 6), elements=st.floats(-1.0, 1.0)),
       hnp.arrays(np.float64, (2, 3, 3), elements=st.floats(-1.0, 1.0)))
def test_read_and_write_gradients_first_and_second_order(p, image, patch):
    def glimpse(p, image):
        fx, fy, gamma = draw.filterbank(p, 3, 6)
        return draw.read(image, fx, fy, gamma)

    def paste(p, patch):
        fx, fy, gamma = draw.filterbank(p, 3, 6)
        return draw.write(patch, fx, fy, gamma)

    check_grads(glimpse, [p, image], order=2)
    check_grads(paste, [p, patch], order=2)


def test_a_dense_sharp_grid_reads_the_image_itself():
    """N = size filters at δ = 1, centred, with a tiny σ: F_X = F_Y = I, γ = 1, so the glimpse
    is the image and writing pastes the patch unchanged."""
    size = 5
    p = tg.tensor(np.array([[0.0, 0.0, np.log(1e-3), 0.0, 0.0]]))
    fx, fy, gamma = draw.filterbank(p, size, size)
    np.testing.assert_allclose(fx.numpy()[0], np.eye(size), atol=1e-12)
    np.testing.assert_allclose(fy.numpy().sum(2), 1.0)
    image = np.random.default_rng(0).normal(size=(1, size, size))
    np.testing.assert_allclose(draw.read(tg.tensor(image), fx, fy, gamma).numpy(), image,
                               atol=1e-10)
    np.testing.assert_allclose(draw.write(tg.tensor(image), fx, fy, gamma).numpy(), image,
                               atol=1e-10)
    # the intensity γ: reading multiplies by γ, writing divides by it
    fx, fy, gamma = draw.filterbank(tg.tensor(np.array([[0.0, 0.0, np.log(1e-3), 0.0,
                                                         np.log(2.0)]])), size, size)
    np.testing.assert_allclose(draw.read(tg.tensor(image), fx, fy, gamma).numpy(), 2 * image,
                               atol=1e-10)
    np.testing.assert_allclose(draw.write(tg.tensor(image), fx, fy, gamma).numpy(), image / 2,
                               atol=1e-10)


@pytest.mark.parametrize("attention", [True, False])
def test_draw_shapes_and_elbo(attention):
    model = draw.DRAW(8, steps=3, z_dim=4, hidden=16, attention=attention,
                      generator=tg.Generator(0))
    x = tg.tensor((np.random.default_rng(1).random((5, 8, 8)) > 0.5).astype(np.float32))
    recon, kl, canvases = model(x, tg.Generator(2))
    assert recon.shape == (5,) and kl.shape == (5,) and len(canvases) == 3
    assert np.all(kl.numpy() >= 0) and np.all(recon.numpy() > 0)
    loss = (recon + kl).mean()
    grads = tg.grad(loss, list(model.parameters()))
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    frames = model.sample(4, tg.Generator(3))
    assert len(frames) == 3 and frames[-1].shape == (4, 8, 8)
    assert np.all((frames[-1] > 0) & (frames[-1] < 1))


def test_errors_are_named():
    with pytest.raises(ShapeError, match="params must be"):
        draw.filterbank(tg.tensor(np.zeros((2, 4))), 3, 5)
    model = draw.DRAW(8, steps=1, z_dim=2, hidden=4)
    with pytest.raises(ShapeError, match="images must be"):
        model(tg.tensor(np.zeros((2, 7, 7))), tg.Generator(0))


@pytest.mark.parametrize("size, n", [(28, 2), (28, 5), (14, 4), (8, 3)])
def test_attention_starts_centred_and_tiling_the_image(size, n):
    """With h_dec = 0 the grid is the layer's bias: filter i is centred on the i-th of N equal
    cells of the image (not on its border), and every pixel is seen by some filter; reading,
    γ = 1; writing, γ = (N/size)², so a constant patch w paints about w on the canvas."""
    model = draw.DRAW(size, read_n=n, write_n=n, generator=tg.Generator(0))
    for layer, want_gamma in ((model.read_params, 1.0), (model.write_params, (n / size) ** 2)):
        fx, fy, gamma = draw.filterbank(layer(tg.zeros(1, model.hidden, dtype=np.float32)),
                                        n, size)
        pixels = np.arange(1, size + 1)
        centres = (fx.numpy()[0] * pixels).sum(axis=1)
        cells = (np.arange(1, n + 1) - 0.5) * size / n + 0.5
        np.testing.assert_allclose(centres, cells, atol=0.15 * size / n)
        np.testing.assert_allclose(fx.numpy(), fy.numpy())
        assert fx.numpy()[0].max(axis=0).min() > 0.02
        np.testing.assert_allclose(gamma.numpy(), want_gamma, rtol=1e-5)
        if layer is model.write_params:
            painted = draw.write(tg.ones(1, n, n), fx, fy, gamma).numpy()[0]
            inner = painted[size // 4:size - size // 4, size // 4:size - size // 4]
            assert 0.6 < inner.mean() < 1.4


def test_zero_point_init_is_the_formulas_zero():
    model = draw.DRAW(8, read_n=3, write_n=3, tiled_init=False, generator=tg.Generator(0))
    assert not np.any(model.read_params.bias.numpy()) and not np.any(
        model.write_params.bias.numpy())


def test_binarised_digits_and_its_error():
    train, test = draw.binarised_digits("digits 8x8")
    assert train.shape[1:] == test.shape[1:] == (8, 8) and train.dtype == np.float32
    assert set(np.unique(train)) == {0.0, 1.0}
    assert 0.2 < train.mean() < 0.6
    with pytest.raises(ArgumentError, match="binarised_digits.*'digits'"):
        draw.binarised_digits("digits")


TINY = {"data": "digits 8x8", "seed": 3, "test_count": 20,
        "model": {"steps": 2, "z_dim": 2, "hidden": 8, "read_n": 2, "write_n": 2},
        "train": {"steps": 4, "batch": 8, "lr": 1e-2, "clip": 10.0, "every": 2}}


def test_fit_draw_returns_the_trained_model_and_its_numbers():
    run = draw.fit_draw(**TINY)
    assert len(run["curve"]) == 4 and [s for s, _ in run["test_curve"]] == [2, 4]
    neg_elbo = run["reconstruction"] + run["kl"]
    assert neg_elbo.shape == (20,) and run["test_curve"][-1][1] == pytest.approx(
        neg_elbo.mean(), rel=1e-6)
    assert run["cpu_seconds"] > 0 and run["params"] > 0
    # the returned weights are the trained ones: loaded into a fresh model they give the
    # same test −ELBO, while the untrained model from the same seed does not
    model = draw.DRAW(8, **TINY["model"], generator=tg.Generator(99))
    _, test = draw.binarised_digits("digits 8x8")
    before = sum(draw.test_neg_elbo(model, test[:20], TINY["seed"] + 5)).mean()
    model.load_state_dict(run["state"])
    after = sum(draw.test_neg_elbo(model, test[:20], TINY["seed"] + 5))
    np.testing.assert_allclose(after, neg_elbo, rtol=1e-5)
    assert abs(before - after.mean()) > 1e-3
    assert run["untrained"] != pytest.approx(neg_elbo.mean(), rel=1e-4)


def test_fit_draw_in_workers_is_the_same_as_here():
    """The same seed gives the same batches and noise, in this process or in a worker."""
    jobs = [TINY, {**TINY, "model": {**TINY["model"], "attention": False}}]
    here = [draw.fit_draw(**job) for job in jobs]
    there = map_jobs(draw.fit_draw, jobs, processes=2)
    for a, b in zip(here, there):
        np.testing.assert_array_equal(a["curve"], b["curve"])
        np.testing.assert_array_equal(a["kl"], b["kl"])
    assert not np.array_equal(here[0]["curve"], here[1]["curve"])
