"""Reference for spectral_norm."""

import numpy as np


def spectral_norm(W, u0, n_iter):
    u = u0 / np.linalg.norm(u0)
    for _ in range(n_iter):
        v = W.T @ u
        v = v / np.linalg.norm(v)
        u = W @ v
        u = u / np.linalg.norm(u)
    return float(u @ W @ v)
