"""InfoGAN pieces (tinygen.models.infogan): the latent layout, the shared body with two
heads, the information loss on hand-computed values, majority-mapping accuracy, training."""

import math

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.errors import ShapeError
from tinygen.models.image_gans import Generator
from tinygen.models.infogan import (InfoCritic, InfoGenerator, info_latent, info_loss,
                                    majority_accuracy, q_codes, shape_moments,
                                    sweep_consistency, train_infogan)


def test_latent_layout():
    rng = np.random.default_rng(0)
    latent, cat, cont = info_latent(rng, 500, 5, 10, 2)
    assert latent.shape == (500, 17) and latent.dtype == np.float32
    np.testing.assert_array_equal(latent[:, 5:15].argmax(1), cat)
    np.testing.assert_array_equal(latent[:, 5:15].sum(1), 1.0)
    np.testing.assert_allclose(latent[:, 15:], cont)
    assert np.abs(cont).max() <= 1 and cont.std() > 0.5
    assert set(cat.tolist()) == set(range(10))
    _, cat, _ = info_latent(rng, 3, 5, cat=np.array([4, 4, 1]))
    assert cat.tolist() == [4, 4, 1]


def test_balanced_codes_fill_every_value_equally():
    """balanced=True: each code value batch // categories times in every batch, the rest
    uniform, in shuffled order; the default stays i.i.d. (a batch of 30 of 10 codes is
    almost never exactly 3 apiece)."""
    rng = np.random.default_rng(0)
    for batch in (30, 64):
        for _ in range(20):
            latent, cat, _ = info_latent(rng, batch, 5, 10, 2, balanced=True)
            counts = np.bincount(cat, minlength=10)
            assert counts.min() >= batch // 10 and counts.sum() == batch
            assert counts.max() <= batch // 10 + batch % 10
            np.testing.assert_array_equal(latent[:, 5:15].argmax(1), cat)
    cat = info_latent(rng, 30, 5, 10, 2, balanced=True)[1]
    assert sorted(cat.tolist()) != cat.tolist()            # shuffled, not blocks of codes
    plain = [np.bincount(info_latent(rng, 30, 5)[1], minlength=10) for _ in range(20)]
    assert not all((c == 3).all() for c in plain)


def test_critic_heads_share_the_body():
    tg.manual_seed(0)
    critic = InfoCritic(8, (4, 8), categories=10, continuous=2, hidden=6)
    x = tg.tensor(np.random.default_rng(1).standard_normal((3, 1, 8, 8)).astype(np.float32))
    d, logits, means = critic(x)
    assert d.shape == (3, 1) and logits.shape == (3, 10) and means.shape == (3, 2)
    info_loss(logits, means, tg.tensor(np.array([1, 2, 3])), np.zeros((3, 2), np.float32)
              ).backward()
    body_grad = critic.body[0].weight.grad
    assert body_grad is not None and np.abs(body_grad.numpy()).max() > 0  # Q trains the body
    assert critic.d_head.weight.grad is None


def test_info_loss_by_hand():
    logits = tg.tensor(np.zeros((2, 10), np.float32))
    cat = tg.tensor(np.array([3, 7]))
    cont = np.array([[0.5, -0.5], [0.0, 1.0]], np.float32)
    assert float(info_loss(logits, tg.tensor(cont), cat, cont)) == pytest.approx(math.log(10),
                                                                                 rel=1e-6)
    off = tg.tensor(cont + np.array([[1.0, 1.0], [1.0, -1.0]], np.float32))
    # CE log 10 + weight · mean over samples of ½·(1 + 1) = 1
    assert float(info_loss(logits, off, cat, cont, weight=3.0)) == pytest.approx(
        math.log(10) + 3.0, rel=1e-6)
    with pytest.raises(ShapeError, match="info_loss"):
        info_loss(logits, tg.tensor(np.zeros((2, 3), np.float32)), cat, cont)


def test_majority_accuracy_by_hand():
    clusters = np.array([0, 0, 0, 1, 1, 2])
    labels = np.array([5, 5, 3, 3, 3, 5])
    assert majority_accuracy(clusters, labels) == pytest.approx(5 / 6)  # 2 + 2 + 1
    assert majority_accuracy(np.zeros(4, int), np.array([1, 1, 2, 3])) == pytest.approx(0.5)
    with pytest.raises(ShapeError, match="majority_accuracy"):
        majority_accuracy(np.zeros(3, int), np.zeros(2, int))


def test_training_moves_everything():
    tg.manual_seed(0)
    g, critic = Generator(4 + 3 + 1, 8, (8, 4)), InfoCritic(8, (4, 8), 3, 1, hidden=4)
    real = np.random.default_rng(0).uniform(-1, 1, (20, 1, 8, 8)).astype(np.float32)
    before = [p.numpy().copy() for p in g.parameters() + critic.parameters()]
    h = train_infogan(g, critic, real, 3, noise=4, categories=3, continuous=1, batch=8)
    assert len(h["d_loss"]) == len(h["g_loss"]) == len(h["info_loss"]) == 3
    assert all(np.isfinite(h[k]).all() for k in ("d_loss", "g_loss", "info_loss"))
    after = [p.numpy() for p in g.parameters() + critic.parameters()]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
    cats, means = q_codes(critic, real)
    assert cats.shape == (20,) and means.shape == (20, 1) and critic.training


