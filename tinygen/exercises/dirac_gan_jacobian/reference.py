"""Reference for dirac_gan_jacobian: v = (−f'(θψ)ψ + γθ, f'(θψ)θ), differentiated."""

import numpy as np


def dirac_gan_jacobian(theta, psi, gamma):
    t = theta * psi
    s = 1.0 / (1.0 + np.exp(-t))       # σ(t)
    f1, f2 = 1.0 - s, -s * (1.0 - s)   # f'(t) = σ(−t), f''(t) = −σ(t)σ(−t)
    return np.array([[-f2 * psi * psi + gamma, -f1 - f2 * t],
                     [f1 + f2 * t, f2 * theta * theta]])
