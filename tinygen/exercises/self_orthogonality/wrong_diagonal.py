"""Sums over all pairs, the diagonal ϑᵢᵢ = 1 included.

Expect: sum over i ≠ j only
"""

import numpy as np


def self_orthogonality(X, W, gamma=10.0, lam1=100.0, lam2=1.0):
    t = np.tanh(gamma * (X @ W))
    y = t / np.linalg.norm(t, axis=0, keepdims=True)
    theta = y.T @ y
    return float(lam1 * theta.sum() ** 2 + lam2 * (theta**2).sum())
