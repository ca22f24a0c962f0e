"""Lets the generator minimise −f(θψ) like the critic (a cooperative game, not a GAN): the
off-diagonal entries get the same sign and the rotation disappears.

Expect: opposite sign
"""

import numpy as np


def dirac_gan_jacobian(theta, psi, gamma):
    t = theta * psi
    s = 1.0 / (1.0 + np.exp(-t))
    f1, f2 = 1.0 - s, -s * (1.0 - s)
    return np.array([[-f2 * psi * psi + gamma, -f1 - f2 * t],
                     [-f1 - f2 * t, -f2 * theta * theta]])
