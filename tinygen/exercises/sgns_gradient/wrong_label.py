"""Treats the negatives like the target (label 1): −log σ(z_n) instead of −log σ(−z_n).

Expect: the negatives enter with σ(−u_n·v)
"""

import numpy as np


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def sgns_gradient(v, u_target, u_negatives):
    z_t, z_n = u_target @ v, u_negatives @ v
    loss = np.logaddexp(0.0, -z_t) + np.logaddexp(0.0, -z_n).sum()
    g_t, g_n = _sigmoid(z_t) - 1.0, _sigmoid(z_n) - 1.0
    return float(loss), g_t * u_target + g_n @ u_negatives, g_t * v, np.outer(g_n, v)
