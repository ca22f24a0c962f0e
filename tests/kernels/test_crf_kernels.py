"""The Numba CPU CRF kernels on raw arrays against a direct NumPy forward-backward (K²
exponentials per step, the textbook two-pass logsumexp), including scales up to ±1e4 where
the kernels' factorised max-shift falls back to exact columns, forbidden (−inf) transitions,
float32 and float64, the serial and prange variants; and a smoke run of the benchmark."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygen.kernels.cpu import crf as K
from tests.benchmark_script import load_benchmark


def lse(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(m, axis) + np.log(np.exp(x - m).sum(axis=axis))


def reference(h, G, s, e, lengths):
    """log Z, μ, summed ξ, per-position ξ, Viterbi paths and scores, in float64 NumPy."""
    h, G, s, e = (np.asarray(a, dtype=np.float64) for a in (h, G, s, e))
    B, L, Kk = h.shape
    log_z, mu = np.zeros(B), np.zeros((B, L, Kk))
    xi = np.zeros((B, max(L - 1, 0), Kk, Kk))
    paths, best = -np.ones((B, L), dtype=np.int64), np.zeros(B)
    for b, n in enumerate(lengths):
        alpha, beta = np.zeros((n, Kk)), np.zeros((n, Kk))
        alpha[0] = s + h[b, 0]
        for t in range(1, n):
            alpha[t] = lse(alpha[t - 1][:, None] + G, 0) + h[b, t]
        beta[n - 1] = e
        for t in range(n - 2, -1, -1):
            beta[t] = lse(G + (h[b, t + 1] + beta[t + 1])[None, :], 1)
        log_z[b] = lse(alpha[n - 1] + e, 0)
        with np.errstate(invalid="ignore"):
            mu[b, :n] = np.exp(alpha + beta - log_z[b])
            for t in range(n - 1):
                xi[b, t] = np.exp(alpha[t][:, None] + G + (h[b, t + 1] + beta[t + 1])[None]
                                  - log_z[b])
        v, back = s + h[b, 0], np.zeros((n, Kk), dtype=np.int64)
        for t in range(1, n):
            cand = v[:, None] + G
            back[t] = cand.argmax(axis=0)
            v = cand.max(axis=0) + h[b, t]
        top = int(np.argmax(v + e))
        best[b] = (v + e)[top]
        paths[b, n - 1] = top
        for t in range(n - 1, 0, -1):
            top = back[t, top]
            paths[b, t - 1] = top
    return log_z, mu, xi.sum(axis=1), xi, paths, best


@st.composite
def cases(draw):
    # K up to 12: below K.SMALL_K tags the kernels use libm exp/log, from it the polynomials
    B, L, Kk = draw(st.integers(1, 4)), draw(st.integers(1, 7)), draw(st.integers(1, 12))
    lengths = np.array([draw(st.integers(1, L)) for _ in range(B)])
    scale = draw(st.sampled_from([1.0, 50.0, 300.0, 1e4]))
    forbid = draw(st.booleans())
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return B, L, Kk, lengths, scale, forbid, dtype, draw(st.integers(0, 2**32 - 1))


def problem(seed, B, L, Kk, scale, forbid, dtype):
    rng = np.random.default_rng(seed)
    h = (rng.standard_normal((B, L, Kk)) * scale).astype(dtype)
    G = rng.standard_normal((Kk, Kk)) * scale
    if forbid and Kk > 1:  # forbid some transitions, keeping every tag reachable
        off = rng.random((Kk, Kk)) < 0.3
        np.fill_diagonal(off, False)
        G[off] = -np.inf
    s, e = rng.standard_normal(Kk) * scale, rng.standard_normal(Kk) * scale
    return h, G, s, e


@given(cases())
def test_kernels_match_direct_numpy(case):
    B, L, Kk, lengths, scale, forbid, dtype, seed = case
    h, G, s, e = problem(seed, B, L, Kk, scale, forbid, dtype)
    want = reference(h, G, s, e, lengths)
    log_z, alpha = K.forward(h, G, s, e, lengths)
    assert log_z.dtype == dtype and alpha.dtype == np.float64 and np.isfinite(log_z).all()
    unary, pair = K.marginals(h, G, s, e, lengths, alpha, log_z, per_position=False)
    _, pairs = K.marginals(h, G, s, e, lengths, alpha, log_z, per_position=True)
    paths, best = K.viterbi(h, G, s, e, lengths)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(log_z, want[0], rtol=rtol, atol=rtol * scale)
    atol = 1e-10 if dtype == np.float64 else 1e-6
    for got, ref in zip((unary, pair, pairs), want[1:4]):
        assert got.dtype == dtype and got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=atol)
    assert paths.dtype == np.int64 and (paths == want[4]).all()
    np.testing.assert_allclose(best, want[5], rtol=rtol, atol=rtol * scale)


def _nll_reference(want, y, lengths):
    """The NLL step's outputs from the reference: μ − one-hot(y) and Σξ − counts."""
    unary, pair = want[1].copy(), want[2].copy()
    for b, n in enumerate(lengths):
        for t in range(n):
            unary[b, t, y[b, t]] -= 1.0
            if t:
                pair[b, y[b, t - 1], y[b, t]] -= 1.0
    return unary, pair


