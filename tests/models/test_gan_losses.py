"""GAN losses against their formulas, f-GAN bounds against exact divergences, and the
gradient penalty (including that its gradient reaches the critic's weights)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import nn
from tinygen.models import gan
from tinygen.testing import check_grads

softplus = lambda t: np.logaddexp(t, 0)  # noqa: E731

LOSSES = [  # (function, numpy formula) on raw critic outputs r, f
    (gan.sgan_d_loss, lambda r, f: np.mean(softplus(-r)) + np.mean(softplus(f))),
    (lambda r, f: gan.sgan_g_loss(f), lambda r, f: np.mean(softplus(-f))),
    (lambda r, f: gan.sgan_g_loss(f, saturating=True), lambda r, f: np.mean(-softplus(f))),
    (gan.lsgan_d_loss, lambda r, f: 0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f ** 2)),
    (lambda r, f: gan.lsgan_g_loss(f), lambda r, f: 0.5 * np.mean((f - 1) ** 2)),
    (gan.wgan_d_loss, lambda r, f: f.mean() - r.mean()),
    (lambda r, f: gan.wgan_g_loss(f), lambda r, f: -f.mean()),
    (gan.hinge_d_loss, lambda r, f: np.maximum(0, 1 - r).mean() + np.maximum(0, 1 + f).mean()),
    (gan.rsgan_d_loss, lambda r, f: np.mean(-np.log(1 / (1 + np.exp(-(r - f)))))),
    (gan.rsgan_g_loss, lambda r, f: np.mean(-np.log(1 / (1 + np.exp(-(f - r)))))),
    (gan.rasgan_d_loss, lambda r, f: np.mean(softplus(-(r - f.mean())))
     + np.mean(softplus(f - r.mean()))),
    (gan.rasgan_g_loss, lambda r, f: np.mean(softplus(-(f - r.mean())))
     + np.mean(softplus(r - f.mean()))),
]


@pytest.mark.parametrize("i", range(len(LOSSES)))
@given(st.integers(1, 6), st.integers(0, 1000))
def test_losses_match_their_formulas_and_differentiate(i, n, seed):
    fn, formula = LOSSES[i]
    rng = np.random.default_rng(seed)
    r, f = rng.normal(0, 2, n), rng.normal(0, 2, n)
    got = fn(tg.tensor(r), tg.tensor(f)).item()
    assert got == pytest.approx(formula(r, f), rel=1e-10, abs=1e-12)
    check_grads(fn, [r, f], order=2)


def test_column_outputs_and_bad_shapes():
    r, f = np.ones((4, 1)), np.zeros((4, 1))
    assert gan.sgan_d_loss(tg.tensor(r), tg.tensor(f)).item() == pytest.approx(
        np.log1p(np.exp(-1.0)) + np.log(2.0))
    with pytest.raises(tg.ShapeError, match=r"wgan_d_loss: critic outputs must have shape "
                                            r"\(B,\) or \(B, 1\), got \(4, 2\)"):
        gan.wgan_d_loss(tg.ones(4, 2), tg.ones(4))


def test_ganqp_matches_hand_computation():
    xr = np.array([[0.0, 1.0], [2.0, 2.0]])
    xf = np.array([[1.0, 1.0], [0.0, 0.0]])
    tr, tf = np.array([1.0, 0.5]), np.array([0.0, 1.5])
    for kind, d in [("l1", np.array([0.5, 2.0])), ("l2", np.sqrt([0.5, 4.0]))]:
        delta = tr - tf
        want = np.mean(-delta + delta ** 2 / (2 * 10.0 * d))
        got = gan.ganqp_d_loss(tg.tensor(tr), tg.tensor(tf), tg.tensor(xr), tg.tensor(xf),
                               distance=kind).item()
        assert got == pytest.approx(want, rel=1e-12)
    assert gan.ganqp_g_loss(tg.tensor(tr), tg.tensor(tf)).item() == pytest.approx(0.0)
    check_grads(lambda a, b, c, e: gan.ganqp_d_loss(a, b, c, e, distance="l2"),
                [tr, tf, xr, xf], order=2)
    with pytest.raises(ValueError, match="ganqp_distance: kind must be 'l1' or 'l2'"):
        gan.ganqp_distance(tg.tensor(xr), tg.tensor(xf), "l3")
    with pytest.raises(tg.ShapeError, match="ganqp_d_loss: 3 critic outputs for a batch of 2"):
        gan.ganqp_d_loss(tg.ones(3), tg.ones(3), tg.tensor(xr), tg.tensor(xf))


def test_ganqp_critic_optimum_is_lambda_times_distance():
    """For one pair, −ΔT + ΔT²/(2λd) is minimised at ΔT = λ·d: the critic's gap is bounded."""
    xr, xf = tg.tensor([[0.0, 0.4]]), tg.tensor([[0.2, 0.0]])
    delta = tg.tensor([0.0], requires_grad=True)
    for _ in range(200):
        loss = gan.ganqp_d_loss(delta, tg.zeros(1), xr, xf)
        g = tg.grad(loss, delta)
        delta = tg.Tensor(delta.data - 0.5 * g.data, requires_grad=True)
    assert delta.item() == pytest.approx(10.0 * 0.3, rel=1e-3)


