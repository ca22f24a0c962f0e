"""The i-ResNet block (:mod:`tinygen.models.flows.iresnet`): spectral normalisation by power
iteration against the SVD, the Lipschitz bound c, the fixed-point inverse, the errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tinygen.models.flows import logdet as L
from tinygen.models.flows.iresnet import IResNet, ResidualMLP, fixed_point_inverse, power_iteration

from .helpers import make_block, samples


@settings(derandomize=True, max_examples=20, deadline=None)
@given(rows=st.integers(1, 8), cols=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_power_iteration_approaches_the_largest_singular_value_from_below(rows, cols, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, cols))
    sigma = np.linalg.svd(w, compute_uv=False)[0]
    u = rng.standard_normal(cols)
    u /= np.linalg.norm(u)
    previous = 0.0
    for steps in (1, 5, 500):
        est, _ = power_iteration(w, u, steps)
        assert previous - 1e-12 <= est <= sigma * (1 + 1e-12)  # monotone, a lower bound
        previous = est
    s = np.linalg.svd(w, compute_uv=False)
    gap = s[1] / s[0] if len(s) > 1 else 0.0
    if gap < 0.9:  # a clear gap: 500 steps converge to (σ₂/σ₁)^1000
        assert est == pytest.approx(sigma, rel=1e-8)


@settings(derandomize=True, max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), c=st.sampled_from([0.5, 0.9, 0.97]),
       act=st.sampled_from(["elu", "lipswish", "tanh"]))
def test_normalised_weights_and_the_jacobian_respect_c(seed, c, act):
    block = make_block([3, 10, 10, 3], act, c=c, seed=seed)
    for w in block.weights():
        assert np.linalg.svd(w.numpy(), compute_uv=False)[0] <= c * (1 + 1e-6)
    jac = L.jacobian(block, samples(16, 3, seed=seed)).numpy()
    assert np.linalg.norm(jac, ord=2, axis=(1, 2)).max() <= c * (1 + 1e-6)


def test_without_normalisation_the_bound_would_fail():
    """The same weights used raw have a Jacobian norm far above c: the test above can fail."""
    block = make_block([3, 10, 3], "elu", c=0.9, seed=1)
    ws = [lin.weight for lin in block.linears]
    x = samples(4, 3)
    jac = L.jacobian(lambda t: block.hidden(t, ws)[0][-1] @ ws[-1], x).numpy()
    assert np.linalg.norm(jac, ord=2, axis=(1, 2)).max() > 1.5


def test_small_weights_are_left_alone():
    block = make_block([2, 4, 2], "tanh", c=0.9, scale=0.05)
    for lin, w in zip(block.linears, block.weights()):
        np.testing.assert_array_equal(w.numpy(), lin.weight.numpy())


def test_training_mode_advances_the_power_iteration():
    block = ResidualMLP([2, 5, 2], c=0.9, n_power_iterations=1, generator=tg.Generator(0))
    u = block.u0.numpy().copy()
    block.weights()
    assert not np.allclose(block.u0.numpy(), u)
    block.eval()
    u = block.u0.numpy().copy()
    block.weights()
    np.testing.assert_array_equal(block.u0.numpy(), u)


@settings(derandomize=True, max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), c=st.sampled_from([0.5, 0.9]))
def test_fixed_point_inverse_converges_at_rate_c(seed, c):
    block = make_block([2, 16, 16, 2], "lipswish", c=c, seed=seed)
    x = samples(32, 2, seed=seed)
    with tg.no_grad():
        y = x + block(x)
    rate = block.lipschitz_bound()
    xi, errors = fixed_point_inverse(block, y, 40, x_true=x)
    e0 = np.linalg.norm(y.numpy() - x.numpy(), axis=1).max()
    for before, after in zip([e0] + errors[:-1], errors):
        assert after <= rate * before + 1e-13
    assert errors[-1] <= 1e-12 + e0 * rate ** 40
    np.testing.assert_allclose(xi.numpy(), x.numpy(), atol=1e-10)
    _, residuals = fixed_point_inverse(block, y, 40)
    assert residuals[-1] < 1e-10


@pytest.mark.parametrize("act", ["elu", "lipswish", "tanh"])
def test_the_residual_skips_the_slopes_and_keeps_every_bit(act):
    """g(x) without the slopes φ'(z) (which only the Jacobian needs): the same hidden values to
    the last bit, and a gradient through it equal to the one through hidden()'s values."""
    block = make_block([3, 9, 9, 3], act, seed=2)
    x = samples(5, 3, seed=3)
    ws = [w.detach() for w in block.weights()]
    full, slopes = block.hidden(x, ws)
    fast, none = block.hidden(x, ws, slopes=False)
    assert len(slopes) == 2 and none == []
    for a, b in zip(full, fast):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(block.residual(x, ws).numpy(),
                                  (full[-1] @ ws[-1] + block.linears[-1].bias).numpy())
    t = tg.tensor(x.numpy(), requires_grad=True)
    slow = tg.grad((block.hidden(t, ws)[0][-1] @ ws[-1]).sum(), t)[0]
    np.testing.assert_array_equal(tg.grad(block.residual(t, ws).sum(), t)[0].numpy(),
                                  slow.numpy())