@given(cases())
def test_nll_step_matches_direct_numpy_on_both_paths(case):
    """The fused NLL step, with its scaled fast path (the default) and with the log-space
    path only: log Z, the gradients μ − one-hot and Σξ − counts equal the reference, at
    every scale up to ±1e4; the gold score is the path's score."""
    B, L, Kk, lengths, scale, forbid, dtype, seed = case
    h, G, s, e = problem(seed, B, L, Kk, scale, forbid, dtype)
    y = np.random.default_rng(seed + 1).integers(0, Kk, (B, L))
    want = reference(h, G, s, e, lengths)
    unary, pair = _nll_reference(want, y, lengths)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    atol = 1e-10 if dtype == np.float64 else 1e-6
    for scaled in (True, False):
        log_z, score, du, dp = K.nll(h, G, s, e, lengths, y, True, scaled=scaled)
        np.testing.assert_allclose(log_z, want[0], rtol=rtol, atol=rtol * scale)
        np.testing.assert_allclose(du, unary, atol=atol)
        np.testing.assert_allclose(dp, pair, atol=atol)
        assert du.dtype == dp.dtype == log_z.dtype == dtype
        gold = [s[y[b, 0]] + e[y[b, n - 1]] + sum(h[b, t, y[b, t]] for t in range(n))
                + sum(G[y[b, t - 1], y[b, t]] for t in range(1, n))
                for b, n in enumerate(lengths)]
        np.testing.assert_allclose(score, gold, rtol=rtol, atol=rtol * scale)


def test_scaled_path_runs_where_exact_and_falls_back_elsewhere():
    """Ordinary scores take the scaled path; a sequence whose surviving mass shrinks by more
    than e^250 (scores of ±1e4, the huge-spread column below) or that holds a NaN takes the
    log-space path, and both give the reference's answer."""
    h, G, s, e = problem(3, 4, 6, 5, 1.0, True, np.float64)
    lengths = np.array([6, 1, 3, 6])
    y = np.zeros((4, 6), dtype=np.int64)
    assert K.nll(h, G, s, e, lengths, y, True, which=True)[-1].all()
    G2 = np.array([[0.0, -1e5], [-1e5, 1e5]])
    h2 = np.array([[[0.0, -2e5], [0.0, 0.0], [3.0, 1.0]], [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]])
    lengths2 = np.array([3, 3])
    log_z, _, du, dp, fast = K.nll(h2, G2, None, None, lengths2, np.zeros((2, 3), np.int64),
                                   True, which=True)
    assert fast.tolist() == [False, True]
    want = reference(h2, G2, np.zeros(2), np.zeros(2), lengths2)
    unary, pair = _nll_reference(want, np.zeros((2, 3), np.int64), lengths2)
    np.testing.assert_allclose(log_z, want[0], rtol=1e-14)
    np.testing.assert_allclose(du, unary, atol=1e-12)
    np.testing.assert_allclose(dp, pair, atol=1e-12)
    h[2, 1, 3] = np.nan  # the log-space path then runs (tinygen.ops.crf makes that row NaN)
    assert K.nll(h, G, s, e, lengths, y, True, which=True)[-1].tolist() == [True, True,
                                                                          False, True]
    assert not K.nll(h, np.full_like(G, np.nan), s, e, lengths, y, False, which=True)[-1].any()


