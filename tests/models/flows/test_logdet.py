"""The log-det estimators of :mod:`tinygen.models.flows.logdet` — the math proof.

Statistical tests use fixed seeds (and ``derandomize=True`` where hypothesis draws), so they
cannot flake; each also shows it can fail: a wrong-weighted roulette, a probe without
E[vvᵀ] = I, are caught by the same comparison."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tinygen.models.flows import logdet as L
from tinygen.testing import check_grads

from .helpers import make_block, samples

STAT = settings(derandomize=True, max_examples=12, deadline=None)


@st.composite
def blocks(draw):
    d = draw(st.integers(1, 4))
    hidden = [draw(st.integers(1, 6)) for _ in range(draw(st.integers(0, 2)))]
    acts = [draw(st.sampled_from(["elu", "lipswish", "tanh"])) for _ in hidden]
    return make_block([d, *hidden, d], acts, c=draw(st.sampled_from([0.5, 0.7, 0.9])),
                      seed=draw(st.integers(0, 2**16)))


# -- Hutchinson ------------------------------------------------------------------------------

def _trace_estimates(a: np.ndarray, kind: str, count: int, seed: int) -> np.ndarray:
    """``count`` single-probe estimates vᵀAv of tr(A)."""
    v = L.probes(1, count, a.shape[0], kind, tg.Generator(seed), dtype=np.float64)
    return L.hutchinson_trace(lambda u: u @ tg.tensor(a.T), v.reshape(count, 1, -1)).numpy()


@STAT
@given(d=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_hutchinson_is_unbiased_and_rademacher_has_lower_variance(d, seed):
    a = np.random.default_rng(seed).standard_normal((d, d))
    sym = (a + a.T) / 2
    var = {"gaussian": 2 * (sym ** 2).sum(),
           "rademacher": 2 * ((sym ** 2).sum() - (np.diag(sym) ** 2).sum())}
    assert var["rademacher"] <= var["gaussian"]
    for kind in ("gaussian", "rademacher"):
        est = _trace_estimates(a, kind, 20_000, seed + 1)
        se = est.std() / np.sqrt(len(est))
        assert abs(est.mean() - np.trace(a)) <= 3 * se + 1e-12, kind
        assert est.var() == pytest.approx(var[kind], rel=0.1, abs=1e-9), kind


def test_a_probe_without_identity_covariance_is_caught():
    """Uniform[0, 1) probes have E[vvᵀ] = I/3 + 11ᵀ/4: the same 3 s.e. test rejects them."""
    a = np.random.default_rng(0).standard_normal((4, 4))
    v = tg.Generator(1).uniform(20_000, 1, 4, dtype=np.float64)
    est = L.hutchinson_trace(lambda u: u @ tg.tensor(a.T), v).numpy()
    assert abs(est.mean() - np.trace(a)) > 3 * est.std() / np.sqrt(len(est))


def test_basis_probes_give_the_trace_exactly():
    a = np.random.default_rng(2).standard_normal((5, 5))
    est = L.hutchinson_trace(lambda u: u @ tg.tensor(a.T), L.basis_probes(1, 5))
    assert est.item() == pytest.approx(np.trace(a), rel=1e-12)


# -- the series and the exact log-det ----------------------------------------------------------

@STAT
@given(block=blocks(), n=st.integers(1, 8))
def test_truncated_series_is_within_its_bound(block, n):
    """With exact traces (basis probes) the i-ResNet series differs from the exact log-det by
    at most d·(−log(1 − c) − Σ_{k≤n} c^k/k), c = ∏‖Ŵ_l‖ ≤ the block's c."""
    d = block.dims[0]
    x = samples(3, d)
    exact = L.exact_logdet(block, x).numpy()
    c = block.lipschitz_bound()
    assert c <= block.c * (1 + 1e-6)
    terms = L.series_terms(block.jvp(x), L.basis_probes(3, d), n)
    est = L.logdet_estimate(terms, L.power_series_coefficients(n)).numpy()
    assert np.all(np.abs(est - exact) <= L.truncation_bound(d, c, n) + 1e-12)


def test_series_converges_to_the_exact_logdet():
    block = make_block([3, 7, 3], "lipswish", c=0.9)
    x = samples(4, 3)
    terms = L.series_terms(block.jvp(x), L.basis_probes(4, 3), 200)
    est = L.logdet_estimate(terms, L.power_series_coefficients(200))
    np.testing.assert_allclose(est.numpy(), L.exact_logdet(block, x).numpy(), atol=1e-10)


