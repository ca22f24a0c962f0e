"""Accepts with min(1, exp(U(x) − U(x'))) as if the proposal were symmetric.

Expect: proposal ratio
"""

import numpy as np


def mala_step(U, grad_U, x, eps, rng):
    y = x - 0.5 * eps * grad_U(x) + np.sqrt(eps) * rng.standard_normal(x.shape)
    accepted = np.log(rng.random(len(x))) < U(x) - U(y)
    return np.where(accepted[:, None], y, x), accepted
