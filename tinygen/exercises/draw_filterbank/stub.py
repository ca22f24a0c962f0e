"""Exercise draw_filterbank: DRAW's grid of Gaussian filters along one image axis.

DRAW reads and writes through an N×N grid of Gaussian filters. Along one axis of an image
with ``size`` pixels (numbered a = 1 … size), the decoder picks a raw centre g̃ ∈ ℝ, a log
stride log δ̃ and a log variance log σ². They become

    g = (size + 1)/2 · (g̃ + 1)                      the grid's centre, in pixels
    δ = (size − 1)/(N − 1) · exp(log δ̃)              the distance between filters
    μ_i = g + (i − N/2 − 0.5)·δ                      centre of filter i = 1 … N
    F[i, a] = exp(−(a − μ_i)² / (2σ²)) / Z_i          Z_i makes each row sum to 1

so g̃ = 0 centres the grid on the image and δ̃ = 1 spreads it from the first pixel to the
last. The glimpse of an image x is then F_Y x F_Xᵀ (N×N) and a write pastes F_Yᵀ w F_X.

    filterbank(g, log_delta, log_var, n, size) -> np.ndarray of shape (n, size)

``g``, ``log_delta`` and ``log_var`` are Python floats (g̃, log δ̃, log σ²). The checker
compares with the formula for random parameters, checks that the rows sum to one, and that
N = size sharp filters at stride 1 read the image unchanged (F = I).
"""

import numpy as np


def filterbank(g: float, log_delta: float, log_var: float, n: int, size: int) -> np.ndarray:
    raise NotImplementedError