def test_exact_logdet_of_a_linear_block():
    """g(x) = xŴ + b: J = Ŵᵀ everywhere, log det(I + Ŵ)."""
    block = make_block([3, 3], [], c=0.8, seed=4)
    w = block.weights()[0].numpy()
    want = np.linalg.slogdet(np.eye(3) + w)[1]
    np.testing.assert_allclose(L.exact_logdet(block, samples(2, 3)).numpy(), [want, want],
                               rtol=1e-12)


def test_the_jvp_and_vjp_chains_are_the_jacobian():
    block = make_block([3, 5, 4, 3], ["tanh", "elu"])
    x = samples(2, 3)
    j = L.jacobian(block, x).numpy()  # (B, out, in)
    v = L.basis_probes(2, 3)  # rows √3 e_j
    np.testing.assert_allclose(block.jvp(x)(v).numpy(), np.sqrt(3) * j.transpose(0, 2, 1),
                               atol=1e-13)
    np.testing.assert_allclose(block.vjp(x)(v).numpy(), np.sqrt(3) * j, atol=1e-13)


def test_series_terms_have_second_order_gradients():
    block = make_block([2, 3, 2], "lipswish", seed=3)
    v = L.probes(2, 2, 2, "gaussian", tg.Generator(0), dtype=np.float64)

    def terms(x, w1):
        ws = block.weights()
        return L.series_terms(block.jvp(x, [w1, ws[1]]), v, 3)

    check_grads(terms, [samples(2, 2).numpy(), block.weights()[0].numpy()], order=2)


# -- Russian roulette ----------------------------------------------------------------------------

def _roulette_estimates(block, x, count, seed, n_exact, dist, param, wrong=False):
    """``count`` roulette estimates at each sample of x (one probe and one N each): the terms
    up to ``cap`` come from one chain, and estimate i keeps the first n_exact + N_i."""
    d = block.dims[0]
    cap = 60 if dist == "geometric" else 30  # P(N > cap − n_exact) < 1e-15
    gen = tg.Generator(seed)
    v = L.probes(x.shape[0], count, d, "rademacher", gen, dtype=np.float64)
    t = L.series_terms(block.jvp(x), v, cap).numpy()  # (B, count, cap)
    drawn = np.array([L.draw_terms(dist, param, gen) for _ in range(count)])
    assert drawn.max() + n_exact <= cap
    coef = L.roulette_coefficients(cap - n_exact, n_exact, dist, param)
    if wrong:
        coef = L.power_series_coefficients(cap)  # no 1/P(N ≥ k) reweighting
    keep = np.arange(1, cap + 1)[None, :] <= (n_exact + drawn)[:, None]
    return (t * coef * keep).sum(-1)  # (B, count)


@STAT
@given(block=blocks(), dist=st.sampled_from([("geometric", 0.5), ("poisson", 2.0)]),
       n_exact=st.integers(0, 2), seed=st.integers(0, 2**16))
def test_russian_roulette_is_unbiased(block, dist, n_exact, seed):
    x = samples(2, block.dims[0], seed=seed)
    est = _roulette_estimates(block, x, 4000, seed, n_exact, *dist)
    exact = L.exact_logdet(block, x).numpy()
    se = est.std(axis=1) / np.sqrt(est.shape[1])
    assert np.all(np.abs(est.mean(axis=1) - exact) <= 3 * se + 1e-12)


def test_wrong_weighted_roulette_fails_the_same_test():
    """Without the 1/P(N ≥ k) weights the estimate is biased, and the 3 s.e. test says so."""
    block = make_block([2, 2], [], c=0.9, seed=0)
    block.linears[0].weight.data = np.array([[2.0, 0.3], [-0.2, 1.5]])
    block.train().weights()
    block.eval()
    x = samples(1, 2)
    exact = L.exact_logdet(block, x).numpy()
    for wrong, caught in ((False, False), (True, True)):
        est = _roulette_estimates(block, x, 4000, 7, 0, "geometric", 0.5, wrong=wrong)
        se = est.std(axis=1) / np.sqrt(est.shape[1])
        assert bool(np.any(np.abs(est.mean(axis=1) - exact) > 3 * se)) is caught


def test_roulette_coefficients_and_tails():
    np.testing.assert_allclose(L.tail_probability(np.arange(1, 5), "geometric", 0.5),
                               [1, 0.5, 0.25, 0.125])
    np.testing.assert_allclose(L.tail_probability(np.array([0, 1, 2]), "poisson", 1.0),
                               [1, 1 - np.exp(-1), 1 - 2 * np.exp(-1)])
    np.testing.assert_allclose(L.roulette_coefficients(2, 1, "geometric", 0.5),
                               [1, -0.5, 2 / 3])
    np.testing.assert_allclose(L.neumann_coefficients([1, -0.5, 1 / 3]), [1, -1, 1])


