"""The image-GAN helpers of lessons 12–13: data scaling, network shapes, conv spectral norm,
the training loop's bookkeeping, the classifier score's formula and the sample-grid figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

import tinygen as tg
from tinygen.data import load_digits
from tinygen.errors import ArgumentError
from tinygen.models.gan import (fgan_d_loss, fgan_g_loss, ganqp_d_loss, ganqp_g_loss,
                                rsgan_d_loss, rsgan_g_loss, sgan_d_loss, sgan_g_loss)
from tinygen.models.image_gans import (DigitScorer, Generator, fit_gan, gan_images, gan_losses,
                                       make_critic, players_at, plot_sample_rows, sample,
                                       train_gan)
from tinygen.parallel import run_jobs

rng = np.random.default_rng(0)


def test_gan_images_block_means_in_minus_one_one():
    x = rng.random((3, 28, 28)).astype(np.float32)
    y = gan_images(x, 14)
    assert y.shape == (3, 1, 14, 14) and y.dtype == np.float32
    np.testing.assert_allclose(y[1, 0, 2, 5], 2 * x[1, 4:6, 10:12].mean() - 1, rtol=1e-6)
    np.testing.assert_array_equal(gan_images(np.zeros((1, 8, 8))), -np.ones((1, 1, 8, 8)))
    np.testing.assert_array_equal(gan_images(np.ones((1, 8, 8))), np.ones((1, 1, 8, 8)))
    with pytest.raises(ValueError, match="must divide"):
        gan_images(x, 10)


@pytest.mark.parametrize("size, channels", [(8, (16, 8)), (14, (16, 8)), (16, (8, 8, 4))])
def test_generator_and_critic_shapes(size, channels):
    tg.manual_seed(0)
    g = Generator(12, size, channels)
    z = tg.tensor(rng.standard_normal((5, 12)).astype(np.float32))
    x = g(z)
    assert x.shape == (5, 1, size, size)
    assert float(np.abs(x.numpy()).max()) < 1.0  # tanh
    for bias, spectral in ((True, False), (False, False), (True, True)):
        critic = make_critic(size, (4, 8), bias=bias, spectral=spectral)
        assert critic(x).shape == (5, 1)
        names = [n for n, _ in critic.named_parameters()]
        assert any(n.endswith("bias") for n in names) == bias
    with pytest.raises(ValueError, match="divisible"):
        Generator(12, 14, (8, 8, 4))


def test_generator_without_batchnorm():
    """``batchnorm=False`` drops every BatchNorm layer (GRAN's decoder, lesson 27) and keeps
    the rest: the same convolutions, so a batch of one is drawn as in any batch."""
    tg.manual_seed(0)
    g = Generator(12, 8, (8, 4), batchnorm=False)
    kinds = [type(layer).__name__ for layer in g.body]
    assert "BatchNorm2d" not in kinds and kinds.count("ReLU") == 2
    assert "BatchNorm2d" in [type(layer).__name__ for layer in Generator(12, 8, (8, 4)).body]
    z = tg.tensor(rng.standard_normal((4, 12)).astype(np.float32))
    np.testing.assert_allclose(g(z[1:2]).numpy(), g(z).numpy()[1:2], atol=1e-6)


def test_train_gan_bookkeeping_and_updates():
    tg.manual_seed(0)
    (images, _), _, _ = load_digits()
    real = gan_images(images[:200])
    g, critic = Generator(8, 8, (8, 4)), make_critic(8, (4, 8), bias=False)
    before = [p.numpy().copy() for p in g.parameters()] + [p.numpy().copy()
                                                            for p in critic.parameters()]
    calls = {"d": 0, "g": 0, "checkpoint": []}

    def d_loss(c, x_r, x_f):
        calls["d"] += 1
        assert not x_f.requires_grad  # the critic's step sees detached fakes
        return ganqp_d_loss(c(x_r), c(x_f), x_r, x_f)

    def g_loss(c, x_r, x_f):
        calls["g"] += 1
        assert x_f.requires_grad
        return ganqp_g_loss(c(x_r), c(x_f))

    z_fixed = rng.standard_normal((6, 8)).astype(np.float32)
    h = train_gan(g, critic, real, d_loss, g_loss, 4, d_steps=2, g_steps=3, batch=16,
                  checkpoints=(0, 2, 4), z_fixed=z_fixed,
                  on_checkpoint=calls["checkpoint"].append)
    assert calls["d"] == 8 and calls["g"] == 12 and calls["checkpoint"] == [0, 2, 4]
    assert len(h["d_loss"]) == len(h["g_loss"]) == 4 and h["seconds"] > 0
    assert sorted(h["snapshots"]) == [0, 2, 4]
    assert all(s.shape == (6, 1, 8, 8) for s in h["snapshots"].values())
    np.testing.assert_array_equal(h["snapshots"][4], sample(g, z_fixed))
    assert not np.array_equal(h["snapshots"][0], h["snapshots"][4])
    after = [p.numpy() for p in g.parameters()] + [p.numpy() for p in critic.parameters()]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
    assert g.training and critic.training


def test_gan_losses_are_the_formulas():
    tg.manual_seed(0)
    critic = make_critic(8, (4, 8))
    x_r = tg.tensor(rng.uniform(-1, 1, (5, 1, 8, 8)).astype(np.float32))
    x_f = tg.tensor(rng.uniform(-1, 1, (5, 1, 8, 8)).astype(np.float32))
    t_r, t_f = critic(x_r), critic(x_f)
    expected = {"sgan": (sgan_d_loss(t_r, t_f), sgan_g_loss(t_f)),
                "rsgan": (rsgan_d_loss(t_r, t_f), rsgan_g_loss(t_r, t_f)),
                "gan-qp": (ganqp_d_loss(t_r, t_f, x_r, x_f, lam=3.0, distance="l2"),
                           ganqp_g_loss(t_r, t_f)),
                "f-gan": (fgan_d_loss(t_r, t_f, "pearson"), fgan_g_loss(t_f, "pearson"))}
    given = {"gan-qp": {"lam": 3.0, "distance": "l2"}, "f-gan": {"divergence": "pearson"}}
    for kind, (d, g) in expected.items():
        settings = given.get(kind, {})
        d_loss, g_loss = gan_losses(kind, **settings)
        assert float(d_loss(critic, x_r, x_f)) == pytest.approx(float(d), rel=1e-6)
        assert float(g_loss(critic, x_r, x_f)) == pytest.approx(float(g), rel=1e-6)
    assert float(gan_losses("gan-qp", lam=3.0, distance="l1")[0](critic, x_r, x_f)) != \
        pytest.approx(float(expected["gan-qp"][0]), rel=1e-6)
    with pytest.raises(ArgumentError, match="kind must be one of"):
        gan_losses("wgan")
    with pytest.raises(ArgumentError, match="takes the settings"):
        gan_losses("sgan", lam=1.0)
    with pytest.raises(ArgumentError, match="takes the settings"):
        gan_losses("f-gan", lam=1.0)


def test_fit_gan_in_workers_matches_train_gan_in_process():
    """fit_gan in two worker processes gives bit for bit what train_gan gives here, and the
    players rebuilt at a checkpoint are the ones training had then."""
    (images, _), _, _ = load_digits()
    real = gan_images(images[:200])
    players = {"generator": {"z_dim": 8, "size": 8, "channels": (8, 4)},
               "critic": {"size": 8, "channels": (4, 8), "spectral": True}}
    z_fixed = rng.standard_normal((6, 8)).astype(np.float32)
    settings = dict(steps=3, d_steps=2, batch=16, checkpoints=(0, 1, 3), z_fixed=z_fixed,
                    seed=5)
    jobs = [(fit_gan, dict(players, losses=gan_losses(kind), real=real, **settings))
            for kind in ("sgan", "rsgan")]
    runs = run_jobs(jobs, 2)
    for kind, run in zip(("sgan", "rsgan"), runs):
        tg.manual_seed(5)
        g, critic = Generator(**players["generator"]), make_critic(**players["critic"])
        kept = {}

        def keep(step, g=g, c=critic, kept=kept):
            kept[step] = [p.numpy().copy() for p in c.parameters()] + [sample(g, z_fixed)]

        train_gan(g, critic, real, *gan_losses(kind), 3, d_steps=2, batch=16,
                  checkpoints=(0, 1, 3), z_fixed=z_fixed, seed=5, on_checkpoint=keep)
        for step in (0, 1, 3):
            g_at, critic_at = players_at(run, step, **players)
            np.testing.assert_array_equal(sample(g_at, z_fixed), kept[step][-1])
            np.testing.assert_array_equal(sample(g_at, z_fixed), run["snapshots"][step])
            for p, q in zip(critic_at.parameters(), kept[step][:-1]):
                np.testing.assert_array_equal(p.numpy(), q)
    assert not np.array_equal(runs[0]["snapshots"][3], runs[1]["snapshots"][3])


def test_digit_scorer_formula(monkeypatch):
    scorer = DigitScorer(8)
    onehot = np.eye(10)[np.arange(100) % 10]
    cases = [(onehot, 1.0, 10, 10.0),                         # confident and all classes
             (np.eye(10)[np.zeros(100, int)], 1.0, 1, 1.0),   # confident, one class
             (np.full((100, 10), 0.1), 0.1, 1, 1.0)]          # no opinion at all
    for p, confidence, coverage, score in cases:
        monkeypatch.setattr(scorer, "probabilities", lambda images, p=p: p)
        s = scorer.score(np.zeros((100, 1, 8, 8)))
        assert s["confidence"] == pytest.approx(confidence)
        assert s["coverage"] == coverage
        assert s["score"] == pytest.approx(score, rel=1e-6)
        assert sum(s["class_share"]) == pytest.approx(1.0, abs=1e-3)
    p = np.where(np.arange(10) < 5, 0.2, 0.0)[None].repeat(50, 0)  # two groups of 5 classes
    p = np.concatenate([p, p[:, ::-1]])
    monkeypatch.setattr(scorer, "probabilities", lambda images: p)
    assert scorer.score(np.zeros((100, 1, 8, 8)))["score"] == pytest.approx(2.0, rel=1e-6)


def test_digit_scorer_learns_digits():
    tg.manual_seed(0)
    (x, y), _, (xt, yt) = load_digits()
    scorer = DigitScorer(8).fit(gan_images(x), y, epochs=10)
    assert scorer.accuracy(gan_images(xt), yt) > 0.85
    real = scorer.score(gan_images(xt))
    noise = scorer.score(rng.uniform(-1, 1, (300, 1, 8, 8)).astype(np.float32))
    assert real["coverage"] == 10 and real["score"] > 4.0 > noise["score"]


def test_plot_sample_rows():
    rows = [rng.uniform(-1, 1, (7, 1, 8, 8)) for _ in range(3)]
    fig = plot_sample_rows(rows, ["a", "b", "c"], "title")
    assert len(fig.axes) == 3 and [ax.get_ylabel() for ax in fig.axes] == ["a", "b", "c"]
    image = fig.axes[1].images[0].get_array()
    assert image.shape == (10, 70)  # 7 tiles of 8 pixels + a 1-pixel frame each
    np.testing.assert_allclose(image[1:9, 1:9], (rows[1][0, 0] + 1) / 2)
