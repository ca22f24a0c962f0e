"""f-VAE (:mod:`tinygen.models.variational.fvae`), in float64: the flow on z inverts to 1e-10
and its log-det is log|det| of the brute-force Jacobian; its density integrates to 1 by
quadrature; the f-VAE loss equals the post's formula computed by hand on a tiny case (with
∂F/∂u by finite differences); no flow steps give the plain N(0, I) prior; the dequantised
training and bits/dim helpers agree with the VAE's own numbers; bad input raises errors
naming the class.

Broken variants that fail these tests: dropping the ``logdet`` term in ``FlowPrior.log_prob``
(the quadrature gives ≠ 1 and the hand computation differs), reversing the order of steps
in ``FlowPrior.inverse`` (the round trip is off by O(1)); in ``VectorFlowStep``, dropping
the ActNorm's ``log_scale.sum()`` from the log-det or taking the coupling's shift and scale
halves the other way round (it then differs from Glow's FlowStep); in
``SharedVarianceEncoder``, starting log σ₁² from the means' standard deviation instead of
their variance, or initialising again on a later batch; in ``build_vae``, dropping its
``manual_seed(seed)`` (a worker's job then starts from fresh entropy and differs from the same
job run here)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tinygen import nn
from tinygen.errors import ArgumentError, ShapeError
from tinygen.models.flows import glow as G
from tinygen.models.variational import fvae as FV
from tinygen.models.variational.vae import GaussianDecoder, StandardNormal


@pytest.fixture(autouse=True)
def float64():
    tg.set_default_dtype("float64")
    yield
    tg.set_default_dtype("float32")


def jiggle(module, seed: int, scale: float = 0.3):
    """float64, every parameter moved off its initial value (the zero-initialised last convs
    would make couplings trivial), in eval mode."""
    module.to(dtype=np.float64)
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        p.data[...] += scale * rng.standard_normal(p.shape)
    return module.eval()


def flow(dim: int, steps: int, seed: int, scale: float = 0.3) -> FV.FlowPrior:
    return jiggle(FV.FlowPrior(dim, steps, hidden=6, generator=tg.Generator(seed)), seed, scale)


def jacobian(fn, u: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂fn/∂u (d × d) at one vector u by central differences."""
    cols = []
    for i in range(len(u)):
        e = np.zeros_like(u)
        e[i] = h
        cols.append((fn(u + e) - fn(u - e)) / (2 * h))
    return np.stack(cols, axis=1)


@settings(deadline=None, max_examples=15)
@given(dim=st.sampled_from([2, 4, 6]), steps=st.integers(1, 3),
       lead=st.sampled_from([(1,), (3,), (2, 3)]), seed=st.integers(0, 2**16))
def test_the_flow_on_z_inverts_and_its_log_det_is_the_jacobians(dim, steps, lead, seed):
    f = flow(dim, steps, seed)
    z = tg.tensor(np.random.default_rng(seed).standard_normal((*lead, dim)))
    eps, logdet = f(z)
    assert eps.shape == z.shape and logdet.shape == lead
    assert np.abs(f.inverse(eps).numpy() - z.numpy()).max() < 1e-10
    flat_z, flat_ld = z.numpy().reshape(-1, dim), logdet.numpy().reshape(-1)
    for row, ld in zip(flat_z[:2], flat_ld[:2]):
        with tg.no_grad():
            jac = jacobian(lambda v: f(tg.tensor(v[None]))[0].numpy()[0], row)
        sign, exact = np.linalg.slogdet(jac)
        assert sign != 0 and ld == pytest.approx(exact, abs=1e-6)


