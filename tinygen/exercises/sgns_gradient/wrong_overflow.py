"""Computes −log σ(z) as −log(1/(1 + exp(−z))): exp overflows for large −z.

Expect: logaddexp
"""

import numpy as np


def sgns_gradient(v, u_target, u_negatives):
    z_t, z_n = u_target @ v, u_negatives @ v
    s_t, s_n = 1.0 / (1.0 + np.exp(-z_t)), 1.0 / (1.0 + np.exp(-z_n))
    with np.errstate(all="ignore"):
        loss = -np.log(s_t) - np.log(1.0 - s_n).sum()
    g_t, g_n = s_t - 1.0, s_n
    return float(loss), g_t * u_target + g_n @ u_negatives, g_t * v, np.outer(g_n, v)
