"""Square-roots the eigenvalues as they come: a singular covariance has eigenvalues like
−1e-13 after rounding, and their square roots are NaN.

Expect: clip them at 0
"""

import numpy as np


def _sqrt(c):
    w, v = np.linalg.eigh(c)
    return (v * np.sqrt(w)) @ v.T


def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    root = _sqrt(cov_a)
    cross = np.trace(_sqrt(root @ cov_b @ root))
    diff = mean_a - mean_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross)
