"""Accepts every proposal: this is ULA, whose stationary law is not the target.

Expect: accepting everything is ULA
"""

import numpy as np


def mala_step(U, grad_U, x, eps, rng):
    y = x - 0.5 * eps * grad_U(x) + np.sqrt(eps) * rng.standard_normal(x.shape)
    return y, np.ones(len(x), dtype=bool)