def test_info_loss_weights_and_factored_gaussian_by_hand():
    logits = tg.tensor(np.zeros((2, 10), np.float32))
    cat = tg.tensor(np.array([3, 7]))
    cont = np.array([[0.5, -0.5], [0.0, 1.0]], np.float32)
    # the categorical term alone, scaled
    assert float(info_loss(logits, tg.tensor(cont), cat, cont, cat_weight=2.5)) == \
        pytest.approx(2.5 * math.log(10), rel=1e-6)
    # [μ, log σ]: μ off by 1 everywhere, log σ = log 2 → per code log 2 + ½·(1/2)² = 0.818...
    mu = cont + 1.0
    out = np.concatenate([mu, np.full((2, 2), math.log(2.0), np.float32)], axis=1)
    per_sample = 2 * (math.log(2.0) + 0.5 * 0.25)
    assert float(info_loss(logits, tg.tensor(out), cat, cont, cat_weight=0.0)) == \
        pytest.approx(per_sample, rel=1e-6)
    # log σ is clipped at −4: a collapsing σ cannot send the loss to −∞
    tiny = np.concatenate([cont, np.full((2, 2), -50.0, np.float32)], axis=1)
    assert float(info_loss(logits, tg.tensor(tiny), cat, cont, cat_weight=0.0)) == \
        pytest.approx(2 * -4.0, rel=1e-6)


def test_learned_std_head_and_q_batchnorm():
    tg.manual_seed(0)
    critic = InfoCritic(8, (4, 8), categories=10, continuous=2, hidden=6, q_batchnorm=True,
                        learn_std=True)
    x = np.random.default_rng(1).standard_normal((5, 1, 8, 8)).astype(np.float32)
    _, logits, q_cont = critic(tg.tensor(x))
    assert logits.shape == (5, 10) and q_cont.shape == (5, 4)
    cats, means = q_codes(critic, x)
    assert cats.shape == (5,) and means.shape == (5, 2)     # means only, σ dropped
    np.testing.assert_allclose(means, critic.eval()(tg.tensor(x))[2].numpy()[:, :2], rtol=1e-6)
    with pytest.raises(ShapeError, match="info_loss"):
        info_loss(logits, tg.tensor(np.zeros((5, 3), np.float32)), tg.tensor(np.zeros(5, int)),
                  np.zeros((5, 2), np.float32))


def _line(slope: float, size: int = 15, half: int = 0) -> np.ndarray:
    """A line through the centre, x = c + slope·(c − y), `half` pixels thick each side."""
    img = np.zeros((size, size))
    c = size // 2
    for y in range(size):
        x = int(round(c + slope * (c - y)))
        img[y, max(x - half, 0):min(x + half + 1, size)] = 1.0
    return img


def test_shape_moments_width_and_slant_by_hand():
    imgs = np.stack([_line(0.0), _line(0.0, half=2), _line(1.0), _line(-0.5)])[:, None]
    width, slant = shape_moments(imgs * 2 - 1)  # any range: ink is measured from the minimum
    assert slant[0] == pytest.approx(0, abs=1e-12) and slant[1] == pytest.approx(0, abs=1e-12)
    assert width[0] == pytest.approx(0, abs=1e-12) and width[1] == pytest.approx(np.sqrt(2))
    assert slant[2] == pytest.approx(1.0) and slant[3] == pytest.approx(-0.5, abs=0.05)
    with pytest.raises(ShapeError, match="shape_moments"):
        shape_moments(np.zeros((2, 8, 8)))


class _Shear(nn.Module):
    """A fake generator: a line whose slope is the first continuous code (and, when
    `noisy`, whose direction is flipped by the sign of z₀)."""

    def __init__(self, noise: int, categories: int, noisy: bool):
        super().__init__()
        self.noise, self.categories, self.noisy = noise, categories, noisy

    def forward(self, latent):
        lat = latent.numpy()
        code = lat[:, self.noise + self.categories]
        sign = np.sign(lat[:, 0]) if self.noisy else np.ones(len(lat))
        return tg.tensor(np.stack([_line(s * c)[None] for s, c in zip(sign, code)]))


@pytest.mark.parametrize("noisy, expected", [(False, 1.0), (True, 0.0)])
def test_sweep_consistency_sees_a_consistent_code(noisy, expected):
    gen = _Shear(4, 3, noisy)
    out = sweep_consistency(gen, 0, noise=4, categories=3, continuous=2, draws=400,
                            rng=np.random.default_rng(0))
    assert out["slant"] == pytest.approx(expected, abs=0.15)
    with pytest.raises(ShapeError, match="sweep_consistency"):
        sweep_consistency(gen, 2, noise=4, categories=3, continuous=2,
                          rng=np.random.default_rng(0))


