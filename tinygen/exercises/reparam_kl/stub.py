"""Exercise reparam_kl: the two formulas at the heart of a VAE.

The encoder outputs, per dimension, a mean μ and a log-variance log σ². To sample
z ~ N(μ, σ²) in a way gradients can pass through, draw ε ~ N(0, 1) outside the network and
move it:

    reparameterize(mu, log_var, eps) = μ + σ·ε,     σ = exp(½·log σ²)

The KL divergence of N(μ, σ²) from the prior N(0, 1), summed over the last axis:

    gaussian_kl(mu, log_var) = ½ Σ_d ( σ² + μ² − 1 − log σ² )     shape mu.shape[:-1]

It is 0 exactly when μ = 0 and σ = 1, and positive otherwise. The checker compares both
with the reference and checks KL(N(0, 1) ‖ N(0, 1)) = 0.
"""

import numpy as np


def reparameterize(mu: np.ndarray, log_var: np.ndarray, eps: np.ndarray) -> np.ndarray:
    raise NotImplementedError


def gaussian_kl(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    raise NotImplementedError