def test_fixed_point_inverse_evaluates_g_once_per_iteration_with_the_same_iterates():
    """g(x_k) serves both x_k's residual and x_{k+1}: the iterates and residuals of the plain
    loop (two evaluations per iteration), bit for bit, with iterations + 1 evaluations."""
    block = make_block([2, 16, 16, 2], "elu", c=0.9, seed=4)
    x = samples(32, 2, seed=5)
    with tg.no_grad():
        y = x + block(x)
    calls = []

    def g(t):
        calls.append(1)
        return block(t)

    xi, residuals = fixed_point_inverse(g, y, 12)
    assert len(calls) == 13
    with tg.no_grad():
        plain, expected = y, []
        for _ in range(12):
            plain = y - block(plain)
            diff = (plain + block(plain) - y).numpy()
            expected.append(float(np.sqrt((diff * diff).sum(axis=-1)).max()))
    np.testing.assert_array_equal(xi.numpy(), plain.numpy())
    assert residuals == expected
    calls.clear()
    _, errors = fixed_point_inverse(g, y, 12, x_true=x)
    assert len(calls) == 12 and errors[-1] < errors[0]
    assert fixed_point_inverse(g, y, 0)[1] == [] and len(calls) == 12


def test_fixed_point_of_an_expansive_map_does_not_converge():
    """Lip(g) = 1.5 > 1: the error grows, so the rate check above can fail."""
    y = tg.tensor(np.ones((1, 2)))
    _, errors = fixed_point_inverse(lambda t: 1.5 * t, y, 10, x_true=y / 2.5)
    assert errors[-1] > 10 * errors[0]
    with pytest.raises(tg.TinygenError, match="diverged"), np.errstate(all="ignore"):
        fixed_point_inverse(lambda t: 1e200 * t * t, y, 10)


def test_block_errors():
    with pytest.raises(tg.ShapeError, match="start and end with the same width"):
        ResidualMLP([2, 4, 3])
    with pytest.raises(ValueError, match="c must be in"):
        ResidualMLP([2, 4, 2], c=1.0)
    with pytest.raises(ValueError, match="2 hidden layers need as many activations"):
        ResidualMLP([2, 4, 4, 2], ["elu"])
    with pytest.raises(ValueError, match="unknown activation 'relu'"):
        ResidualMLP([2, 4, 2], "relu")
    with pytest.raises(tg.ShapeError, match=r"expected input \(B, 2\)"):
        ResidualMLP([2, 4, 2])(tg.ones(3, 3))
    with pytest.raises(ValueError, match="iterations must be >= 0"):
        fixed_point_inverse(lambda t: t, tg.ones(1, 2), -1)


# -- the density model ---------------------------------------------------------------------------

def _model(seed=0, actnorm=False):
    from tinygen.models.flows.iresnet import IResNet

    model = IResNet(2, blocks=3, width=8, depth=3, c=0.9, generator=tg.Generator(seed),
                    actnorm=actnorm)
    model.to(dtype=np.float64)
    for block in model.blocks:  # weights big enough that the normalisation is active
        for lin in block.linears:
            lin.weight.data = lin.weight.data * 4
        block.weights()
    if actnorm:  # ActNorms away from the identity
        rng = np.random.default_rng(seed)
        model.shifts.data = rng.normal(size=model.shifts.shape)
        model.log_scales.data = rng.normal(size=model.log_scales.shape)
    return model.eval()


