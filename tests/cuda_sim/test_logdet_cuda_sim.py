"""The CUDA log-det kernels, run by Numba's CUDA simulator on NumPy arrays, against the CPU
kernel. Most cases use 4 × 4 blocks (the gp family's ``TILE = 4``, whose gemm these kernels
share) with sizes that cross them (batches of 5, widths of 5 to 9, 9 chain rows); one keeps
the real 16 × 16 tiles with a 17-wide layer."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.backend import cuda_simulator_active
from tinygen.kernels.cpu import logdet as cpu
from tinygen.kernels.cuda import gp
from tinygen.kernels.cuda import logdet as gpu

pytestmark = pytest.mark.skipif(not cuda_simulator_active(), reason="needs NUMBA_ENABLE_CUDASIM=1")

# (widths, activations, bias, batch, probes, n, mode, dtype, tile)
CASES = {
    "chain-elu-lipswish-f64": ((3, 9, 5, 3), ("elu", "lipswish"), True, 5, 2, 3, "chain",
                               np.float64, 4),
    "jacobian-tanh-f64": ((2, 6, 2), ("tanh",), True, 5, 1, 4, "jacobian", np.float64, 4),
    "chain-nobias-f32": ((4, 7, 4), ("lipswish",), False, 3, 3, 2, "chain", np.float32, 4),
    "linear-f64": ((3, 3), (), True, 2, 2, 3, "chain", np.float64, 4),
    "tile16-f64": ((2, 17, 2), ("elu",), True, 3, 1, 2, "chain", np.float64, 16),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cuda_logdet_matches_cpu_kernel(name, monkeypatch):
    dims, acts, bias, batch, m, n, mode, dtype, tile = CASES[name]
    monkeypatch.setattr(gp, "TILE", tile)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, dims[0])).astype(dtype)
    ws = [(0.6 * rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
          for a, b in zip(dims[:-1], dims[1:])]
    bs = [(0.5 * rng.standard_normal(b)).astype(dtype) if bias else None for b in dims[1:]]
    v = rng.choice([-1.0, 1.0], (batch, m, dims[0])).astype(dtype)
    tbar = rng.standard_normal((batch, m, n)).astype(dtype)
    tol = dict(rtol=1e-11, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=1e-5)
    want = cpu.series_terms(x, ws, bs, acts, v, n, mode)
    got = gpu.series_terms(x, ws, bs, acts, v, n, mode)
    assert got.dtype == dtype and got.shape == (batch, m, n)
    np.testing.assert_allclose(got, want, **tol)
    want = cpu.series_terms_grad(x, ws, bs, acts, v, n, tbar, mode)
    got = gpu.series_terms_grad(x, ws, bs, acts, v, n, tbar, mode)
    for g, w in zip([got[0], *got[1], *got[2]], [want[0], *want[1], *want[2]]):
        assert (g is None) == (w is None)
        if w is not None:
            assert g.dtype == dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, **tol)
    assert np.abs(want[1][0]).max() > 1e-3  # a test of something
    terms, saved = gpu.series_terms(x, ws, bs, acts, v, n, mode, keep=True)
    assert (saved is None) == (mode == "chain")  # Jacobian mode keeps its forward pass
    kept = gpu.series_terms_grad(x, ws, bs, acts, v, n, tbar, mode, saved=saved)
    for g, w in zip([kept[0], *kept[1], *kept[2]], [got[0], *got[1], *got[2]]):
        assert (g is None) == (w is None)
        if w is not None:
            np.testing.assert_array_equal(g, w)