@pytest.mark.parametrize("seed, scale, box", [(4, 0.1, 12), (5, 0.2, 20)])
def test_the_flow_density_integrates_to_one_by_quadrature(seed, scale, box):
    # couplings contract (scale σ(·) ≤ 1), so the density's tails can be wide: the box must
    # hold them (the edge test below)
    f = flow(2, 2, seed, scale)
    g = np.linspace(-box, box, 40 * box + 1)
    grid = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    with tg.no_grad():
        p = np.exp(f.log_prob(tg.tensor(grid)).numpy()).reshape(len(g), len(g))
    step = g[1] - g[0]
    assert np.trapezoid(np.trapezoid(p, dx=step), dx=step) == pytest.approx(1.0, abs=1e-4)
    assert max(e.max() for e in (p[0], p[-1], p[:, 0], p[:, -1])) < 1e-8


@settings(deadline=None, max_examples=10)
@given(dim=st.sampled_from([2, 4, 6]), seed=st.integers(0, 2**16))
def test_a_vector_flow_step_is_glows_flow_step_on_a_1x1_image(dim, seed):
    # the same parameters in Glow's FlowStep (1 × 1 convolutions on (d, 1, 1) images) and in
    # VectorFlowStep (matrices on (B, d) rows) give the same outputs and log-dets
    vec = jiggle(FV.VectorFlowStep(dim, 5, tg.Generator(seed)), seed)
    img = G.FlowStep(dim, 5, True, "lu", tg.Generator(seed), kernel=1).to(dtype=np.float64)
    img.eval()
    img.actnorm.bias.data[...] = vec.bias.numpy().reshape(1, dim, 1, 1)
    img.actnorm.log_scale.data[...] = vec.log_scale.numpy().reshape(1, dim, 1, 1)
    img.actnorm.initialized.data[...] = 1
    for name in ("p", "sign", "lower", "upper", "log_s"):
        getattr(img.permute, name).data[...] = getattr(vec.mix, name).numpy()
    for conv, lin in zip(img.coupling.net[::2], vec.net[::2]):
        conv.weight.data[...] = lin.weight.numpy().T[:, :, None, None]
        conv.bias.data[...] = lin.bias.numpy()
    z = np.random.default_rng(seed).standard_normal((5, dim))
    y, logdet = vec(tg.tensor(z))
    y_img, logdet_img = img(tg.tensor(z.reshape(5, dim, 1, 1)))
    assert np.allclose(y.numpy(), y_img.numpy().reshape(5, dim), atol=1e-12)
    assert np.allclose(logdet.numpy(), logdet_img.numpy(), atol=1e-12)


def test_sigma1_starts_from_the_first_batch_at_signal_to_noise_one():
    enc = FV.SharedVarianceEncoder(nn.Sequential(nn.Linear(3, 4), nn.Tanh()), 4, 2)
    x = tg.tensor(np.random.default_rng(0).standard_normal((50, 3)))
    enc.eval()
    assert enc(x)[1].item() == 0.0  # not in eval mode
    enc.train()
    mu, logvar = enc(x)
    assert logvar.item() == pytest.approx(np.log(mu.numpy().var(axis=0).mean()), abs=1e-6)
    assert enc(2 * x)[1].item() == logvar.item()  # only the first batch
    fixed = FV.SharedVarianceEncoder(nn.Linear(3, 4), 4, 2, logvar=-1.0).train()
    assert fixed(x)[1].item() == -1.0


def test_no_flow_steps_is_the_plain_vae_prior():
    z = tg.tensor(np.random.default_rng(0).standard_normal((3, 5, 4)))
    f = FV.FlowPrior(4, steps=0)
    assert np.allclose(f.log_prob(z).numpy(), StandardNormal(4).log_prob(z).numpy(),
                       atol=1e-12)
    assert f.sample(7, tg.Generator(0)).shape == (7, 4)


def tiny_fvae(seed: int = 0):
    """x ∈ R⁴, z ∈ R²: encoder body Linear(4, 3) + tanh, decoder Linear(2, 4), a 2-step
    flow; every parameter moved off its initial value."""
    gen = tg.Generator(seed)
    enc = FV.SharedVarianceEncoder(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), 3, 2,
                                   logvar=-1.0)
    dec = GaussianDecoder(nn.Linear(2, 4), variance="learned", logvar=-0.5)
    model = FV.FVAE(enc, dec, FV.FlowPrior(2, 2, hidden=5, generator=gen))
    return jiggle(model, seed, 0.2)


