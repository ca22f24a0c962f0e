"""Normalises over the filters (each pixel's column sums to 1) instead of over the pixels.

Expect: each row sums to 1
"""

import numpy as np


def filterbank(g, log_delta, log_var, n, size):
    centre = (size + 1) / 2 * (g + 1)
    delta = (size - 1) / (n - 1) * np.exp(log_delta)
    mu = centre + (np.arange(1, n + 1) - n / 2 - 0.5) * delta
    pixels = np.arange(1, size + 1)
    f = np.exp(-(pixels[None, :] - mu[:, None]) ** 2 / (2 * np.exp(log_var)))
    return f / f.sum(axis=0, keepdims=True)
