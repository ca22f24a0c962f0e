"""The gradient for v forgets the negatives: only the target's term.

Expect: sums over the target and every negative
"""

import numpy as np


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def sgns_gradient(v, u_target, u_negatives):
    z_t, z_n = u_target @ v, u_negatives @ v
    loss = np.logaddexp(0.0, -z_t) + np.logaddexp(0.0, z_n).sum()
    g_t, g_n = _sigmoid(z_t) - 1.0, _sigmoid(z_n)
    return float(loss), g_t * u_target, g_t * v, np.outer(g_n, v)
