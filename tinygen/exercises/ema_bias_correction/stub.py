"""Exercise ema_bias_correction: an exponential moving average without the start-up bias.

An EMA of a sequence x_1, x_2, … keeps m_0 = 0 and

    m_t = decay·m_{t−1} + (1 − decay)·x_t

Starting from 0 biases the early averages towards 0 (with decay = 0.99, m_1 is only 1% of
x_1). The bias-corrected average divides by the total weight the x's have received:

    m̂_t = m_t / (1 − decayᵗ)                t = 1, 2, …

xs has shape (T, ...) (one row per step); return the array of m̂_1 … m̂_T (same shape).
This is what Adam does to its moments, and what an EMA of a model's weights can do.

    ema(xs, decay) -> array of shape xs.shape

The checker tests that a constant sequence averages to itself, and compares with the
reference on random sequences.
"""

import numpy as np


def ema(xs: np.ndarray, decay: float) -> np.ndarray:
    raise NotImplementedError
