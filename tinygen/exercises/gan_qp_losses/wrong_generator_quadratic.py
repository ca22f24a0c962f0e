"""The generator's loss keeps the critic's quadratic term.

Expect: no quadratic term
"""

import numpy as np


def critic_loss(t_real, t_fake, x_real, x_fake, lam=10.0):
    d = np.abs(x_real - x_fake).reshape(len(x_real), -1).mean(axis=1)
    delta = t_real - t_fake
    return float(np.mean(-delta + delta**2 / (2.0 * lam * d)))


def generator_loss(t_real, t_fake):
    delta = t_real - t_fake
    return float(np.mean(delta + delta**2 / 20.0))
