"""Exercise frechet_distance: how far apart are two Gaussians?

FID (and this project's Fréchet digit distance) fits a Gaussian N(μ, Σ) to a network's
features of real images and another to those of generated images, and reports

    d² = ‖μ_a − μ_b‖² + tr Σ_a + tr Σ_b − 2 tr (Σ_a^½ Σ_b Σ_a^½)^½

(the squared 2-Wasserstein distance between the two Gaussians). Σ^½ is the symmetric
matrix square root: write Σ = V diag(λ) Vᵀ with ``np.linalg.eigh`` and take
V diag(√λ) Vᵀ. Covariances estimated from few samples are singular, and rounding then makes
some eigenvalues slightly negative: clip them at 0 so the answer stays real.

    frechet_distance(mean_a, cov_a, mean_b, cov_b) -> float

means are (D,) NumPy arrays, covariances (D, D). In one dimension the formula is
(μ_a − μ_b)² + (σ_a − σ_b)².
"""

import numpy as np


def frechet_distance(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray,
                     cov_b: np.ndarray) -> float:
    raise NotImplementedError
