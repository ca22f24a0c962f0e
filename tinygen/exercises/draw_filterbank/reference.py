"""Reference for draw_filterbank."""

import numpy as np


def filterbank(g, log_delta, log_var, n, size):
    centre = (size + 1) / 2 * (g + 1)
    delta = (size - 1) / (n - 1) * np.exp(log_delta)
    mu = centre + (np.arange(1, n + 1) - n / 2 - 0.5) * delta
    pixels = np.arange(1, size + 1)
    f = np.exp(-(pixels[None, :] - mu[:, None]) ** 2 / (2 * np.exp(log_var)))
    return f / f.sum(axis=1, keepdims=True)