def test_paper_generator_shapes_and_range():
    tg.manual_seed(0)
    g = InfoGenerator(7, 8, hidden=16, channels=4)
    z = tg.tensor(np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32))
    x = g(z).numpy()
    assert x.shape == (5, 1, 8, 8) and np.abs(x).max() <= 1
    assert g.fc[3].out_features == 4 * 4 * 4     # 4 maps of side 8/2
    with pytest.raises(ShapeError, match="InfoGenerator: size must be even, got 7"):
        InfoGenerator(7, 7)


def test_critic_fc_layer_is_shared_by_both_heads():
    tg.manual_seed(0)
    critic = InfoCritic(8, (4, 8), categories=10, continuous=2, hidden=6, fc=5)
    fc = critic.body[-3]
    assert isinstance(fc, nn.Linear) and fc.out_features == 5
    assert critic.d_head.in_features == 5 and critic.q_head[0].in_features == 5
    x = tg.tensor(np.random.default_rng(1).standard_normal((4, 1, 8, 8)).astype(np.float32))
    d, logits, means = critic(x)
    assert d.shape == (4, 1) and logits.shape == (4, 10) and means.shape == (4, 2)
    info_loss(logits, means, tg.tensor(np.array([0, 1, 2, 3])), np.zeros((4, 2), np.float32)
              ).backward()
    assert np.abs(fc.weight.grad.numpy()).max() > 0 and critic.d_head.weight.grad is None
    g = InfoGenerator(4 + 10 + 2, 8, hidden=8, channels=4)
    h = train_infogan(g, critic, x.numpy(), 2, noise=4, batch=4, lr=1e-3, lr_g=2e-3)
    assert all(np.isfinite(h[k]).all() for k in ("d_loss", "g_loss", "info_loss"))


def test_q_head_gets_its_own_rate():
    """lr_q moves Q's head (only) at its own rate: Adam's first step changes each weight by
    about lr·sign(gradient), so one round shows the two rates in the step sizes."""
    def step_sizes(lr_q):
        tg.manual_seed(0)
        g, critic = Generator(4 + 3 + 1, 8, (8, 4)), InfoCritic(8, (4, 8), 3, 1, hidden=4)
        real = np.random.default_rng(0).uniform(-1, 1, (20, 1, 8, 8)).astype(np.float32)
        parts = {"q": critic.q_head.parameters(), "body": critic.body.parameters()}
        before = {k: [p.numpy().copy() for p in ps] for k, ps in parts.items()}
        train_infogan(g, critic, real, 1, noise=4, categories=3, continuous=1, batch=8,
                      lr=1e-3, lr_q=lr_q)
        return {k: max(np.abs(p.numpy() - b).max() for p, b in zip(ps, before[k]))
                for k, ps in parts.items()}

    own, shared = step_sizes(1e-2), step_sizes(None)
    assert own["q"] == pytest.approx(1e-2, rel=0.05)
    assert own["body"] == pytest.approx(1e-3, rel=0.05)
    assert shared["q"] == pytest.approx(1e-3, rel=0.05)


def test_spectral_critic_without_batchnorm_reads_each_image_alone():
    """spectral=True, batchnorm=False: every body layer and D's score spectrally normalised,
    no BatchNorm anywhere, so an image's outputs do not depend on its batch or on the mode
    (train/eval) — Q reads real digits as it read the fakes it trained on."""
    tg.manual_seed(0)
    critic = InfoCritic(8, (4, 8), categories=10, continuous=2, hidden=6, fc=5,
                        spectral=True, batchnorm=False)
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in critic.modules())
    weighted = [m for m in critic.body if hasattr(m, "weight") or isinstance(m, nn.SpectralNorm)]
    assert len(weighted) == 3 and all(isinstance(m, nn.SpectralNorm) for m in weighted)
    assert isinstance(critic.d_head, nn.SpectralNorm) and critic.d_head.module.in_features == 5
    x = np.random.default_rng(1).standard_normal((6, 1, 8, 8)).astype(np.float32)
    critic.eval()
    alone = [t.numpy() for t in critic(tg.tensor(x[:2]))]
    together = [t.numpy()[:2] for t in critic(tg.tensor(x))]
    for a, b in zip(alone, together):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    g = InfoGenerator(4 + 10 + 2, 8, hidden=8, channels=4)
    h = train_infogan(g, critic, x, 2, noise=4, batch=4, lr=1e-3, lr_g=2e-3)
    assert all(np.isfinite(h[k]).all() for k in ("d_loss", "g_loss", "info_loss"))
    cats, _ = q_codes(critic, x)
    critic.train()
    np.testing.assert_array_equal(cats, critic(tg.tensor(x))[1].numpy().argmax(1))
