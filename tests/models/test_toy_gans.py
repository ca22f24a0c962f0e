"""The toy-GAN helpers (:mod:`tinygen.models.toy_gans`): MLP builder and initialisation, the
learning-rate factor, each loss wired to the right formula, the fused penalty equal to the
generic one inside a training step, who gets updated by which step, EMA sampling, and a
short training run that moves G's samples onto a target."""

from __future__ import annotations

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.models import gan
from tinygen.models.toy_gans import (LOSSES, ToyGAN, cosine_tail, fit_toy_gan, fusable_layers,
                                     fused_mlp, mlp)


def test_mlp_layout_and_init():
    net = mlp(2, 256, 3, depth=3, generator=tg.Generator(0))
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.ReLU] * 3 + [nn.Linear]
    assert net(tg.randn(5, 2)).shape == (5, 3)
    # Glorot-uniform by default: Var = 2 / (fan_in + fan_out)
    assert np.var(net[2].weight.numpy()) == pytest.approx(2 / 512, rel=0.05)
    he = mlp(2, 256, 3, depth=3, init="he", generator=tg.Generator(0))
    for lin in (he[2], he[4]):  # hidden 256 -> 256: He-uniform, Var = 2 / fan_in
        assert np.var(lin.weight.numpy()) == pytest.approx(2 / 256, rel=0.05)
    assert np.var(he[6].weight.numpy()) == pytest.approx(2 / (256 + 3), rel=0.15)
    assert all(np.all(m.bias.numpy() == 0) for m in net if isinstance(m, nn.Linear))
    assert all(m.bias is None for m in mlp(2, 8, 1, bias=False) if isinstance(m, nn.Linear))
    leaky = mlp(2, 8, 1, depth=2, slope=0.2)
    assert [type(m) for m in leaky].count(nn.LeakyReLU) == 2
    with pytest.raises(ValueError, match="depth and width"):
        mlp(2, 0, 1)
    with pytest.raises(ValueError, match="init"):
        mlp(2, 4, 1, init="orthogonal")


def test_cosine_tail():
    f = cosine_tail(start=0.5, final=0.1)
    assert f(0.0) == f(0.5) == 1.0
    assert f(1.0) == pytest.approx(0.1)
    assert f(0.75) == pytest.approx(0.1 + 0.9 * 0.5)
    values = [f(p) for p in np.linspace(0, 1, 50)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    with pytest.raises(ValueError):
        cosine_tail(start=1.0)


def _pair(seed=0, n=32):
    g = tg.Generator(seed)
    return g.normal(n, 2), g.normal(n, 2) * 0.5 + 1.0


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_are_the_formulas_of_models_gan(loss):
    toy = ToyGAN(loss, width=16, lam=3.0, seed=1)
    real, fake = _pair()
    d_r, d_f = toy.D(real), toy.D(fake)
    state = toy.rng.state_dict()
    got = toy.critic_loss(real, fake).item()
    toy.rng.load_state_dict(state)  # the same interpolation ε for the reference below
    if loss == "sgan":
        want = gan.sgan_d_loss(d_r, d_f)
    elif loss == "rsgan":
        want = gan.rsgan_d_loss(d_r, d_f)
    elif loss == "ganqp":
        want = gan.ganqp_d_loss(d_r, d_f, real, fake, 3.0, "l2")
    else:
        kind = "two_sided" if loss == "wgan_gp" else "zero_centred"
        want = gan.wgan_d_loss(d_r, d_f) + 3.0 * gan.gradient_penalty(
            toy.D, real, fake, kind=kind, generator=toy.rng)
    assert got == pytest.approx(want.item(), rel=1e-5, abs=1e-6)
    g_got = toy.generator_loss(real, fake).item()
    g_want = {"sgan": lambda: gan.sgan_g_loss(d_f), "rsgan": lambda: gan.rsgan_g_loss(d_r, d_f),
              "ganqp": lambda: gan.ganqp_g_loss(d_r, d_f),
              "wgan_gp": lambda: gan.wgan_g_loss(d_f),
              "energy": lambda: gan.wgan_g_loss(d_f)}[loss]().item()
    assert g_got == pytest.approx(g_want, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("loss", ["wgan_gp", "energy"])
def test_fused_penalty_step_equals_generic_step(loss):
    """The same critic update through the fused kernel and through double backward."""
    tg.set_default_dtype("float64")
    try:
        pair = [ToyGAN(loss, width=12, lam=2.0, seed=3, penalty=p) for p in ("fused", "generic")]
        real = tg.Generator(5).normal(16, 2)
        for toy in pair:
            toy.critic_step(real)
        for pf, pg in zip(pair[0].D.parameters(), pair[1].D.parameters()):
            np.testing.assert_allclose(pf.numpy(), pg.numpy(), rtol=1e-9, atol=1e-12)
        assert any(np.any(pf.numpy() != p0.numpy()) for pf, p0 in
                   zip(pair[0].D.parameters(), ToyGAN(loss, width=12, seed=3).D.parameters()))
    finally:
        tg.set_default_dtype("float32")


def test_each_step_updates_only_its_player():
    toy = ToyGAN("ganqp", width=8, seed=0)
    real = tg.Generator(1).normal(16, 2)
    g0 = [p.numpy().copy() for p in toy.G.parameters()]
    d0 = [p.numpy().copy() for p in toy.D.parameters()]
    toy.critic_step(real)
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(g0, toy.G.parameters()))
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(d0, toy.D.parameters()))
    d1 = [p.numpy().copy() for p in toy.D.parameters()]
    toy.generator_step(real)
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(d1, toy.D.parameters()))
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(g0, toy.G.parameters()))
    assert all(p.requires_grad for p in toy.D.parameters())  # unfrozen again


