"""Conditional GAN pieces (tinygen.models.cond_gans): shapes, the label really conditions
both players, the projection score on hand-computed values, label errors, the training
loop's bookkeeping; and the DCGAN critic's BatchNorm placement."""

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.errors import IndexOutOfRange, ShapeError
from tinygen.models.cond_gans import (ConditionalGenerator, ProjectionCritic,
                                      conditional_players, fit_conditional_gan,
                                      sample_conditional, train_conditional_gan)
from tinygen.models.gan import sgan_d_loss, sgan_g_loss
from tinygen.models.image_gans import make_critic
from tinygen.parallel import run_jobs

rng = np.random.default_rng(0)


@pytest.mark.parametrize("size, channels", [(8, (16, 8)), (14, (16, 8))])
def test_shapes_and_the_label_changes_the_image(size, channels):
    tg.manual_seed(0)
    g = ConditionalGenerator(6, size, classes=10, embed=4, channels=channels)
    z = rng.standard_normal((5, 6)).astype(np.float32)
    x3 = sample_conditional(g, z, np.full(5, 3))
    x7 = sample_conditional(g, z, np.full(5, 7))
    assert x3.shape == (5, 1, size, size) and np.abs(x3).max() < 1
    assert np.abs(x3 - x7).max() > 1e-3  # same z, another label: another image
    np.testing.assert_array_equal(x3, sample_conditional(g, z, np.full(5, 3)))
    assert g.z_dim == 6 and g.project.in_features == 10


def test_projection_score_by_hand():
    tg.manual_seed(0)
    d = ProjectionCritic(8, classes=3, channels=(4, 8))
    x = tg.tensor(rng.standard_normal((4, 1, 8, 8)).astype(np.float32))
    y = np.array([0, 1, 2, 1])
    # the embedding starts at zero: D ignores y
    np.testing.assert_allclose(d(x, y).numpy(), d(x, np.zeros(4, np.int64)).numpy())
    e = rng.standard_normal((3, d.head.in_features)).astype(np.float32)
    d.embed.weight.data[...] = e
    phi = d.body(x).numpy()
    w, b = d.head.weight.numpy(), d.head.bias.numpy()
    expected = phi @ w + b + (e[y] * phi).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(d(x, y).numpy(), expected, rtol=1e-5, atol=1e-5)
    assert d(x, y).shape == (4, 1)


def test_label_errors_name_the_layer():
    g = ConditionalGenerator(4, 8, classes=10, embed=2, channels=(8, 4))
    z = tg.tensor(np.zeros((3, 4), np.float32))
    with pytest.raises(ShapeError, match="ConditionalGenerator: labels must have shape"):
        g(z, np.zeros(2, np.int64))
    with pytest.raises(IndexOutOfRange, match="ConditionalGenerator: labels must lie in"):
        g(z, np.array([0, 1, 10]))
    with pytest.raises(IndexOutOfRange, match="ProjectionCritic"):
        ProjectionCritic(8, classes=2, channels=(4, 8))(tg.tensor(np.zeros((1, 1, 8, 8),
                                                                          np.float32)), [2])


def test_training_moves_both_players_and_records_losses():
    tg.manual_seed(0)
    g = ConditionalGenerator(4, 8, classes=3, embed=2, channels=(8, 4))
    d = ProjectionCritic(8, classes=3, channels=(4, 8), batchnorm=True)
    real = rng.uniform(-1, 1, (30, 1, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 3, 30)
    before = [p.numpy().copy() for p in g.parameters() + d.parameters()]
    h = train_conditional_gan(g, d, real, labels,
                              lambda r, f: sgan_d_loss(r, f), lambda f: sgan_g_loss(f),
                              3, batch=8)
    assert len(h["d_loss"]) == len(h["g_loss"]) == 3 and h["seconds"] > 0
    assert all(np.isfinite(h["d_loss"])) and all(np.isfinite(h["g_loss"]))
    after = [p.numpy() for p in g.parameters() + d.parameters()]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))


def test_dcgan_critic_has_batchnorm_after_all_but_the_first_conv():
    layers = list(make_critic(14, (8, 16, 32), batchnorm=True))
    kinds = [type(m).__name__ for m in layers]
    assert kinds.count("BatchNorm2d") == 2
    assert kinds[:2] == ["Conv2d", "LeakyReLU"]
    assert kinds[2:5] == ["Conv2d", "BatchNorm2d", "LeakyReLU"]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in make_critic(14, (8, 16)))
    x = tg.tensor(rng.standard_normal((2, 1, 14, 14)).astype(np.float32))
    assert make_critic(14, (8, 16, 32), batchnorm=True)(x).shape == (2, 1)


def test_fit_conditional_gan_in_a_worker_matches_training_here():
    """The job version, run in a worker process, ends with the players that
    train_conditional_gan gives here from the same seed."""
    real = rng.uniform(-1, 1, (40, 1, 8, 8)).astype(np.float32)
    labels = np.arange(40) % 10
    players = {"generator": {"z_dim": 6, "size": 8, "embed": 4, "channels": (8, 4)},
               "critic": {"size": 8, "channels": (4, 8), "batchnorm": True}}
    run, other = run_jobs([(fit_conditional_gan, dict(players, real=real, labels=labels,
                                                      steps=3, batch=8, seed=seed))
                           for seed in (2, 3)], 2)  # two jobs: two worker processes
    assert run["d_loss"] != other["d_loss"]
    tg.manual_seed(2)
    g = ConditionalGenerator(**players["generator"])
    d = ProjectionCritic(**players["critic"])
    here = train_conditional_gan(g, d, real, labels, sgan_d_loss, sgan_g_loss, 3, batch=8,
                                 seed=2)
    assert run["d_loss"] == here["d_loss"] and run["g_loss"] == here["g_loss"]
    g_job, d_job = conditional_players(run, **players)
    z = rng.standard_normal((5, 6)).astype(np.float32)
    np.testing.assert_array_equal(sample_conditional(g_job, z, np.arange(5)),
                                  sample_conditional(g, z, np.arange(5)))
    for p, q in zip(d_job.parameters(), d.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