def test_the_f_vae_loss_is_the_posts_formula_computed_by_hand():
    model = tiny_fvae()
    x = np.random.default_rng(1).random((3, 4))
    loss = model.loss(tg.tensor(x), tg.Generator(9)).item()
    # by hand: the same u (the generator's first normal draw), z = E(x) + σ₁u
    u = tg.Generator(9).normal(3, 2, dtype=np.float64).numpy()
    body_w, body_b = model.encoder.body[0].weight.numpy(), model.encoder.body[0].bias.numpy()
    mu = np.tanh(x @ body_w + body_b) @ model.encoder.mu.weight.numpy() + \
        model.encoder.mu.bias.numpy()
    sigma1 = np.exp(0.5 * model.encoder.log_sigma2.item())
    sigma2_sq = np.exp(model.decoder.log_sigma2.item())
    lin = model.decoder.net
    total = []
    for i in range(3):
        z = mu[i] + sigma1 * u[i]
        g = z @ lin.weight.numpy() + lin.bias.numpy()

        def f_of_u(v, i=i):
            with tg.no_grad():
                return model.prior(tg.tensor((mu[i] + sigma1 * v)[None]))[0].numpy()[0]

        logdet_u = np.linalg.slogdet(jacobian(f_of_u, u[i]))[1]  # log|det ∂F/∂u|
        fz = f_of_u(u[i])
        posts = (((g - x[i]) ** 2).sum() / (2 * sigma2_sq) + 0.5 * (fz ** 2).sum() - logdet_u)
        # + the normaliser of the learned σ₂, and the terms no parameter changes
        total.append(posts + 0.5 * 4 * np.log(2 * np.pi * sigma2_sq) - 0.5 * (u[i] ** 2).sum())
    assert loss == pytest.approx(np.mean(total), abs=1e-6)


def test_dequantized_training_and_bits_per_dim_helpers():
    tg.set_default_dtype("float32")
    rng = np.random.default_rng(0)
    proto = rng.integers(0, 17, (2, 1, 2, 3))
    images = np.clip(proto[rng.integers(0, 2, 400)] + rng.integers(-1, 2, (400, 1, 2, 3)),
                     0, 16)
    enc = FV.SharedVarianceEncoder(nn.Sequential(nn.Linear(6, 16), nn.ReLU()), 16, 2)
    dec = GaussianDecoder(nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 6)),
                          variance="learned", logvar=-2.0)
    model = FV.FVAE(enc, dec, FV.FlowPrior(2, 1, hidden=8, generator=tg.Generator(0)))
    x = G.dequantize(images[:50], 17, tg.Generator(1))
    before = FV.elbo_bits(model, x, 17, draws=4, generator=tg.Generator(2)).mean()
    losses = FV.fit_dequantized(model, images, 300, 50, 1e-2, 17, warmup=10, scalar_lr=5e-2,
                                generator=tg.Generator(3))
    assert len(losses) == 300 and np.mean(losses[-20:]) < np.mean(losses[:20]) - 0.5
    elbo = FV.elbo_bits(model, x, 17, draws=4, generator=tg.Generator(2))
    assert elbo.shape == (50,) and elbo.mean() < before - 0.5
    # the helper is bits_per_dim of the VAE's own ELBO
    with tg.no_grad():
        direct = model.elbo(tg.tensor(x.reshape(50, 6).astype(np.float32)), tg.Generator(5))
    one = FV.elbo_bits(model, x, 17, generator=tg.Generator(5))
    assert np.allclose(one, G.bits_per_dim(direct.numpy(), 6, 17), atol=1e-4)
    # importance sampling tightens the bound
    iw = FV.is_bits(model, x, 200, 17, tg.Generator(6))
    assert iw.shape == (50,) and iw.mean() < elbo.mean()


