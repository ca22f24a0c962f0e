"""Linear-chain CRF ops: brute force over all K^L paths, the kernels against the composed
twin (hypothesis-drawn lengths, masks and scales up to ±1e4), padded against unpadded
batches, NLL gradients against numerical derivatives (orders 1 and 2) and a third-order
check against the twin, Viterbi with transition constraints, and the errors for bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.ops.crf import (crf_log_partition, crf_log_partition_twin, crf_marginals,
                             crf_marginals_twin, crf_nll, crf_score, crf_viterbi,
                             crf_viterbi_twin)
from tinygen.testing import check_grads

try:
    import torch
    from torchcrf import CRF as TorchCRF
except ImportError:  # pragma: no cover - pytorch-crf is optional
    TorchCRF = None


# -- brute force ------------------------------------------------------------------------------

def path_score(h, G, s, e, y) -> float:
    n = len(y)
    total = sum(h[t, y[t]] for t in range(n)) + sum(G[y[t - 1], y[t]] for t in range(1, n))
    return total + (0 if s is None else s[y[0]]) + (0 if e is None else e[y[-1]])


def brute_force(h, G, s=None, e=None, n=None, allowed=None):
    """log Z, μ (n, K), ξ (n − 1, K, K), best path and its score of one sequence h (L, K)
    by enumerating all K^n paths (paths with a forbidden transition are skipped for Viterbi)."""
    n = h.shape[0] if n is None else n
    K = h.shape[1]
    paths = list(itertools.product(range(K), repeat=n))
    scores = np.array([path_score(h, G, s, e, y) for y in paths])
    log_z = np.logaddexp.reduce(scores)
    p = np.exp(scores - log_z)
    mu, xi = np.zeros((n, K)), np.zeros((max(n - 1, 0), K, K))
    for pr, y in zip(p, paths):
        for t in range(n):
            mu[t, y[t]] += pr
        for t in range(1, n):
            xi[t - 1, y[t - 1], y[t]] += pr
    ok = np.array([allowed is None or all(allowed[y[t - 1], y[t]] for t in range(1, n))
                   for y in paths])
    masked = np.where(ok, scores, -np.inf)
    best = int(np.argmax(masked))
    return log_z, mu, xi, paths[best], masked[best]


def random_problem(rng, B, L, K, scale=1.0, start_end=True, dtype=np.float64):
    h = (rng.standard_normal((B, L, K)) * scale).astype(dtype)
    G = (rng.standard_normal((K, K)) * scale).astype(dtype)
    s = (rng.standard_normal(K) * scale).astype(dtype) if start_end else None
    e = (rng.standard_normal(K) * scale).astype(dtype) if start_end else None
    return h, G, s, e


def mask_of(lengths, L):
    return (np.arange(L)[None, :] < np.asarray(lengths)[:, None]).astype(np.int64)


@pytest.mark.parametrize("K,L", [(1, 3), (2, 5), (3, 4), (4, 5), (4, 1)])
def test_brute_force_log_z_marginals_and_viterbi(K, L):
    rng = np.random.default_rng(K * 10 + L)
    h, G, s, e = random_problem(rng, 3, L, K)
    lengths = [L, max(1, L - 2), 1]
    mask = mask_of(lengths, L)
    log_z = crf_log_partition(h, G, mask, s, e).numpy()
    mu, xi = (m.numpy() for m in crf_marginals(h, G, mask, s, e))
    paths, best = (t.numpy() for t in crf_viterbi(h, G, mask, s, e))
    assert mu.shape == (3, L, K) and xi.shape == (3, L - 1, K, K)
    for b, n in enumerate(lengths):
        bz, bmu, bxi, bpath, bscore = brute_force(h[b], G, s, e, n)
        np.testing.assert_allclose(log_z[b], bz, rtol=1e-12)
        np.testing.assert_allclose(mu[b, :n], bmu, atol=1e-12)
        np.testing.assert_allclose(xi[b, :n - 1], bxi, atol=1e-12)
        assert (mu[b, n:] == 0).all() and (xi[b, max(n - 1, 0):] == 0).all()
        np.testing.assert_allclose(mu[b, :n].sum(axis=1), 1.0, atol=1e-12)
        # pairwise marginals sum to the unary ones on both sides
        np.testing.assert_allclose(xi[b, :n - 1].sum(axis=2), mu[b, :n - 1], atol=1e-12)
        np.testing.assert_allclose(xi[b, :n - 1].sum(axis=1), mu[b, 1:n], atol=1e-12)
        assert tuple(paths[b, :n]) == bpath and (paths[b, n:] == -1).all()
        np.testing.assert_allclose(best[b], bscore, rtol=1e-12)


def test_twin_matches_brute_force():
    rng = np.random.default_rng(1)
    h, G, s, e = random_problem(rng, 2, 4, 3)
    mask = mask_of([4, 2], 4)
    z = crf_log_partition_twin(h, G, mask, s, e).numpy()
    mu, xi = (m.numpy() for m in crf_marginals_twin(h, G, mask, s, e))
    for b, n in enumerate([4, 2]):
        bz, bmu, bxi, _, _ = brute_force(h[b], G, s, e, n)
        np.testing.assert_allclose(z[b], bz, rtol=1e-12)
        np.testing.assert_allclose(mu[b, :n], bmu, atol=1e-12)
        np.testing.assert_allclose(xi[b, :n - 1], bxi, atol=1e-12)


def test_score_and_nll_match_brute_force():
    rng = np.random.default_rng(2)
    h, G, s, e = random_problem(rng, 2, 4, 3)
    lengths = [4, 3]
    y = rng.integers(0, 3, (2, 4))
    y[1, 3] = -7  # padded labels are ignored
    mask = mask_of(lengths, 4)
    score = crf_score(h, G, y, mask, s, e).numpy()
    nll = crf_nll(h, G, y, mask, s, e, reduction="none").numpy()
    for b, n in enumerate(lengths):
        want = path_score(h[b], G, s, e, tuple(y[b, :n]))
        np.testing.assert_allclose(score[b], want, rtol=1e-12)
        np.testing.assert_allclose(nll[b], brute_force(h[b], G, s, e, n)[0] - want, rtol=1e-12)
    assert np.isclose(crf_nll(h, G, y, mask, s, e).item(), nll.mean())
    assert np.isclose(crf_nll(h, G, y, mask, s, e, reduction="sum").item(), nll.sum())


# -- kernels against the twin ---------------------------------------------------------------------

@st.composite
def problems(draw):
    B, L, K = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 4))
    lengths = [draw(st.integers(1, L)) for _ in range(B)]
    scale = draw(st.sampled_from([0.1, 1.0, 30.0, 1e4]))
    start_end = draw(st.booleans())
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    return B, L, K, lengths, scale, start_end, dtype, seed


@given(problems())
def test_kernels_match_twin(case):
    B, L, K, lengths, scale, start_end, dtype, seed = case
    h, G, s, e = random_problem(np.random.default_rng(seed), B, L, K, scale, start_end, dtype)
    mask = mask_of(lengths, L)
    z = crf_log_partition(h, G, mask, s, e)
    zt = crf_log_partition_twin(h, G, mask, s, e)
    assert z.dtype == dtype and np.isfinite(z.numpy()).all()
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(z.numpy(), zt.numpy(), rtol=rtol, atol=rtol * scale)
    mu, xi = (m.numpy() for m in crf_marginals(h, G, mask, s, e))
    assert np.isfinite(mu).all() and np.isfinite(xi).all()
    np.testing.assert_allclose(mu.sum(axis=2), mask, atol=1e-9 if dtype == np.float64 else 1e-5)
    if dtype == np.float64 or scale <= 1.0:  # float32 twin marginals at large scales are noisy
        mt, xt = (m.numpy() for m in crf_marginals_twin(h, G, mask, s, e))
        atol = 1e-9 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(mu, mt, atol=atol)
        np.testing.assert_allclose(xi, xt, atol=atol)
    paths, best = crf_viterbi(h, G, mask, s, e)
    hd, Gd = h.astype(np.float64), G.astype(np.float64)
    sd = None if s is None else s.astype(np.float64)
    ed = None if e is None else e.astype(np.float64)
    for b, n in enumerate(lengths):  # the path's own score is the reported best score
        own = path_score(hd[b], Gd, sd, ed, tuple(paths.numpy()[b, :n]))
        np.testing.assert_allclose(best.numpy()[b], own, rtol=rtol, atol=rtol * scale)
        assert best.numpy()[b] >= z.numpy()[b] - np.log(K) * n - rtol * scale * 10


@given(problems(), st.integers(0, 2**32 - 1))
def test_fused_nll_matches_log_partition_minus_score(case, label_seed):
    """crf_nll's one-call kernel (log Z, s(y) and the gradient together) equals the two
    primitives it replaces, log Z − s(y), in value and in every first-order gradient, at
    every scale, padding and dtype; without a gradient it gives the same values."""
    B, L, K, lengths, scale, start_end, dtype, seed = case
    h, G, s, e = random_problem(np.random.default_rng(seed), B, L, K, scale, start_end, dtype)
    mask = mask_of(lengths, L)
    y = np.random.default_rng(label_seed).integers(0, K, (B, L))
    weights = np.random.default_rng(label_seed + 1).standard_normal(B).astype(dtype)
    results = []
    for fn in (lambda *a: crf_nll(*a[:2], y, mask, *a[2:], reduction="none"),
               lambda *a: (crf_log_partition(*a[:2], mask, *a[2:])
                           - crf_score(*a[:2], y, mask, *a[2:]))):
        ts = [None if a is None else tg.tensor(a, requires_grad=True) for a in (h, G, s, e)]
        out = fn(*ts)
        (out * weights).sum().backward()
        results.append([out.numpy()] + [t.grad.numpy() for t in ts if t is not None])
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    for got, want in zip(*results):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale * L)
    with tg.no_grad():
        plain = crf_nll(h, G, y, mask, s, e, reduction="none").numpy()
    np.testing.assert_allclose(plain, results[0][0], rtol=rtol, atol=rtol * scale * L)


def test_fused_nll_third_order_matches_twin():
    rng = np.random.default_rng(19)
    h, G, s, e = random_problem(rng, 2, 3, 3)
    mask = mask_of([3, 2], 3)
    y = rng.integers(0, 3, (2, 3))
    v = rng.standard_normal(h.shape)
    results = []
    for fn in (lambda h, G: crf_nll(h, G, y, mask, s, e, reduction="sum"),
               lambda h, G: (crf_log_partition_twin(h, G, mask, s, e)
                             - crf_score(h, G, y, mask, s, e)).sum()):
        ht, Gt = tg.tensor(h, requires_grad=True), tg.tensor(G, requires_grad=True)
        g1 = tg.grad(fn(ht, Gt), ht, create_graph=True)
        g2 = tg.grad((g1 * v).sum(), ht, create_graph=True)
        g3 = tg.grad((g2 * v).sum(), Gt)
        results.append((g1.numpy(), g2.numpy(), g3.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-11)


def test_scores_of_1e4_stay_finite_on_long_sequences():
    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64):
        h, G, s, e = random_problem(rng, 4, 40, 6, 1e4, True, dtype)
        mask = mask_of([40, 17, 5, 1], 40)
        z = crf_log_partition(h, G, mask, s, e).numpy()
        mu, xi = (m.numpy() for m in crf_marginals(h, G, mask, s, e))
        assert np.isfinite(z).all() and np.isfinite(mu).all() and np.isfinite(xi).all()
        np.testing.assert_allclose(mu.sum(axis=2), mask, atol=1e-5)
        zt = crf_log_partition_twin(h.astype(np.float64), G, mask, s, e).numpy()
        np.testing.assert_allclose(z, zt, rtol=1e-6 if dtype == np.float32 else 1e-12)


# -- padding -------------------------------------------------------------------------------------

def test_padded_batch_equals_each_sequence_alone():
    rng = np.random.default_rng(4)
    L, K = 6, 4
    lengths = [6, 3, 1, 5]
    h, G, s, e = random_problem(rng, 4, L, K)
    h[mask_of(lengths, L) == 0] = 1e3  # garbage in the padding must not matter
    y = rng.integers(0, K, (4, L))
    mask = mask_of(lengths, L)
    ht, Gt = tg.tensor(h, requires_grad=True), tg.tensor(G, requires_grad=True)
    st_, et = tg.tensor(s, requires_grad=True), tg.tensor(e, requires_grad=True)
    nll = crf_nll(ht, Gt, y, mask, st_, et, reduction="none")
    nll.sum().backward()
    z = crf_log_partition(h, G, mask, s, e).numpy()
    mu, xi = (m.numpy() for m in crf_marginals(h, G, mask, s, e))
    paths, best = (t.numpy() for t in crf_viterbi(h, G, mask, s, e))
    grad_G = np.zeros((K, K))
    for b, n in enumerate(lengths):
        one = [h[b:b + 1, :n], G, None, s, e]
        hb = tg.tensor(one[0], requires_grad=True)
        Gb = tg.tensor(G, requires_grad=True)
        nb = crf_nll(hb, Gb, y[b:b + 1, :n], None, s, e, reduction="none")
        nb.backward(np.ones(1))
        grad_G += Gb.grad.numpy()
        assert nll.numpy()[b] == pytest.approx(nb.item(), rel=1e-12)
        assert z[b] == pytest.approx(crf_log_partition(*one).item(), rel=1e-12)
        mu1, xi1 = (m.numpy() for m in crf_marginals(*one))
        np.testing.assert_allclose(mu[b, :n], mu1[0], atol=1e-13)
        np.testing.assert_allclose(xi[b, :n - 1], xi1[0], atol=1e-13)
        np.testing.assert_allclose(ht.grad.numpy()[b, :n], hb.grad.numpy()[0], atol=1e-13)
        assert (ht.grad.numpy()[b, n:] == 0).all()
        p1, s1 = (t.numpy() for t in crf_viterbi(*one))
        assert (paths[b, :n] == p1[0]).all() and best[b] == pytest.approx(s1[0], rel=1e-12)
    np.testing.assert_allclose(Gt.grad.numpy(), grad_G, atol=1e-12)


# -- gradients -----------------------------------------------------------------------------------

def test_nll_gradient_is_marginals_minus_counts():
    rng = np.random.default_rng(5)
    h, G, s, e = random_problem(rng, 3, 5, 4)
    lengths = [5, 4, 2]
    mask = mask_of(lengths, 5)
    y = rng.integers(0, 4, (3, 5))
    ts = [tg.tensor(a, requires_grad=True) for a in (h, G, s, e)]
    crf_nll(*ts[:2], y, mask, *ts[2:], reduction="sum").backward()
    mu, xi = (m.numpy() for m in crf_marginals(h, G, mask, s, e))
    onehot = np.eye(4)[y] * mask[..., None]
    np.testing.assert_allclose(ts[0].grad.numpy(), mu - onehot, atol=1e-12)
    counts = np.zeros((4, 4))
    for b, n in enumerate(lengths):
        for t in range(1, n):
            counts[y[b, t - 1], y[b, t]] += 1
    np.testing.assert_allclose(ts[1].grad.numpy(), xi.sum(axis=(0, 1)) - counts, atol=1e-12)
    np.testing.assert_allclose(ts[2].grad.numpy(), (mu[:, 0] - onehot[:, 0]).sum(0), atol=1e-12)
    last = [(mu[b, n - 1] - onehot[b, n - 1]) for b, n in enumerate(lengths)]
    np.testing.assert_allclose(ts[3].grad.numpy(), np.sum(last, axis=0), atol=1e-12)


@pytest.mark.parametrize("order", [1, 2])
def test_nll_gradients_match_numerical(order):
    rng = np.random.default_rng(6 + order)
    h, G, s, e = random_problem(rng, 2, 4, 3)
    mask = mask_of([4, 2], 4)
    y = rng.integers(0, 3, (2, 4))

    def nll(h, G, s, e):
        return crf_nll(h, G, y, mask, s, e, reduction="none")

    check_grads(nll, [h, G, s, e], order=order, name="crf_nll")


def test_marginals_are_differentiable():
    rng = np.random.default_rng(8)
    h, G, _, _ = random_problem(rng, 2, 3, 3, start_end=False)
    mask = mask_of([3, 2], 3)
    check_grads(lambda h, G: crf_marginals(h, G, mask), [h, G], name="crf_marginals")


def test_third_order_matches_twin():
    """d/dG of the second directional derivative of log Z along v: the kernel-backed op (whose
    marginals' VJP recomputes the twin with the original tensors) equals the pure twin."""
    rng = np.random.default_rng(9)
    h, G, s, e = random_problem(rng, 2, 3, 3)
    mask = mask_of([3, 2], 3)
    v = rng.standard_normal(h.shape)
    results = []
    for fn in (crf_log_partition, crf_log_partition_twin):
        ht, Gt = tg.tensor(h, requires_grad=True), tg.tensor(G, requires_grad=True)
        z = fn(ht, Gt, mask, s, e).sum()
        g1 = tg.grad(z, ht, create_graph=True)
        g2 = tg.grad((g1 * v).sum(), ht, create_graph=True)
        g3 = tg.grad((g2 * v).sum(), Gt)
        results.append((g1.numpy(), g2.numpy(), g3.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-11)


def test_first_order_training_records_no_twin_graph():
    """Without create_graph the backward pass runs only kernels: the gradient is a plain
    tensor with no graph behind it."""
    rng = np.random.default_rng(10)
    h, G, _, _ = random_problem(rng, 2, 4, 3, start_end=False)
    ht = tg.tensor(h, requires_grad=True)
    g = tg.grad(crf_log_partition(ht, G).sum(), ht)
    assert not g.requires_grad and g.is_leaf


def test_float32_stays_float32():
    rng = np.random.default_rng(11)
    h, G, s, e = random_problem(rng, 2, 4, 3, dtype=np.float32)
    ts = [tg.tensor(a, requires_grad=True) for a in (h, G, s, e)]
    loss = crf_nll(*ts[:2], rng.integers(0, 3, (2, 4)), None, *ts[2:])
    loss.backward()
    assert loss.dtype == np.float32
    assert all(t.grad.dtype == np.float32 for t in ts)
    assert crf_viterbi(h, G)[1].dtype == np.float32


# -- Viterbi with constraints --------------------------------------------------------------------

def test_viterbi_respects_allowed_transitions():
    rng = np.random.default_rng(12)
    K, L = 4, 5  # b, m, e, s tagging: after b or m comes m or e; after e or s comes b or s
    allowed = np.array([[0, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1], [1, 0, 0, 1]], dtype=bool)
    h, G, s, e = random_problem(rng, 3, L, K, scale=3.0)
    mask = mask_of([5, 4, 2], L)
    paths, best = (t.numpy() for t in crf_viterbi(h, G, mask, s, e, allowed=allowed))
    for b, n in enumerate([5, 4, 2]):
        *_, bpath, bscore = brute_force(h[b], G, s, e, n, allowed=allowed)
        assert tuple(paths[b, :n]) == bpath
        assert best[b] == pytest.approx(bscore, rel=1e-12)
        assert all(allowed[p, q] for p, q in zip(paths[b, :n - 1], paths[b, 1:n]))


def test_viterbi_with_no_allowed_path_scores_minus_inf():
    h = np.zeros((1, 3, 2))
    paths, best = crf_viterbi(h, np.zeros((2, 2)), allowed=np.zeros((2, 2), dtype=bool))
    assert best.item() == -np.inf and paths.shape == (1, 3)


# -- errors --------------------------------------------------------------------------------------

def _raises(exc, *words):
    return pytest.raises(exc, match=".*".join(words))


def test_bad_input_errors_name_the_op_and_shapes():
    h, G = np.zeros((2, 3, 4)), np.zeros((4, 4))
    y = np.zeros((2, 3), dtype=np.int64)
    with _raises(tg.ShapeError, "crf_log_partition", r"\(2, 3, 5\)", r"\(4, 4\)"):
        crf_log_partition(np.zeros((2, 3, 5)), G)
    with _raises(tg.ShapeError, "crf_nll", r"\(batch, length, tags\)"):
        crf_nll(np.zeros((3, 4)), G, y)
    with _raises(tg.ShapeError, "crf_marginals", "start", r"\(4,\)"):
        crf_marginals(h, G, start=np.zeros(3))
    with _raises(tg.IndexOutOfRange, "crf_nll", r"\[0, 4\)", r"\(2, 3, 4\)"):
        crf_nll(h, G, y + 4)
    with _raises(tg.DTypeError, "crf_nll", "integers", "float64"):
        crf_nll(h, G, y.astype(np.float64))
    with _raises(tg.ShapeError, "crf_score", "labels", r"\(2, 3\)"):
        crf_score(h, G, y[:, :2])
    with _raises(tg.ShapeError, "crf_nll", "sequence 1", "hole"):
        crf_nll(h, G, y, mask=[[1, 1, 1], [1, 0, 1]])
    with _raises(tg.ShapeError, "crf_log_partition", "sequence 0", "starts with 0"):
        crf_log_partition(h, G, mask=[[0, 1, 1], [1, 1, 1]])
    with _raises(tg.ShapeError, "crf_viterbi", "mask", r"\(2, 3\)"):
        crf_viterbi(h, G, mask=np.ones((2, 4)))
    with _raises(tg.ShapeError, "crf_log_partition", "only 0 and 1"):
        crf_log_partition(h, G, mask=np.full((2, 3), 2))
    # integer and bool scores are promoted to the default float, as every op does
    hi = np.round(h).astype(np.int64)
    np.testing.assert_allclose(crf_log_partition(hi, G).numpy(),
                               crf_log_partition(hi.astype(np.float32), G).numpy())
    with _raises(tg.DTypeError, "crf_nll", "transitions", "complex"):
        crf_nll(h, G.astype(complex), y)
    with _raises(tg.DTypeError, "crf_viterbi", "allowed", "boolean"):
        crf_viterbi(h, G, allowed=np.ones((4, 4)))
    with _raises(tg.ShapeError, "crf_viterbi", "allowed", r"\(4, 4\)"):
        crf_viterbi(h, G, allowed=np.ones((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="reduction"):
        crf_nll(h, G, y, reduction="max")


def test_labels_at_padded_positions_are_not_checked():
    h, G = np.zeros((1, 3, 2)), np.zeros((2, 2))
    loss = crf_nll(h, G, [[1, -1, 99]], mask=[[1, 0, 0]])
    assert loss.item() == pytest.approx(np.log(2))


# -- devices and the reference package -----------------------------------------------------------

def test_device_results_match_cpu(device):
    rng = np.random.default_rng(13)
    h, G, s, e = random_problem(rng, 3, 5, 4, dtype=np.float32)
    mask = mask_of([5, 3, 1], 5)
    y = rng.integers(0, 4, (3, 5))
    got = []
    for dev in ("cpu", device):
        ts = [tg.tensor(a, device=dev, requires_grad=True) for a in (h, G, s, e)]
        m = tg.tensor(mask, device=dev)
        loss = crf_nll(*ts[:2], tg.tensor(y, device=dev), m, *ts[2:])
        loss.backward()
        paths, best = crf_viterbi(ts[0].detach(), ts[1].detach(), m, ts[2].detach(),
                                  ts[3].detach())
        got.append([loss.numpy(), *(t.grad.numpy() for t in ts), paths.numpy(), best.numpy()])
    for a, b in zip(*got):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(TorchCRF is None, reason="pytorch-crf is not installed")
def test_matches_pytorch_crf():
    rng = np.random.default_rng(14)
    B, L, K = 3, 6, 5
    h, G, s, e = random_problem(rng, B, L, K)
    y = rng.integers(0, K, (B, L))
    mask = mask_of([6, 4, 1], L)
    ref = TorchCRF(K, batch_first=True).double()
    with torch.no_grad():
        ref.transitions.copy_(torch.from_numpy(G))
        ref.start_transitions.copy_(torch.from_numpy(s))
        ref.end_transitions.copy_(torch.from_numpy(e))
    tm = torch.from_numpy(mask.astype(bool))
    want = -ref(torch.from_numpy(h), torch.from_numpy(y), tm, reduction="none").detach().numpy()
    got = crf_nll(h, G, y, mask, s, e, reduction="none").numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    paths = crf_viterbi(h, G, mask, s, e)[0].numpy()
    for b, best in enumerate(ref.decode(torch.from_numpy(h), tm)):
        assert list(paths[b, :len(best)]) == best


@given(problems())
def test_viterbi_twin_matches_kernel(case):
    B, L, K, lengths, scale, start_end, _, seed = case
    h, G, s, e = random_problem(np.random.default_rng(seed), B, L, K, scale, start_end)
    mask = mask_of(lengths, L)
    allowed = np.random.default_rng(seed).random((K, K)) < 0.8
    for a in (None, allowed):
        p1, s1 = crf_viterbi(h, G, mask, s, e, allowed=a)
        p2, s2 = crf_viterbi_twin(h, G, mask, s, e, allowed=a)
        finite = np.isfinite(s1.numpy())
        np.testing.assert_array_equal(s1.numpy(), s2.numpy())
        np.testing.assert_array_equal(p1.numpy()[finite], p2.numpy()[finite])


def test_a_nan_score_gives_nan_for_its_sequence_only():
    """The kernels' max-shifted sums would step over a NaN and return a finite number; a NaN
    where a sequence's scores are read makes that sequence's log Z, NLL, gradient and
    Viterbi score NaN, and leaves the others alone. A NaN in the padding changes nothing."""
    rng = np.random.default_rng(0)
    h, G = rng.standard_normal((3, 4, 5)), rng.standard_normal((5, 5))
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]])
    y = rng.integers(0, 5, (3, 4))
    clean = [tg.crf_log_partition(h, G, mask).numpy(), tg.crf_viterbi(h, G, mask)[1].numpy(),
             tg.crf_nll(h, G, y, mask, reduction="none").numpy(),
             tg.crf_score(h, G, y, mask).numpy()]
    padded = h.copy()
    padded[1, 3, 2] = np.nan
    got = [tg.crf_log_partition(padded, G, mask).numpy(),
           tg.crf_viterbi(padded, G, mask)[1].numpy(),
           tg.crf_nll(padded, G, y, mask, reduction="none").numpy(),
           tg.crf_score(padded, G, y, mask).numpy()]
    for a, b in zip(got, clean, strict=True):
        np.testing.assert_array_equal(a, b)
    bad = h.copy()
    bad[2, 1, 3] = np.nan
    ht = tg.tensor(bad, requires_grad=True)
    nll = tg.crf_nll(ht, G, y, mask, reduction="none")
    nll.sum().backward()
    outs = [tg.crf_log_partition(bad, G, mask).numpy(), tg.crf_viterbi(bad, G, mask)[1].numpy(),
            nll.numpy(), tg.crf_marginals(bad, G, mask)[0].numpy().reshape(3, -1).sum(1),
            ht.grad.numpy().reshape(3, -1).sum(1)]
    for out in outs:
        assert np.isnan(out[2]) and np.isfinite(out[:2]).all(), out
    np.testing.assert_array_equal(outs[0][:2], clean[0][:2])
    Gbad = G.copy()
    Gbad[0, 0] = np.nan
    assert np.isnan(tg.crf_log_partition(h, Gbad, mask).numpy()).all()
