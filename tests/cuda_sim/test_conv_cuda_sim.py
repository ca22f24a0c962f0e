"""The CUDA conv kernels, run by Numba's CUDA simulator on NumPy arrays, against the CPU
kernels. Shapes are tiny (the simulator runs each of a block's 256 threads as a Python
thread) but straddle the 16-wide tiles: 17 and 33 output columns or channels, reductions
of 18 and 33, so partial tiles, the zero fill of out-of-range tile entries and the
atomic combination of a split weight-gradient reduction are all exercised."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.backend import cuda_simulator_active
from tinygen.kernels.cpu import conv as cpu
from tinygen.kernels.cuda import conv as gpu

pytestmark = pytest.mark.skipif(not cuda_simulator_active(), reason="needs NUMBA_ENABLE_CUDASIM=1")

# (x shape, w shape, stride, padding, dilation, groups, dtype)
CASES = {
    # 17 output columns (2 tiles, the second holding 1), K = 2*3*3 = 18 (2 tiles)
    "cols-17-k18-f64": ((1, 2, 1, 17), (3, 2, 3, 3), (1, 1), (1, 1), (1, 1), 1, np.float64),
    # 17 output channels per group (2 row tiles), 2 groups, stride and dilation
    "rows-17-groups-f32": ((1, 2, 2, 4), (34, 1, 2, 2), (2, 1), (1, 1), (1, 2), 2, np.float32),
    # a 1 x 33 row: 33 output columns and a 33-long weight-gradient reduction
    "cols-33-f64": ((1, 1, 1, 33), (2, 1, 1, 3), (1, 1), (0, 1), (1, 1), 1, np.float64),
}


def _out_hw(x_shape, w_shape, s, p, d):
    return tuple((n + 2 * pi - di * (k - 1) - 1) // si + 1
                 for n, k, si, pi, di in zip(x_shape[2:], w_shape[2:], s, p, d))


@pytest.mark.parametrize("name", sorted(CASES))
def test_cuda_kernels_match_cpu_kernels(name, monkeypatch):
    x_shape, w_shape, s, p, d, groups, dtype = CASES[name]
    monkeypatch.setattr(gpu, "WEIGHT_GRAD_BLOCKS", 4)  # a few split-K blocks, not hundreds
    rng = np.random.default_rng(0)
    out = _out_hw(x_shape, w_shape, s, p, d)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    g = rng.standard_normal((x_shape[0], w_shape[0]) + out).astype(dtype)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    pairs = [
        (gpu.conv2d_forward(x, w, s, p, d, groups, out),
         cpu.conv2d_forward(x, w, s, p, d, groups, out)),
        (gpu.conv2d_input_grad(g, w, s, p, d, groups, x_shape[2:]),
         cpu.conv2d_input_grad(g, w, s, p, d, groups, x_shape[2:])),
        (gpu.conv2d_weight_grad(x, g, s, p, d, groups, w_shape[2:]),
         cpu.conv2d_weight_grad(x, g, s, p, d, groups, w_shape[2:])),
    ]
    for got, want in pairs:
        assert isinstance(got, np.ndarray) and got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **tol)


def test_weight_grad_split_count_does_not_change_the_result(monkeypatch):
    """One block per tile (no atomics racing) and a split reduction give the same sums."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 1, 2, 9))
    g = rng.standard_normal((2, 1, 2, 9))
    results = []
    for blocks in (1, 3):
        monkeypatch.setattr(gpu, "WEIGHT_GRAD_BLOCKS", blocks)
        results.append(gpu.conv2d_weight_grad(x, g, (1, 1), (1, 1), (1, 1), 1, (3, 3)))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        results[0], cpu.conv2d_weight_grad(x, g, (1, 1), (1, 1), (1, 1), 1, (3, 3)),
        rtol=1e-12, atol=1e-12)
