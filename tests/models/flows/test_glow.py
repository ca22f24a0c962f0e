"""Glow's layers (:mod:`tinygen.models.flows.glow`), in float64: every layer inverts to 1e-10,
its log-det equals log|det| of its Jacobian built by brute force (one reverse pass per output
with ``tinygen.grad``), a whole Glow's density integrates to 1 by quadrature, bits/dim of the
uniform model is exactly 8, and bad shapes raise errors naming the layer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tinygen.testing import check_grads
from tinygen.errors import ArgumentError, ShapeError
from tinygen.models.flows import glow as G

PERMS = ["lu", "conv", "reverse", "shuffle"]


def jiggle(module, seed: int, scale: float = 0.3):
    """float64, and every parameter moved off its initial value (the zero-initialised last
    convs would make couplings trivial), in eval mode."""
    module.to(dtype=np.float64)
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        p.data[...] += scale * rng.standard_normal(p.shape)
    return module.eval()


def images(shape, seed: int) -> tg.Tensor:
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape))


def layers(channels: int, seed: int) -> dict:
    gen = tg.Generator(seed)
    out = {"actnorm": G.ActNorm(channels),
           "conv1x1": G.InvConv1x1(channels, lu=False, generator=gen),
           "conv1x1 LU": G.InvConv1x1(channels, lu=True, generator=gen),
           "reverse": G.Permutation(channels, "reverse"),
           "shuffle": G.Permutation(channels, "shuffle", gen)}
    if channels % 2 == 0:
        out["affine coupling"] = G.Coupling(channels, 8, True, gen)
        out["additive coupling"] = G.Coupling(channels, 8, False, gen)
        out["step"] = G.FlowStep(channels, 8, True, "lu", gen)
    return {name: jiggle(m, seed) for name, m in out.items()}


def jacobian_logdet(fn, x: tg.Tensor) -> float:
    """log|det ∂fn(x)/∂x| for one image x (1, C, H, W), by one tinygen.grad per output."""
    x = tg.tensor(x.numpy(), requires_grad=True)
    y = fn(x).reshape(-1)
    rows = [tg.grad(y[i], x, retain_graph=True).numpy().reshape(-1) for i in range(y.shape[0])]
    sign, logabs = np.linalg.slogdet(np.array(rows))
    assert sign != 0
    return float(logabs)


@settings(deadline=None)
@given(c=st.sampled_from([1, 2, 3, 4]), h=st.integers(1, 4), w=st.integers(1, 4),
       b=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_every_layer_inverts_to_1e10(c, h, w, b, seed):
    x = images((b, c, h, w), seed)
    for name, layer in layers(c, seed).items():
        y, logdet = layer(x)
        assert y.shape == x.shape and logdet.shape == (b,), name
        back = layer.inverse(y).numpy()
        assert np.abs(back - x.numpy()).max() < 1e-10, name


@settings(deadline=None, max_examples=10)
@given(c=st.sampled_from([2, 4]), h=st.integers(1, 3), w=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_every_log_det_is_that_of_the_brute_force_jacobian(c, h, w, seed):
    x = images((1, c, h, w), seed)
    for name, layer in layers(c, seed).items():
        _, logdet = layer(x)
        exact = jacobian_logdet(lambda t, f=layer: f(t)[0], x)
        assert logdet.item() == pytest.approx(exact, abs=1e-9), name


@settings(deadline=None, max_examples=10)
@given(c=st.sampled_from([1, 2]), h=st.sampled_from([2, 4]), w=st.sampled_from([2, 4]),
       seed=st.integers(0, 2**16))
def test_squeeze_is_a_permutation_and_unsqueeze_its_inverse(c, h, w, seed):
    x = images((2, c, h, w), seed)
    y = G.squeeze(x)
    assert y.shape == (2, 4 * c, h // 2, w // 2)
    assert sorted(y.numpy().ravel()) == sorted(x.numpy().ravel())
    assert np.array_equal(G.unsqueeze(y).numpy(), x.numpy())
    # channel 4c + 2i + j holds pixel (i, j) of each 2 × 2 block
    assert np.array_equal(y.numpy()[:, 4 * (c - 1) + 2 * 1 + 0], x.numpy()[:, c - 1, 1::2, 0::2])
    assert jacobian_logdet(lambda t: G.squeeze(t), x[:1]) == pytest.approx(0.0, abs=1e-12)


@settings(deadline=None, max_examples=10)
@given(c=st.sampled_from([2, 4]), h=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_split_is_a_bijection_with_the_log_det_of_its_prior(c, h, seed):
    split = jiggle(G.Split(c, tg.Generator(seed)), seed)
    x = images((3, c, h, h), seed)
    kept, eps, logdet = split(x)
    assert kept.shape == eps.shape == (3, c // 2, h, h)
    assert np.abs(split.inverse(kept, eps).numpy() - x.numpy()).max() < 1e-10
    # ε = (z − μ(h))/σ(h), so log p(z | h) = log N(ε; 0, I) + logdet: the Gaussian density
    p = split.prior(kept).numpy()
    mean, log_std = p[:, : c // 2], p[:, c // 2:]
    z = x.numpy()[:, c // 2:]
    direct = (-0.5 * ((z - mean) / np.exp(log_std)) ** 2 - log_std
              - 0.5 * np.log(2 * np.pi)).sum(axis=(1, 2, 3))
    via = -0.5 * (eps.numpy() ** 2).sum(axis=(1, 2, 3)) - 0.5 * eps[0].size * np.log(2 * np.pi)
    assert np.allclose(via + logdet.numpy(), direct, atol=1e-10)
    exact = jacobian_logdet(lambda t: tg.concat([split(t)[0], split(t)[1]], axis=1), x[:1])
    assert logdet.numpy()[0] == pytest.approx(exact, abs=1e-9)


@settings(deadline=None, max_examples=8)
@given(perm=st.sampled_from(PERMS), affine=st.booleans(), seed=st.integers(0, 2**16))
def test_a_whole_glow_inverts_and_its_log_det_is_the_jacobians(perm, affine, seed):
    model = jiggle(G.Glow((1, 4, 4), (True, False), steps=2, hidden=8, affine=affine,
                          permutation=perm, generator=tg.Generator(seed)), seed, 0.1)
    x = tg.tensor(np.random.default_rng(seed).random((2, 1, 4, 4)))
    zs, logdet = model(x)
    assert [z.shape for z in zs] == model.latent_shapes(2) == [(2, 2, 2, 2)] * 2
    assert np.abs(model.inverse(zs).numpy() - x.numpy()).max() < 1e-10

    def flat(t):
        return tg.concat([z.reshape(1, -1) for z in model(t)[0]], axis=1)

    assert logdet.numpy()[0] == pytest.approx(jacobian_logdet(flat, x[:1]), abs=1e-8)


@pytest.mark.parametrize("perm", ["lu", "reverse"])
@pytest.mark.parametrize("affine", [True, False])
def test_a_glow_density_integrates_to_one_by_quadrature(perm, affine):
    # 2-D: two channels on a 1 × 1 image; level 1 has two steps then a split (learned
    # conditional prior), level 2 no steps. Trapezoid rule on [−L, L]², tails negligible.
    model = jiggle(G.Glow((2, 1, 1), (False, False), steps=(2, 0), hidden=8, affine=affine,
                          permutation=perm, generator=tg.Generator(3)), 4, 0.25)
    g = np.linspace(-14, 14, 701)
    grid = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2, 1, 1)
    with tg.no_grad():
        p = np.exp(model.log_prob(tg.tensor(grid)).numpy()).reshape(len(g), len(g))
    step = g[1] - g[0]
    assert np.trapezoid(np.trapezoid(p, dx=step), dx=step) == pytest.approx(1.0, abs=1e-4)
    edges = [p[0], p[-1], p[:, 0], p[:, -1]]
    assert max(e.max() for e in edges) < 1e-8  # nothing left outside the box


@settings(deadline=None, max_examples=10)
@given(c=st.sampled_from([1, 2]), h=st.integers(1, 3), alpha=st.sampled_from([1e-6, 0.05, 0.3]),
       seed=st.integers(0, 2**16))
def test_the_logit_pre_transform_inverts_and_its_log_det_is_the_jacobians(c, h, alpha, seed):
    x = tg.tensor(np.random.default_rng(seed).random((2, c, h, h)))
    logit = G.Logit(alpha).to(dtype=np.float64)
    y, logdet = logit(x)
    p = alpha + (1 - 2 * alpha) * x.numpy()
    assert np.allclose(y.numpy(), np.log(p / (1 - p)), atol=1e-12)
    assert np.abs(logit.inverse(y).numpy() - x.numpy()).max() < 1e-10
    exact = jacobian_logdet(lambda t: logit(t)[0], x[:1])
    assert logdet.numpy()[0] == pytest.approx(exact, abs=1e-9)


@pytest.mark.parametrize("perm", ["lu", "reverse"])
def test_a_glow_with_the_logit_pre_transform_is_a_density_on_the_unit_square(perm):
    # the same 2-D Glow behind the logit map with α = 0.05: x ∈ [0, 1] only reaches
    # [logit α, logit(1 − α)], so its density integrates to 1 over the slightly larger square
    # [−a, 1 + a]², a = α/(1 − 2α), and to less than 1 over [0, 1]² (a sub-normalised
    # density: bits/dim stay an upper bound). Midpoint rule (the edges map to ±∞).
    model = jiggle(G.Glow((2, 1, 1), (False, False), steps=(2, 0), hidden=8,
                          permutation=perm, generator=tg.Generator(3), logit=0.05), 4, 0.25)
    a = 0.05 / 0.9
    n = 1000
    g = -a + (np.arange(n) + 0.5) * (1 + 2 * a) / n
    grid = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2, 1, 1)
    with tg.no_grad():
        p = np.exp(model.log_prob(tg.tensor(grid)).numpy()).reshape(n, n)
    cell = ((1 + 2 * a) / n) ** 2
    assert p.sum() * cell == pytest.approx(1.0, abs=1e-3)
    inside = (g >= 0) & (g <= 1)
    assert p[np.ix_(inside, inside)].sum() * cell < 1
    big = jiggle(G.Glow((1, 4, 4), (True, False), steps=1, hidden=8, permutation=perm,
                        generator=tg.Generator(5), logit=1e-6), 5, 0.1)
    x = tg.tensor(np.random.default_rng(5).random((2, 1, 4, 4)))
    zs, logdet = big(x)
    assert np.abs(big.inverse(zs).numpy() - x.numpy()).max() < 1e-10

    def flat(t):
        return tg.concat([z.reshape(1, -1) for z in big(t)[0]], axis=1)

    assert logdet.numpy()[0] == pytest.approx(jacobian_logdet(flat, x[:1]), abs=1e-8)


def test_actnorm_initialises_from_the_first_batch():
    x = images((16, 3, 4, 4), 0) * tg.tensor([[[[1.0]], [[3.0]], [[0.2]]]]) + 5.0
    norm = G.ActNorm(3).to(dtype=np.float64)
    y, _ = norm(x)
    assert np.allclose(y.numpy().mean(axis=(0, 2, 3)), 0, atol=1e-10)
    assert np.allclose(y.numpy().std(axis=(0, 2, 3)), 1, atol=1e-5)
    before = norm.bias.numpy().copy()
    norm(x * 2.0)  # initialised once: the second batch does not reset it
    assert np.array_equal(norm.bias.numpy(), before)
    fresh = G.ActNorm(3).to(dtype=np.float64).eval()
    assert np.array_equal(fresh(x)[0].numpy(), x.numpy())  # no init in eval mode


def test_couplings_and_splits_start_as_fixed_maps():
    x = images((2, 4, 3, 3), 1)
    add = G.Coupling(4, 8, affine=False).to(dtype=np.float64)
    assert np.array_equal(add(x)[0].numpy(), x.numpy())
    aff = G.Coupling(4, 8, affine=True).to(dtype=np.float64)
    y = aff(x)[0].numpy()
    s = 1 / (1 + np.exp(-2.0))
    assert np.allclose(y[:, 2:], s * x.numpy()[:, 2:]) and np.array_equal(y[:, :2],
                                                                           x.numpy()[:, :2])
    _, eps, logdet = G.Split(4).to(dtype=np.float64)(x)
    assert np.array_equal(eps.numpy(), x.numpy()[:, 2:]) and np.all(logdet.numpy() == 0)


def test_the_lu_form_starts_at_a_rotation_and_its_log_det_is_slogdets():
    conv = G.InvConv1x1(5, lu=True, generator=tg.Generator(2)).to(dtype=np.float64)
    w = conv.weight_matrix().numpy()
    assert np.allclose(w @ w.T, np.eye(5), atol=1e-12)
    jiggle(conv, 5)
    w = conv.weight_matrix().numpy()
    _, logdet = conv(images((1, 5, 2, 3), 0))
    assert logdet.item() == pytest.approx(6 * np.linalg.slogdet(w)[1], abs=1e-10)


def test_bits_per_dim_of_the_uniform_model_is_exactly_the_bits_per_level():
    y = np.random.default_rng(0).integers(0, 256, (7, 20))
    x = G.dequantize(y, 256, tg.Generator(0))
    assert np.all((x >= 0) & (x < 1)) and np.array_equal(np.floor(x * 256), y)
    uniform_log_px = np.zeros(7)  # the uniform density on [0, 1)^D
    assert np.all(G.bits_per_dim(uniform_log_px, 20) == 8.0)
    assert np.all(G.bits_per_dim(uniform_log_px, 20, levels=2) == 1.0)
    # a density twice as high everywhere on half the cube saves exactly one bit per image
    assert G.bits_per_dim(np.log(2.0), 20) == pytest.approx(8.0 - 1 / 20, abs=1e-14)
    with pytest.raises(ValueError, match="0 … 255"):
        G.dequantize(np.array([256]))


def test_gradients_of_log_prob_match_finite_differences():
    model = jiggle(G.Glow((1, 2, 2), (True,), steps=1, hidden=4, generator=tg.Generator(1)), 1,
                   0.2)
    x = np.random.default_rng(0).random((2, 1, 2, 2))
    check_grads(lambda t: model.log_prob(t), [x])


def test_bad_shapes_raise_errors_naming_the_layer():
    with pytest.raises(ShapeError, match="Coupling: needs an even number of channels.*got 3"):
        G.Coupling(3)
    with pytest.raises(ShapeError, match="Split: needs an even number"):
        G.Split(5)
    with pytest.raises(ShapeError, match=r"squeeze: needs even height and width, got 3×4"):
        G.squeeze(images((1, 1, 3, 4), 0))
    with pytest.raises(ShapeError, match="unsqueeze: needs a multiple of 4 channels, got 6"):
        G.unsqueeze(images((1, 6, 2, 2), 0))
    with pytest.raises(ShapeError, match=r"squeeze: expected images of shape \(B, C, H, W\)"):
        G.squeeze(images((4, 4), 0))
    with pytest.raises(ShapeError, match=r"ActNorm.*\(B, 3, H, W\).*\(2, 4, 2, 2\)"):
        G.ActNorm(3)(images((2, 4, 2, 2), 0))
    with pytest.raises(ShapeError, match=r"InvConv1x1.*\(B, 2, H, W\)"):
        G.InvConv1x1(2)(images((2, 3, 2, 2), 0))
    with pytest.raises(ShapeError, match=r"Glow: expected images of shape \(B, 1, 14, 14\)"):
        G.Glow((1, 14, 14))(images((2, 1, 12, 12), 0))
    with pytest.raises(ShapeError, match="Glow: level 1 squeezes 2×7×7"):
        G.Glow((1, 14, 14), (True, True))
    with pytest.raises(ValueError, match="permutation must be one of"):
        G.FlowStep(4, permutation="random")
    with pytest.raises(ValueError, match="Permutation: kind must be"):
        G.Permutation(4, "sorted")
    with pytest.raises(ValueError, match=r"Logit: alpha must lie in \(0, 0.5\), got 0.5"):
        G.Logit(0.5)
    with pytest.raises(ShapeError, match=r"Logit.*\(B, C, H, W\)"):
        G.Logit()(images((2, 3), 0))
    with pytest.raises(ValueError, match="step count"):
        G.Glow((1, 4, 4), (True, False), steps=(1,))


def test_image_data_levels_and_bad_name():
    train, test, levels = G.image_data("digits 8x8")
    assert levels == 17 and train.shape[1:] == (1, 8, 8) and test.shape[1:] == (1, 8, 8)
    assert train.min() == 0 and train.max() == 16 and train.dtype == np.int64
    with pytest.raises(ArgumentError, match="image_data: name must be one of"):
        G.image_data("mnist 28x28")


def test_fit_glow_returns_plain_values_and_a_state_that_rebuilds_the_model():
    """One lesson job end to end: arrays and numbers out (they cross process boundaries);
    the returned state, loaded into the same Glow built from the same seed, scores the test
    images exactly as the job did; a trained model beats its untrained self."""
    model = {"squeeze": (True, False), "steps": 1, "hidden": 8, "logit": 1e-6,
             "affine": True, "permutation": "lu"}
    train = {"steps": 30, "batch": 32, "lr": 1e-2, "warmup": 5}
    run = G.fit_glow("digits 8x8", model, train, seed=3, untrained=True)
    assert set(run) == {"bits", "losses", "untrained", "state", "params", "cpu_seconds",
                        "train_cpu_seconds"}
    assert all(isinstance(v, np.ndarray) for v in run["state"].values())
    assert run["bits"].shape == run["untrained"].shape == (360,) and run["losses"].shape == (30,)
    assert run["bits"].mean() < run["untrained"].mean() and run["cpu_seconds"] > 0
    rebuilt = G.Glow((1, 8, 8), **model, generator=tg.Generator(3))
    assert run["params"] == sum(p.size for p in rebuilt.parameters())
    rebuilt.load_state_dict(run["state"])
    _, test, levels = G.image_data("digits 8x8")
    again = G.eval_bits_per_dim(rebuilt, test, levels, generator=tg.Generator(3 + 2))
    np.testing.assert_array_equal(again, run["bits"])
    assert G.fit_glow("digits 8x8", model, {**train, "steps": 2}, seed=3)["untrained"] is None