def test_learning_rate_factor_and_ema_sampling():
    toy = ToyGAN("wgan_gp", width=8, lr_g=1e-3, lr_d=2e-3, ema=0.9, seed=0)
    toy.set_lr_factor(0.25)
    assert toy.opt_g.param_groups[0]["lr"] == pytest.approx(2.5e-4)
    assert toy.opt_d.param_groups[0]["lr"] == pytest.approx(5e-4)
    data = tg.Generator(2)
    toy.train(lambda: data.normal(32, 2).numpy(), 5)
    assert toy.ema.num_updates == 5
    raw = [p.numpy().copy() for p in toy.G.parameters()]
    state = toy.rng.state_dict()
    averaged = toy.sample(100)
    toy.rng.load_state_dict(state)
    plain = toy.sample(100, averaged=False)
    assert averaged.shape == plain.shape == (100, 2) and averaged.dtype == np.float64
    assert not np.allclose(averaged, plain)  # the shadow weights differ after 5 steps
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(raw, toy.G.parameters()))
    assert toy.critic(np.zeros((3, 2))).shape == (3,)


@pytest.mark.parametrize("loss", ["wgan_gp", "ganqp", "sgan"])
def test_short_training_moves_samples_to_the_data(loss):
    """Data N((1.5, −1), 0.1²I): a few hundred steps bring the sample mean close to it from
    a start near the origin."""
    toy = ToyGAN(loss, width=32, depth=2, lr_g=2e-3, lr_d=2e-3, betas=(0.5, 0.999),
                 n_critic=2, lam=0.1 if loss == "wgan_gp" else 10.0, seed=0)
    data = tg.Generator(1)
    target = np.array([1.5, -1.0])
    start = np.linalg.norm(toy.sample(500).mean(0) - target)

    def batch():
        return (target + 0.1 * data.normal(64, 2, dtype=np.float64).numpy()).astype(np.float32)

    toy.train(batch, 300, lr_factor=cosine_tail(0.5, 0.1))
    end = np.linalg.norm(toy.sample(500).mean(0) - target)
    assert end < 0.25 < start, (start, end)


def test_errors():
    with pytest.raises(ValueError, match="loss must be one of"):
        ToyGAN("lsgan")
    with pytest.raises(ValueError, match="penalty"):
        ToyGAN("wgan_gp", penalty="fast")
    with pytest.raises(ValueError, match="n_critic"):
        ToyGAN("sgan", n_critic=0)
    with pytest.raises(ValueError, match="depth and width must be positive"):
        ToyGAN("sgan", g_width=0)


