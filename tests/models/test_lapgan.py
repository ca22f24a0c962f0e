"""LAPGAN: the Laplacian pyramid is rebuilt exactly and its residuals carry no coarse
content (hypothesis-drawn images), the networks' shapes, a trained level's loss moves,
the chained sampler equals reconstruct of its own pyramid, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tinygen as tg
from tinygen.errors import ArgumentError, ShapeError
from tinygen.models.gan import sgan_d_loss, sgan_g_loss
from tinygen.models.lapgan import (CoarseGenerator, LapGAN, ResidualCritic, ResidualGenerator,
                                   build_part, coarse_critic, downsample, fit_part,
                                   laplacian_pyramid, lesson_images, reconstruct, train_level,
                                   upsample)


@st.composite
def images(draw):
    levels = draw(st.integers(1, 3))
    side = 2 ** levels * draw(st.integers(1, 3))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 2)), side, side)
    x = draw(arrays(np.float64, shape, elements=st.floats(-1, 1, allow_nan=False)))
    return x, levels


@given(images())
def test_pyramid_rebuilds_exactly_and_residuals_have_zero_block_means(case):
    x, levels = case
    pyramid = laplacian_pyramid(x, levels)
    assert len(pyramid) == levels + 1
    assert [p.shape[-1] for p in pyramid] == [x.shape[-1] // 2 ** (levels - k)
                                               for k in range(levels + 1)]
    np.testing.assert_allclose(reconstruct(pyramid), x, atol=1e-12)
    for residual in pyramid[1:]:
        np.testing.assert_allclose(downsample(residual), 0.0, atol=1e-12)
    # the coarse image is the block mean over 2^levels × 2^levels blocks
    f = 2 ** levels
    n, c, s, _ = x.shape
    np.testing.assert_allclose(pyramid[0], x.reshape(n, c, s // f, f, s // f, f).mean((3, 5)),
                               atol=1e-12)


def test_downsample_inverts_upsample():
    x = np.random.default_rng(0).standard_normal((2, 1, 3, 3))
    np.testing.assert_array_equal(downsample(upsample(x)), x)
    assert upsample(x)[0, 0, 1, 1] == x[0, 0, 0, 0] and upsample(x).shape == (2, 1, 6, 6)


def test_networks_shapes():
    tg.manual_seed(0)
    g, d = ResidualGenerator(8, 2), ResidualCritic(8, (4, 8))
    up, noise = np.zeros((5, 1, 8, 8), np.float32), np.ones((5, 1, 8, 8), np.float32)
    h = g(up, noise).numpy()
    assert h.shape == (5, 1, 8, 8) and np.all(np.abs(h) <= g.scale)
    assert d(h, up).shape == (5, 1)
    coarse = CoarseGenerator(6, 4)
    x = coarse(tg.zeros(3, 6)).numpy()
    assert x.shape == (3, 1, 4, 4) and np.all(np.abs(x) <= 1)
    assert coarse_critic(4)(x).shape == (3, 1)


def test_sample_is_the_reconstruction_of_its_pyramid():
    tg.manual_seed(1)
    lap = LapGAN(CoarseGenerator(6, 2), [ResidualGenerator(4, 1), ResidualGenerator(4, 1)])
    assert lap.side == 8
    pyramid = lap.sample_pyramid(7, np.random.default_rng(3))
    x = lap.sample(7, np.random.default_rng(3))
    assert [p.shape for p in pyramid] == [(7, 1, 2, 2), (7, 1, 4, 4), (7, 1, 8, 8)]
    np.testing.assert_allclose(x, reconstruct(pyramid), atol=1e-6)
    assert np.all(np.abs(x) <= 1 + 1e-6)
    coarse = lap.sample(7, np.random.default_rng(3), upto=0)
    np.testing.assert_array_equal(coarse, pyramid[0])
    assert lap.sample(7, np.random.default_rng(3), upto=1).shape == (7, 1, 4, 4)


def test_train_level_learns_a_constant_residual():
    """A residual that is always +0.5 on the left half and −0.5 on the right: a few rounds
    of the conditional GAN bring the generator's output towards it."""
    rng = np.random.default_rng(0)
    cond = rng.uniform(-1, 1, (64, 1, 4, 4)).astype(np.float32)
    target = np.where(np.arange(4) < 2, 0.5, -0.5).astype(np.float32)
    targets = np.broadcast_to(target, cond.shape).copy()
    tg.manual_seed(0)
    g, d = ResidualGenerator(8, 2), ResidualCritic(4, (8,))
    noise = rng.standard_normal(cond.shape).astype(np.float32)

    def error():
        g.eval()
        out = g(cond, noise).numpy()
        g.train()
        return float(np.abs(out - targets).mean())

    before = error()
    history = train_level(g, d, targets, cond, sgan_d_loss, sgan_g_loss, 300, batch=32,
                          lr=2e-3)
    assert len(history["d_loss"]) == 300 and np.isfinite(history["g_loss"]).all()
    assert error() < 0.3 * before