# exact divergences D_f(p‖q) for discrete p, q and the optimal critic output v*(u), u = p/q
F_CASES = {
    "kl": (lambda p, q: np.sum(p * np.log(p / q)), lambda u: 1 + np.log(u)),
    "reverse_kl": (lambda p, q: np.sum(q * np.log(q / p)), np.log),
    "js": (lambda p, q: np.sum(p * np.log(2 * p / (p + q)) + q * np.log(2 * q / (p + q))),
           np.log),
    "pearson": (lambda p, q: np.sum((p - q) ** 2 / q), lambda u: 2 * (u - 1)),
}


@pytest.mark.parametrize("divergence", sorted(F_CASES))
def test_fgan_bound_is_tight_at_the_optimal_critic(divergence):
    exact, v_star = F_CASES[divergence]
    p, q = np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.25, 0.25])
    real = np.repeat(np.arange(3), (p * 20).astype(int))  # samples in exact proportions
    fake = np.repeat(np.arange(3), (q * 20).astype(int))
    v = v_star(p / q)
    loss = gan.fgan_d_loss(tg.tensor(v[real]), tg.tensor(v[fake]), divergence).item()
    assert -loss == pytest.approx(exact(p, q), rel=1e-10)
    worse = gan.fgan_d_loss(tg.tensor(v[real] + 0.3), tg.tensor(v[fake] + 0.3), divergence)
    assert -worse.item() < exact(p, q), "any other critic gives a lower bound"
    check_grads(lambda a, b: gan.fgan_d_loss(a, b, divergence), [v[real], v[fake]], order=2)
    check_grads(lambda b: gan.fgan_g_loss(b, divergence), [v[fake]], order=2)
    with pytest.raises(ValueError, match="fgan_d_loss: divergence must be one of"):
        gan.fgan_d_loss(tg.ones(2), tg.ones(2), "tv")


def test_gradient_penalty_of_a_linear_critic():
    w = np.array([0.6, 0.8, 1.2])
    critic = lambda x: x @ tg.tensor(w)  # noqa: E731 — gradient w everywhere, norm |w|
    real, fake = tg.randn(5, 3, dtype="float64"), tg.randn(5, 3, dtype="float64")
    norm = np.linalg.norm(w)
    assert gan.gradient_penalty(critic, real, fake).item() == pytest.approx((norm - 1) ** 2)
    assert gan.gradient_penalty(critic, real, kind="zero_centred").item() == \
        pytest.approx(norm ** 2)
    with pytest.raises(ValueError, match="at='interpolates' needs the fake samples"):
        gan.gradient_penalty(critic, real)
    with pytest.raises(ValueError, match="kind must be 'two_sided' or 'zero_centred'"):
        gan.gradient_penalty(critic, real, fake, kind="one_sided")


@pytest.mark.parametrize("kind", ["two_sided", "zero_centred"])
def test_penalty_gradient_reaches_the_critic_weights(kind):
    """Regression test: the penalty must depend on the critic's parameters through the
    gradient (create_graph=True); compare its derivative with finite differences."""
    tg.manual_seed(0)
    tg.set_default_dtype("float64")
    try:
        critic = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    finally:
        tg.set_default_dtype("float32")
    real, fake = tg.randn(16, 2, dtype="float64"), tg.randn(16, 2, dtype="float64")
    weight = critic[0].weight

    def penalty():
        return gan.gradient_penalty(critic, real, fake, kind=kind, at="interpolates",
                                    generator=tg.Generator(1))

    g = tg.grad(penalty(), weight)
    assert np.abs(g.numpy()).max() > 1e-6
    h, (i, j) = 1e-6, (1, 3)
    old = weight.data[i, j]
    weight.data[i, j] = old + h
    up = penalty().item()
    weight.data[i, j] = old - h
    down = penalty().item()
    weight.data[i, j] = old
    assert g.numpy()[i, j] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9)


def test_clip_weights():
    p = tg.tensor([-1.0, 0.005, 2.0], requires_grad=True)
    gan.clip_weights([p], 0.01)
    np.testing.assert_allclose(p.numpy(), [-0.01, 0.005, 0.01])
    with pytest.raises(ValueError, match="clip_weights: c must be positive"):
        gan.clip_weights([p], 0.0)