def test_generator_width_can_differ_from_the_critics():
    toy = ToyGAN("ganqp", width=8, g_width=16, seed=0)
    assert toy.G[0].weight.shape == (2, 16) and toy.G[6].weight.shape == (16, 2)
    assert toy.D[0].weight.shape == (2, 8) and toy.D[6].weight.shape == (8, 1)
    same = ToyGAN("ganqp", width=8, g_width=8, seed=0)  # g_width = width: the default build
    plain = ToyGAN("ganqp", width=8, seed=0)
    for a, b in zip(same.G.parameters(), plain.G.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _batches(seed: int, n: int = 64):
    """A fresh N(0, I) batch of n points at every call, from its own seeded stream."""
    data = tg.Generator(seed)
    return lambda: data.normal(n, 2).numpy()


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("variant", [{}, {"slope": 0.2}, {"critic_bias": False, "ema": 0.9}])
def test_fused_networks_train_bitwise_as_the_modules(loss, variant):
    """ToyGAN(fused=True) runs G and D as one fused_mlp node per call: after a few steps
    (two critic steps each, a decaying rate) every weight, loss and sample is *exactly*
    what the modules' own ops give, so switching it on changes no lesson's numbers."""
    runs = []
    for fused in (True, False):
        toy = ToyGAN(loss, width=24, n_critic=2, lr_g=3e-3, lr_d=3e-3, lam=0.5, seed=3,
                     fused=fused, **variant)
        history = toy.train(_batches(7), 4, lr_factor=cosine_tail(0.3))
        params = [p.numpy() for p in [*toy.G.parameters(), *toy.D.parameters()]]
        runs.append((history, params, toy.sample(50), toy.critic(np.ones((3, 2)))))
    (h1, p1, s1, c1), (h2, p2, s2, c2) = runs
    assert h1 == h2
    assert all(np.array_equal(a, b) for a, b in zip(p1, p2, strict=True))
    assert np.array_equal(s1, s2) and np.array_equal(c1, c2)


def test_fused_mlp_node():
    """One node with the composed value and gradients (bitwise), for the input and every
    parameter, twice over a retained graph; second order through the modules; anything it
    does not know (here a Tanh) goes through the module itself."""
    net = mlp(3, 16, 2, depth=2, slope=0.1, generator=tg.Generator(0))
    x = tg.Generator(1).normal(32, 3).requires_grad_()
    weights = tg.Generator(2).normal(32, 2)
    grads = []
    for run in (lambda: fused_mlp(net, x), lambda: net(x)):
        x.grad = None
        net.zero_grad()
        y = run()
        loss = (y * weights).sum()
        loss.backward(retain_graph=True)
        loss.backward()
        grads.append([y.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in net.parameters()])
    assert fused_mlp(net, x)._node.op == "fused_mlp" and net(x)._node.op != "fused_mlp"
    assert all(np.array_equal(a, b) for a, b in zip(*grads, strict=True))
    # a recorded backward pass (create_graph) goes through the modules: second derivatives
    fused = tg.grad((fused_mlp(net, x) ** 2).sum(), [x], create_graph=True)[0]
    plain = tg.grad((net(x) ** 2).sum(), [x], create_graph=True)[0]
    np.testing.assert_array_equal(fused.numpy(), plain.numpy())
    second = [tg.grad((d * d).sum(), [p])[0].numpy()
              for d in (fused, plain) for p in [list(net.parameters())[0]]]
    np.testing.assert_allclose(second[0], second[1], rtol=1e-6)
    odd = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    assert fusable_layers(odd) is None and fusable_layers(net) is not None
    np.testing.assert_array_equal(fused_mlp(odd, x).numpy(), odd(x).numpy())


def test_fit_toy_gan_is_the_in_process_training_and_runs_in_workers():
    """The job function trains and scores exactly as ToyGAN.train does in this process, and
    gives the same in two worker processes (fresh engine streams: nothing unseeded)."""
    from tinygen.data import toys
    from tinygen.metrics import mode_coverage
    from tinygen.parallel import map_jobs

    settings = dict(loss="wgan_gp", n_critic=2, lam=0.1, width=8, lr_g=3e-3, lr_d=3e-3)
    toy = ToyGAN(**settings, seed=1)
    data = tg.Generator(11)
    toy.train(lambda: toys.grid(32, data) / 4.0, 6, lr_factor=cosine_tail(0.3, 0.1))
    want = 4.0 * toy.sample(200)
    score = mode_coverage(want, toys.GRID)
    jobs = [dict(gan=settings, sampler=toys.grid, steps=6, seed=seed, data_seed=11, scale=4.0,
                 batch=32, schedule=dict(start=0.3, final=0.1), samples=200, modes=toys.GRID)
            for seed in (1, 2)]
    tg.manual_seed(5)  # the engine's global stream plays no part
    here = fit_toy_gan(**jobs[0])
    one, two = map_jobs(fit_toy_gan, jobs, 2)
    for got in (here, one):
        np.testing.assert_array_equal(got["samples"], want)
        assert (got["modes"], got["hq"]) == (score["modes"], score["high_quality"])
    assert not np.array_equal(two["samples"], want)  # another seed, another run
    assert set(fit_toy_gan(**{**jobs[0], "modes": None})) == {"samples", "seconds"}