def test_errors_are_named():
    with pytest.raises(ShapeError, match="laplacian_pyramid: the side 12"):
        laplacian_pyramid(np.zeros((1, 1, 12, 12)), 3)
    with pytest.raises(ShapeError, match="downsample: the side must be even"):
        downsample(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ShapeError, match=r"upsample: expects square images"):
        upsample(np.zeros((4, 4)))
    with pytest.raises(ShapeError, match="reconstruct: a residual"):
        reconstruct([np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2))])
    with pytest.raises(ShapeError, match="reconstruct: needs"):
        reconstruct([np.zeros((1, 1, 2, 2))])
    with pytest.raises(ShapeError, match="ResidualGenerator: expects"):
        ResidualGenerator(4, 1)(np.zeros((2, 1, 4, 4)), np.zeros((2, 1, 8, 8)))
    with pytest.raises(ShapeError, match="ResidualGenerator: layers"):
        ResidualGenerator(4, 0)
    with pytest.raises(ShapeError, match="train_level: conditions"):
        train_level(ResidualGenerator(4, 1), ResidualCritic(4, (4,)), np.zeros((3, 1, 4, 4)),
                    np.zeros((3, 1, 8, 8)), sgan_d_loss, sgan_g_loss, 1)
    with pytest.raises(ShapeError, match="LapGAN: needs"):
        LapGAN(CoarseGenerator(2, 2), [])


def test_zero_mean_residuals_leave_the_coarser_image_alone():
    """With ``zero_mean=True`` every generated residual has zero 2×2 block means, like the
    real ones, so d(u(c) + h) = c: the level cannot shift the image it was given."""
    tg.manual_seed(2)
    g = ResidualGenerator(4, 1, zero_mean=True)
    rng = np.random.default_rng(5)
    coarse = rng.uniform(-1, 1, (3, 1, 4, 4)).astype(np.float32)
    h = g(upsample(coarse), rng.standard_normal((3, 1, 8, 8)).astype(np.float32)).numpy()
    assert np.abs(h).max() > 1e-3
    np.testing.assert_allclose(downsample(h), 0.0, atol=1e-6)
    np.testing.assert_allclose(downsample(upsample(coarse) + h), coarse, atol=1e-6)
    tg.manual_seed(2)
    plain = ResidualGenerator(4, 1)(upsample(coarse), np.zeros((3, 1, 8, 8), np.float32))
    assert np.abs(downsample(plain.numpy())).max() > 1e-3   # without it they are not


@given(images())
def test_real_residuals_obey_the_room_bound(case):
    """The fact behind ``bounded=True``: a pixel of an image in [−1, 1] deviates from the
    mean l of its 2×2 block by at most 3(1 − |l|), so a real residual is zero wherever the
    coarser pixel is ±1."""
    x, levels = case
    x = np.where(np.abs(x) > 0.5, np.sign(x), x)   # many pixels at ±1, as in digits
    pyramid = laplacian_pyramid(x, levels)
    image = pyramid[0]
    for residual in pyramid[1:]:
        up = upsample(image)
        assert np.all(np.abs(residual) <= 3 * (1 - np.abs(up)) + 1e-9)
        image = up + residual


@given(arrays(np.float32, (2, 1, 3, 3), elements=st.sampled_from([-1.0, -0.5, 0.0, 0.9, 1.0])),
       st.integers(0, 100))
def test_bounded_residuals_obey_the_room_bound(coarse, seed):
    """``bounded=True`` (scale 1.5, zero means): the generated residual is exactly zero where
    the coarser pixel is ±1, within 3(1 − |l|) elsewhere, and still has zero block means."""
    tg.manual_seed(seed)
    g = ResidualGenerator(4, 1, scale=1.5, zero_mean=True, bounded=True)
    for p in g.parameters():   # large weights: tanh saturates, the bound is tested at its edge
        p.data = 20 * p.data
    up = upsample(coarse)
    noise = np.random.default_rng(seed).standard_normal(up.shape).astype(np.float32)
    h = g(up, noise).numpy()
    assert np.all(np.abs(h) <= 3 * (1 - np.abs(up)) + 1e-5)
    assert np.all(h[np.abs(up) == 1] == 0)
    np.testing.assert_allclose(downsample(h), 0.0, atol=1e-5)


def test_bounded_residuals_are_not_all_zero_where_there_is_room():
    """The bound does not silence the generator: on a mid-grey coarse image (room 3 at every
    pixel) the residuals are far from zero. (Not part of the property above: with saturated
    weights a draw can be constant within each 2×2 block, which the zero-mean projection
    rightly maps to 0.)"""
    tg.manual_seed(0)
    g = ResidualGenerator(4, 1, scale=1.5, zero_mean=True, bounded=True)
    up = upsample(np.zeros((2, 1, 3, 3), np.float32))
    noise = np.random.default_rng(0).standard_normal(up.shape).astype(np.float32)
    assert np.abs(g(up, noise).numpy()).max() > 0.1


