"""Normalises the rows of tanh(γY) (each example) instead of its columns (each filter).

Expect: not every row
"""

import numpy as np


def self_orthogonality(X, W, gamma=10.0, lam1=100.0, lam2=1.0):
    t = np.tanh(gamma * (X @ W))
    y = t / np.linalg.norm(t, axis=1, keepdims=True)
    theta = y.T @ y
    off = theta[~np.eye(theta.shape[0], dtype=bool)]
    return float(lam1 * off.sum() ** 2 + lam2 * (off**2).sum())
