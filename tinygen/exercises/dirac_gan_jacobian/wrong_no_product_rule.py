"""Uses the equilibrium's pattern everywhere: drops the f''(θψ) terms of the product rule.

Expect: product rule
"""

import numpy as np


def dirac_gan_jacobian(theta, psi, gamma):
    f1 = 1.0 / (1.0 + np.exp(theta * psi))
    return np.array([[gamma, -f1], [f1, 0.0]])
