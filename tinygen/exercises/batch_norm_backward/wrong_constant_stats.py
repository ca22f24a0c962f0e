"""Treats μ and σ² as constants: dx = γ·g/√(σ² + eps).

Expect: mean term
"""

import numpy as np


def batch_norm_backward(x, gamma, g, eps):
    r = 1.0 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - x.mean(axis=0)) * r
    return gamma * g * r, (g * xhat).sum(axis=0), g.sum(axis=0)
