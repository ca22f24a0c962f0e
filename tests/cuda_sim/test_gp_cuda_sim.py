"""The CUDA gradient-penalty kernels, run by Numba's CUDA simulator on NumPy arrays, against
the CPU kernel. The simulator runs every thread as a Python thread, so most cases build the
kernels with 4 × 4 blocks (``TILE = 4``, the same code with narrower shared-memory tiles) and
sizes that cross them: batches of 5 and 9 and widths of 5 to 9 give partial output tiles
and reductions that end one entry into a tile. One case keeps the real 16 × 16 tiles with a
layer 17 wide."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.backend import cuda_simulator_active
from tinygen.kernels.cpu import gp as cpu
from tinygen.kernels.cuda import gp as gpu

pytestmark = pytest.mark.skipif(not cuda_simulator_active(), reason="needs NUMBA_ENABLE_CUDASIM=1")

# (widths d_0 … d_L, activations, bias, kind, batch, dtype, tile)
CASES = {
    # ReLU/LeakyReLU and the one-output head's shortcut; 9 rows and a 9-wide layer
    "relu-leaky-f64": ((2, 9, 3, 1), ("relu", "leaky_relu", "identity"), True, "two_sided",
                       9, np.float64, 4),
    # tanh everywhere: the reverse over the forward pass reaches the biases
    "tanh-f64": ((3, 4, 5, 1), ("tanh", "tanh", "tanh"), True, "zero_centred", 5,
                 np.float64, 4),
    # depth 4 without biases, a tanh below a ReLU, float32
    "deep-nobias-f32": ((2, 5, 6, 3, 1), ("tanh", "relu", "leaky_relu", "identity"), False,
                        "two_sided", 5, np.float32, 4),
    # depth 1 (a linear critic with a tanh head)
    "depth1-f64": ((3, 1), ("tanh",), True, "two_sided", 5, np.float64, 4),
    # the real 16 x 16 tiles: a 17-wide layer (17 columns of z_1, 17-long reductions in
    # z_2 = h_1 W_2 and a_1 = g_1 W_1ᵀ, 17 rows of M = ā_1ᵀ r)
    "tile16-f64": ((2, 17, 1), ("relu", "identity"), True, "two_sided", 3, np.float64, 16),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cuda_gp_matches_cpu_kernel(name, monkeypatch):
    dims, acts, bias, kind, batch, dtype, tile = CASES[name]
    monkeypatch.setattr(gpu, "TILE", tile)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, dims[0])).astype(dtype)
    ws = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
          for a, b in zip(dims[:-1], dims[1:])]
    bs = [rng.standard_normal(b).astype(dtype) * 0.5 if bias else None for b in dims[1:]]
    slopes = [0.2] * len(acts)
    want = cpu.penalty_and_grads(x, ws, bs, acts, slopes, kind)
    got = gpu.penalty_and_grads(x, ws, bs, acts, slopes, kind)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=1e-6)
    assert isinstance(got[0], np.ndarray) and got[0].dtype == dtype and got[0].ndim == 0
    np.testing.assert_allclose(got[0], want[0], **tol)
    for g, w in zip(got[1] + got[2], want[1] + want[2]):
        assert (g is None) == (w is None)
        if w is not None:
            assert g.dtype == dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, **tol)
    assert any(np.abs(w).max() > 1e-3 for w in want[1])  # a test of something


def test_cuda_gp_penalty_only(monkeypatch):
    """Without ``want_grads`` the value is the same and the gradients are zeros."""
    monkeypatch.setattr(gpu, "TILE", 4)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2))
    ws = [rng.standard_normal((2, 4)), rng.standard_normal((4, 1))]
    full = cpu.penalty_and_grads(x, ws, [None, None], ["relu", "identity"], [0, 0])
    p, dws, _ = gpu.penalty_and_grads(x, ws, [None, None], ["relu", "identity"], [0, 0],
                                      want_grads=False)
    np.testing.assert_allclose(p, full[0], rtol=1e-12)
    assert all(not d.any() for d in dws)
