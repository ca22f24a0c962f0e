"""Checker for draw_filterbank: DRAW's Gaussian filters along one axis."""

import numpy as np

from tinygen.exercises.check import Mismatch, close, floats, prop, st

TITLE = "DRAW's Gaussian filterbank"
TOPIC = "attention"
DIFFICULTY = 2
LESSON = "28_draw"
FUNCTIONS = ["filterbank"]

grids = st.tuples(st.integers(2, 5), st.integers(4, 12))


@prop("filterbank matches the formula F[i, a] ∝ exp(−(a − μ_i)²/(2σ²)), μ_i = g + "
      "(i − N/2 − 0.5)·δ, for random g̃, log δ̃, log σ²",
      "the exponent divides by 2σ² = 2·exp(log σ²), the variance",
      grid=grids, g=floats(-0.8, 0.8), log_delta=floats(-1.0, 0.5), log_var=floats(-1.0, 1.5))
def formula(student, ref, grid, g, log_delta, log_var):
    n, size = grid
    close(student.filterbank(g, log_delta, log_var, n, size),
          ref.filterbank(g, log_delta, log_var, n, size),
          f"filterbank(g, log_delta, log_var, n={n}, size={size})", g=g, log_delta=log_delta,
          log_var=log_var)


@prop("each row sums to 1 (a filter is a weighted average of pixels)",
      "divide each filter by its sum over the pixels (axis 1), not over the filters",
      grid=grids, g=floats(-0.8, 0.8), log_var=floats(-1.0, 1.5))
def rows(student, ref, grid, g, log_var):
    n, size = grid
    f = np.asarray(student.filterbank(g, 0.0, log_var, n, size), dtype=np.float64)
    if f.shape != (n, size):
        raise Mismatch(f"filterbank(..., n={n}, size={size}) has shape {f.shape}, not "
                       f"{(n, size)}")
    close(f.sum(axis=1), np.ones(n), f"the row sums of filterbank(g={g}, 0, {log_var}, {n}, "
          f"{size})")


@prop("N = size sharp filters (log σ² = −6) at stride 1, centred: F = I",
      "filter i sits at g + (i − N/2 − 0.5)·δ; with g = (size + 1)/2 and δ = 1 that is i",
      size=st.integers(2, 10))
def identity(student, ref, size):
    close(student.filterbank(0.0, 0.0, -6.0, size, size), np.eye(size),
          f"filterbank(0, 0, -6, n={size}, size={size})", atol=1e-6)