@pytest.mark.parametrize("actnorm", [False, True])
def test_log_prob_is_the_change_of_variables_of_the_whole_flow(actnorm):
    model = _model(actnorm=actnorm)
    x = samples(5, 2)
    jac = L.jacobian(model, x).numpy()  # J_F of the composition
    with tg.no_grad():
        z = model(x).numpy()
    want = (-0.5 * (z * z).sum(1) - np.log(2 * np.pi) + np.linalg.slogdet(jac)[1])
    np.testing.assert_allclose(model.log_prob(x, "exact").numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("estimator", ["series", "roulette"])
def test_log_prob_estimates_fused_and_twin_agree_and_average_to_exact(estimator):
    model = _model(1)
    x = samples(3, 2)
    fused = model.log_prob(x, estimator, n=8, probes=2, generator=tg.Generator(4))
    twin = model.log_prob(x, estimator, n=8, probes=2, generator=tg.Generator(4), fused=False)
    np.testing.assert_allclose(fused.numpy(), twin.numpy(), rtol=1e-12)
    many = model.log_prob(x, estimator, n=30, probes=3000, generator=tg.Generator(5)).numpy()
    np.testing.assert_allclose(many, model.log_prob(x, "exact").numpy(), atol=0.05)


def test_log_prob_series_with_basis_probes_is_exact_up_to_the_truncation_bound():
    model = IResNet(2, blocks=3, width=8, depth=3, c=0.9, n_power_iterations=50,
                    generator=tg.Generator(3)).to(dtype=np.float64)
    for block in model.blocks:  # the normalisation active, the power iteration converged
        for lin in block.linears:
            lin.weight.data = lin.weight.data * 4
        block.weights()
    model.eval()
    x = samples(4, 2)
    exact = model.log_prob(x, "exact").numpy()
    lip = max(b.lipschitz_bound() for b in model.blocks)
    for n in (3, 60):
        got = model.log_prob(x, "series", n=n, probe_kind="basis").numpy()
        bound = len(model.blocks) * L.truncation_bound(2, lip, n)
        assert np.abs(got - exact).max() <= bound
    assert np.abs(got - exact).max() < 1e-8  # n = 60 (a wrong trace would miss by far more)
    with pytest.raises(ValueError, match="kind must be"):
        model.log_prob(x, "series", probe_kind="uniform")


def test_actnorm_log_dets_and_block_inputs():
    model = _model(3, actnorm=True)
    x = samples(4, 2)
    assert model.affine_logdet() == pytest.approx(model.log_scales.numpy().sum())
    with tg.no_grad():
        inputs = model.block_inputs(x)
        last = inputs[-1] + model.blocks[-1](inputs[-1])
        s, b = model.log_scales.numpy()[-1], model.shifts.numpy()[-1]
        np.testing.assert_allclose((last.numpy() + b) * np.exp(s), model(x).numpy(), rtol=1e-12)
    # the exact log-prob = base + the blocks' log-dets at their inputs + the ActNorms'
    blocks = sum(L.exact_logdet(blk, z).numpy() for blk, z in zip(model.blocks, inputs))
    z = model(x).numpy()
    want = -0.5 * (z * z).sum(1) - np.log(2 * np.pi) + blocks + model.affine_logdet()
    np.testing.assert_allclose(model.log_prob(x, "exact").numpy(), want, rtol=1e-12)
    assert _model(3).affine_logdet() == 0.0


@pytest.mark.parametrize("actnorm", [False, True])
def test_inverse_undoes_the_flow(actnorm):
    model = _model(2, actnorm=actnorm)
    x = samples(6, 2)
    with tg.no_grad():
        z = model(x)
    back, errors = model.inverse(z, 60)
    np.testing.assert_allclose(back.numpy(), x.numpy(), atol=1e-10)
    assert len(errors) == 3 and all(e[-1] < 1e-10 for e in errors)


def test_log_prob_estimator_error():
    with pytest.raises(ValueError, match="estimator must be"):
        _model().log_prob(samples(2, 2), "hutchinson")
