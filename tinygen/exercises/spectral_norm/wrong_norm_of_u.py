"""Returns ‖W u‖ with u the left vector: W u does not even fit unless W is square.

Expect: use Wᵀ for v
"""

import numpy as np


def spectral_norm(W, u0, n_iter):
    u = u0 / np.linalg.norm(u0)
    for _ in range(n_iter):
        u = W @ u
        u = u / np.linalg.norm(u)
    return float(np.linalg.norm(W @ u))
