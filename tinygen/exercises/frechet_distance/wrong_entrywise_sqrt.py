"""Takes the square root of each entry instead of the matrix square root: right for diagonal
covariances (and in 1-D), wrong as soon as they have off-diagonal entries.

Expect: matrix square root
"""

import numpy as np


def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    diff = mean_a - mean_b
    cross = np.trace(np.sqrt(np.abs(cov_a)) @ np.sqrt(np.abs(cov_b)))
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross)
