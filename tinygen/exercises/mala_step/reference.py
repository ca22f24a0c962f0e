"""Reference for mala_step."""

import numpy as np


def mala_step(U, grad_U, x, eps, rng):
    g = grad_U(x)
    y = x - 0.5 * eps * g + np.sqrt(eps) * rng.standard_normal(x.shape)
    g_y = grad_U(y)

    def log_q(b, a, grad_a):  # log q(b | a), up to a constant
        return -np.sum((b - a + 0.5 * eps * grad_a) ** 2, axis=1) / (2 * eps)

    log_alpha = U(x) - U(y) + log_q(x, y, g_y) - log_q(y, x, g)
    accepted = np.log(rng.random(len(x))) < log_alpha
    return np.where(accepted[:, None], y, x), accepted