# -- gradients: the generic path against the Neumann estimator ---------------------------------

@settings(derandomize=True, max_examples=10, deadline=None)
@given(block=blocks(), n=st.integers(1, 6))
def test_neumann_gradient_equals_the_series_gradient_with_exact_traces(block, n):
    """With basis probes both gradients are those of Σ_k a_k tr(J^k): equal to rounding; the
    Neumann value is the series value."""
    d = block.dims[0]
    x = tg.tensor(samples(3, d).numpy(), requires_grad=True)
    params = [p for p in block.parameters() if p is not block.linears[-1].bias]
    coef = L.power_series_coefficients(n)
    v = L.basis_probes(3, d)
    ws = block.weights()
    generic = L.logdet_estimate(L.series_terms(block.jvp(x, ws), v, n), coef).sum()
    neumann = L.neumann_logdet(block.jvp(x, ws), block.vjp(x, ws), v, coef).sum()
    assert neumann.item() == pytest.approx(generic.item(), rel=1e-12, abs=1e-14)
    for a, b in zip(tg.grad(generic, [x, *params], allow_unused=True, retain_graph=True),
                    tg.grad(neumann, [x, *params], allow_unused=True)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-9, atol=1e-12)


def test_neumann_gradient_with_random_probes_is_unbiased():
    """The mean of many single-probe Neumann gradients matches, within 3 s.e., the gradient
    of the truncated series with exact traces (its expectation: basis probes)."""
    block = make_block([2, 6, 2], "elu", c=0.7, seed=5)
    x = samples(1, 2, seed=3)
    w = block.linears[0].weight
    n, count = 12, 3000
    coef = L.power_series_coefficients(n)
    v = L.probes(1, count, 2, "rademacher", tg.Generator(1), dtype=np.float64)
    ws = block.weights()
    jvp, vjp = block.jvp(x, ws), block.vjp(x, ws)
    each = np.array([tg.grad(L.neumann_logdet(jvp, vjp, v[:, j:j + 1], coef).sum(), w,
                             retain_graph=True).numpy() for j in range(count)])
    exact_traces = L.logdet_estimate(L.series_terms(jvp, L.basis_probes(1, 2), n), coef)
    want = tg.grad(exact_traces.sum(), w).numpy()
    se = each.std(axis=0) / np.sqrt(count)
    assert np.all(np.abs(each.mean(axis=0) - want) <= 3 * se + 1e-12)
    assert np.abs(want).max() > 0.01  # a gradient worth testing


# -- errors ------------------------------------------------------------------------------------

def test_estimator_argument_errors():
    with pytest.raises(ValueError, match="kind must be 'rademacher' or 'gaussian'"):
        L.probes(1, 1, 2, "uniform")
    with pytest.raises(ValueError, match="n must be at least 1"):
        L.series_terms(lambda u: u, tg.ones(1, 1, 2), 0)
    with pytest.raises(ValueError, match="geometric p must be in"):
        L.tail_probability(np.array(2), "geometric", 1.5)
    with pytest.raises(ValueError, match="Poisson λ must be positive"):
        L.draw_terms("poisson", 0.0)
    with pytest.raises(ValueError, match="dist must be"):
        L.roulette_coefficients(2, 1, "binomial")
    with pytest.raises(tg.ShapeError, match="n = 3 coefficients"):
        L.logdet_estimate(tg.ones(2, 1, 4), [1, 2, 3])


# -- the volume of a non-square Jacobian ---------------------------------------------------------

@settings(derandomize=True, max_examples=20, deadline=None)
@given(n=st.integers(1, 6), k=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_log_volume_is_the_sum_of_log_singular_values(n, k, seed):
    if n < k:
        n, k = k, n
    j = np.random.default_rng(seed).standard_normal((2, n, k))
    want = np.log(np.linalg.svd(j, compute_uv=False)).sum(-1)
    np.testing.assert_allclose(L.log_volume(tg.tensor(j)).numpy(), want, rtol=1e-10,
                               atol=1e-10)
    if n == k:
        np.testing.assert_allclose(want, np.linalg.slogdet(j)[1], rtol=1e-10, atol=1e-10)
    check_grads(L.log_volume, [j[0]], order=2)


def test_log_volume_of_a_parallelogram_is_its_cross_product_area():
    b = np.array([[1.0, 0.5], [2.0, -1.0], [0.0, 3.0]])
    area = np.linalg.norm(np.cross(b[:, 0], b[:, 1]))
    assert np.exp(L.log_volume(tg.tensor(b)).item()) == pytest.approx(area, rel=1e-12)
    with pytest.raises(tg.ShapeError, match="n >= k"):
        L.log_volume(tg.tensor(b.T))