def _critic_slope(critic, x):
    """E‖∇ₓD(x)‖² at the points x."""
    from tinygen.models.gan import gradient_penalty
    return float(gradient_penalty(critic, x, kind="zero_centred"))


def test_r1_flattens_the_critic_at_the_real_points():
    """``r1`` adds (r1/2)·E‖∇ₓD(x_real)‖² to the critic's loss: after the same rounds from the
    same start, a strongly penalised coarse critic is far flatter at the real images than an
    unpenalised one, and its recorded loss includes the penalty (so it differs)."""
    rng = np.random.default_rng(0)
    coarse = np.tanh(rng.standard_normal((128, 1, 4, 4))).astype(np.float32)
    slopes, losses = {}, {}
    for r1 in (0.0, 100.0):
        tg.manual_seed(3)
        g, d = CoarseGenerator(4, 4, hidden=16), coarse_critic(4, hidden=16)
        history = train_level(g, d, coarse, None, sgan_d_loss, sgan_g_loss, 60, batch=32,
                              lr=5e-3, r1=r1)
        slopes[r1], losses[r1] = _critic_slope(d, tg.tensor(coarse)), history["d_loss"]
    assert slopes[100.0] < 0.2 * slopes[0.0]
    assert losses[100.0][0] != losses[0.0][0]


def test_r1_on_a_conditional_level_differentiates_the_residual_only():
    """For a residual level the penalty is taken with respect to the residual, the condition
    held fixed: the training runs and a strong penalty flattens D(·, c) at the real pairs."""
    rng = np.random.default_rng(1)
    cond = upsample(rng.uniform(-1, 1, (64, 1, 2, 2)).astype(np.float32))
    targets = (0.3 * rng.standard_normal(cond.shape)).astype(np.float32)
    slopes = {}
    for r1 in (0.0, 100.0):
        tg.manual_seed(4)
        g, d = ResidualGenerator(4, 1), ResidualCritic(4, (8,))
        train_level(g, d, targets, cond, sgan_d_loss, sgan_g_loss, 60, batch=32, lr=5e-3,
                    r1=r1)
        c = tg.tensor(cond)
        slopes[r1] = _critic_slope(lambda x, d=d, c=c: d(x, c), tg.tensor(targets))
    assert slopes[100.0] < 0.2 * slopes[0.0]


NETS = {"z_dim": 4, "critic": (4, 8), "dcgan": (8, 4),
        "levels": [dict(channels=4, layers=1, zero_mean=True, bounded=True, scale=1.5)]}


def test_build_part_makes_each_part_of_the_lesson():
    tg.manual_seed(0)
    g, d = build_part("coarse", NETS, [4, 8])
    assert isinstance(g, CoarseGenerator) and g.side == 4
    assert d(g(tg.zeros(2, 4))).shape == (2, 1)
    g, d = build_part("level 1", NETS, [4, 8])
    assert isinstance(g, ResidualGenerator) and g.bounded and g.zero_mean
    up = np.zeros((2, 1, 8, 8), np.float32)
    assert d(g(up, up), up).shape == (2, 1)
    g, d = build_part("DCGAN", NETS, [4, 8])
    assert g(tg.zeros(2, 4)).shape == (2, 1, 8, 8)
    for bad in ("level 2", "level 0", "level x", "fine"):
        with pytest.raises(ArgumentError, match=f"build_part: part must be .* got '{bad}'"):
            build_part(bad, NETS, [4, 8])
    with pytest.raises(ArgumentError, match="lesson_images: data must be"):
        lesson_images("mnist")


def test_fit_part_is_reproducible_and_its_state_loads_into_build_part():
    """A job is a pure function of its arguments (what lets ``map_jobs`` run it in any
    worker): twice the same call gives the same weights, and they load into the network that
    ``build_part`` makes from the same seed."""
    train = {"rounds": 3, "lr": 1e-3, "batch": 16, "r1": 1.0}
    for part in ("coarse", "level 1", "DCGAN"):
        a = fit_part(part, "digits 8x8", NETS, train, seed=2)
        b = fit_part(part, "digits 8x8", NETS, train, seed=2)
        assert set(a["state"]) == set(b["state"]) and a["params"] > 0
        for key in a["state"]:
            np.testing.assert_array_equal(a["state"][key], b["state"][key])
        assert len(a["d_loss"]) == 3 and np.isfinite(a["g_loss"]).all()
        tg.manual_seed(2)
        g, _ = build_part(part, NETS, [4, 8])
        untrained = {k: t.numpy() for k, t in g.state_dict().items()}
        g.load_state_dict(a["state"])
        assert any(not np.array_equal(untrained[k], a["state"][k]) for k in untrained)
