"""The CUDA CRF kernels, run by Numba's CUDA simulator on NumPy arrays, against the CPU
kernels. Blocks are cut to 32 threads and K = 33, so one thread owns two tags (j and
j + 32) and the others one, as on a GPU with more tags than threads; sequences of different
lengths (padding), L ≤ 4, float32 and float64, with start/end scores, forbidden (−inf)
transitions and both pairwise layouts."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.backend import cuda_simulator_active
from tinygen.kernels.cpu import crf as cpu
from tinygen.kernels.cuda import crf as gpu

pytestmark = pytest.mark.skipif(not cuda_simulator_active(), reason="needs NUMBA_ENABLE_CUDASIM=1")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("K", [33, 5])
def test_cuda_kernels_match_cpu_kernels(K, dtype, monkeypatch):
    monkeypatch.setattr(gpu, "THREADS", 32)
    rng = np.random.default_rng(K)
    h = rng.standard_normal((2, 4, K)).astype(dtype)
    G = rng.standard_normal((K, K))
    G[0, 1] = G[2, 2] = -np.inf  # forbidden transitions
    G = G.astype(dtype)
    s, e = rng.standard_normal(K).astype(dtype), rng.standard_normal(K).astype(dtype)
    lengths = np.array([4, 2])
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    log_z, alpha = gpu.forward(h, G, s, e, lengths)
    want_z, want_alpha = cpu.forward(h, G, s, e, lengths)
    assert log_z.dtype == dtype and alpha.dtype == dtype
    np.testing.assert_allclose(log_z, want_z, **tol)
    np.testing.assert_allclose(alpha, want_alpha, **tol)
    for per_position in (False, True):
        got = gpu.marginals(h, G, s, e, lengths, alpha, log_z, per_position)
        want = cpu.marginals(h, G, s, e, lengths, want_alpha, want_z, per_position)
        for a, b in zip(got, want):
            assert a.dtype == dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, **tol)
    paths, scores = gpu.viterbi(h, G, s, e, lengths)
    want_paths, want_scores = cpu.viterbi(h, G, s, e, lengths)
    np.testing.assert_array_equal(paths, want_paths)
    np.testing.assert_allclose(scores, want_scores, **tol)


def test_large_scores_stay_finite():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((1, 3, 3)) * 1e4
    G = rng.standard_normal((3, 3)) * 1e4
    lengths = np.array([3])
    log_z, alpha = gpu.forward(h, G, None, None, lengths)
    unary, pair = gpu.marginals(h, G, None, None, lengths, alpha, log_z, False)
    want = cpu.forward(h, G, None, None, lengths)[0]
    np.testing.assert_allclose(log_z, want, rtol=1e-14)
    assert np.isfinite(unary).all() and np.isfinite(pair).all()
    np.testing.assert_allclose(unary.sum(axis=2), 1.0, atol=1e-9)