def test_vectorised_exp_and_log_match_libm():
    rng = np.random.default_rng(0)
    x = np.concatenate([-rng.random(500) * 320, -rng.random(100) * 1e-3, [0.0, -np.inf,
                                                                          -299.9, -300.1]])
    out, work = np.empty_like(x), np.empty_like(x)
    K._exp_shifted(x, 0.0, out, work)
    want = np.where(x > K.CUT, np.exp(x), 0.0)
    np.testing.assert_allclose(out, want, rtol=4e-16, atol=0)
    s = np.exp(rng.uniform(-690, 690, 600))
    s[:4] = [1.0, np.sqrt(2.0), np.nextafter(np.sqrt(2.0), 3), 1e-300]
    out, work = np.empty_like(s), np.empty_like(s)
    K._log_positive(s, out, work)
    np.testing.assert_allclose(out, np.log(s), rtol=4e-16, atol=4e-16)


def test_padded_alphas_carry_the_last_value():
    h, G, s, e = problem(0, 2, 5, 3, 1.0, False, np.float64)
    _, alpha = K.forward(h, G, s, e, np.array([5, 2]))
    assert (alpha[1, 2:] == alpha[1, 1]).all()


def test_parallel_variants_agree_with_serial():
    h, G, s, e = problem(1, 5, 6, 9, 3.0, True, np.float64)
    lengths = np.array([6, 1, 3, 6, 2])
    out = []
    for parallel in (False, True):
        log_z, alpha = K.forward(h, G, s, e, lengths, parallel=parallel)
        m = K.marginals(h, G, s, e, lengths, alpha, log_z, False, parallel=parallel)
        y = np.random.default_rng(2).integers(0, 9, (5, 6))
        fused = K.nll(h, G, s, e, lengths, y, True, parallel=parallel)
        out.append((log_z, *m, *K.viterbi(h, G, s, e, lengths, parallel=parallel), *fused))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


def test_fallback_columns_are_exact_at_huge_spread():
    """A transition column whose entries differ by 1e5 underflows the factorised sum; the
    exact fallback must give the two-pass answer."""
    G = np.array([[0.0, -1e5], [-1e5, 1e5]])
    h = np.array([[[0.0, -2e5], [0.0, 0.0], [3.0, 1.0]]])
    lengths = np.array([3])
    log_z, alpha = K.forward(h, G, None, None, lengths)
    want = reference(h, G, np.zeros(2), np.zeros(2), lengths)
    np.testing.assert_allclose(log_z, want[0], rtol=1e-14)
    unary, pair = K.marginals(h, G, None, None, lengths, alpha, log_z, False)
    np.testing.assert_allclose(unary, want[1], atol=1e-12)
    np.testing.assert_allclose(pair, want[2], atol=1e-12)


def test_no_path_with_a_finite_score():
    h = np.zeros((1, 2, 2))
    G = np.full((2, 2), -np.inf)
    log_z, alpha = K.forward(h, G, None, None, np.array([2]))
    unary, pair = K.marginals(h, G, None, None, np.array([2]), alpha, log_z, False)
    assert log_z[0] == -np.inf and (unary == 0).all() and (pair == 0).all()


def test_kernels_reject_other_dtypes():
    with pytest.raises(TypeError, match="float32 or float64"):
        K.forward(np.zeros((1, 2, 2), dtype=np.int64), np.zeros((2, 2)), None, None,
                  np.array([2]))


def test_benchmark_runs_on_tiny_sizes():
    bench = load_benchmark("crf")
    r = bench.run(batch=3, length=4, tags=(2, 3), repeats=1, warmup=0)
    assert r["grads_match"] is True, r["grad_error"]
    for K_ in (2, 3):
        row = r["results"][K_]
        for impl in ("kernel", "twin"):
            assert row["nll"][impl] > 0 and row["viterbi"][impl] > 0
        if r["torch"]:
            assert row["nll"]["pytorch-crf"] > 0 and math.isfinite(row["nll_over_torch"])
        assert all(v is None or v >= 0 for v in row["nll_peak_mib"].values())
    assert "kernel" in bench.report(r) and "MiB" in bench.report(r)