def test_a_vae_job_is_the_in_process_training_and_fixed_by_its_seed():
    """Lesson 17's job (:func:`FV.fit_dequantized_vae`) gives what building, training and
    scoring the VAE here gives, to the last bit; its returned state rebuilds the model; and
    two jobs in worker processes (fresh random streams) give the same numbers again, though
    the engine's stream here was moved in between."""
    from tinygen.parallel import run_jobs

    tg.set_default_dtype("float32")
    model = {"latent": 2, "hidden": 16, "spread": "shared", "flow_steps": 1, "flow_hidden": 8}
    train = {"steps": 20, "batch": 50, "lr": 2e-3, "scalar_lr": 2e-2}
    job = {"data": "digits 8x8", "model": model, "train": train, "seed": 3, "k": 10,
           "is_images": 20, "elbo_draws": 2}
    run = FV.fit_dequantized_vae(**job)
    # by hand, in this process
    images, test, levels = G.image_data("digits 8x8")
    x_test = G.dequantize(test, levels, tg.Generator(5))
    logvar = float(np.log(G.dequantize(images, levels, tg.Generator(6)).var()))
    vae = FV.build_vae(64, **model, pixel_logvar=logvar, seed=3)
    losses = FV.fit_dequantized(vae, images, 20, 50, 2e-3, levels, scalar_lr=2e-2,
                                generator=tg.Generator(4))
    np.testing.assert_array_equal(run["losses"], losses)
    np.testing.assert_array_equal(
        run["elbo"], FV.elbo_bits(vae, x_test, levels, 2, tg.Generator(7)))
    np.testing.assert_array_equal(
        run["is"], FV.is_bits(vae, x_test[:20], 10, levels, tg.Generator(8)))
    assert run["elbo"].shape == (len(test),) and run["is"].shape == (20,)
    assert run["params"] == sum(p.size for p in vae.parameters())
    assert run["sigma2"] == float(np.exp(0.5 * vae.decoder.log_sigma2.item()))
    assert all(isinstance(v, np.ndarray) for v in run["state"].values())
    # the returned state, loaded into the same model built afresh, scores the same
    rebuilt = FV.build_vae(64, **model, seed=3).eval()
    rebuilt.load_state_dict(run["state"])
    np.testing.assert_array_equal(
        run["elbo"], FV.elbo_bits(rebuilt, x_test, levels, 2, tg.Generator(7)))
    # two jobs: run_jobs spawns two workers, whose streams start from fresh entropy
    tg.manual_seed(1)
    tg.randn(100)
    plain = {**job, "model": {**model, "spread": "x", "flow_steps": 0}}
    a, b = run_jobs([(FV.fit_dequantized_vae, job), (FV.fit_dequantized_vae, plain)], 2)
    for key in ("losses", "elbo", "is"):
        np.testing.assert_array_equal(a[key], run[key])
    assert b["params"] < a["params"] and not np.array_equal(b["elbo"], a["elbo"])


def test_bad_input_raises_errors_naming_the_class():
    with pytest.raises(ArgumentError, match="build_vae: spread must be one of"):
        FV.build_vae(4, 2, spread="per-image")
    with pytest.raises(ShapeError, match=r"FlowPrior: expected codes of shape \(\.\.\., 4\)"):
        FV.FlowPrior(4, 1)(tg.tensor(np.zeros((2, 3))))
    with pytest.raises(ArgumentError, match="FVAE: the prior must be a FlowPrior"):
        FV.FVAE(FV.SharedVarianceEncoder(nn.Linear(2, 2), 2, 2),
                GaussianDecoder(nn.Linear(2, 2)), StandardNormal(2))
    with pytest.raises(ShapeError, match="FlowPrior: dim must be at least 2, got 1"):
        FV.FlowPrior(1)
    with pytest.raises(ShapeError, match="FlowPrior: dim must be even.*got 3"):
        FV.FlowPrior(3)
