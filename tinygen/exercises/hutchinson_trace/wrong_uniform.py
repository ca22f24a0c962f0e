"""Probes with uniform(0, 1) entries: their mean is not 0, so E[v vᵀ] ≠ I.

Expect: probes need mean 0
"""

import numpy as np


def hutchinson_trace(A, m, rng):
    v = rng.uniform(0.0, 1.0, size=(m, A.shape[0]))
    return float(np.mean(np.sum(v * (v @ A.T), axis=1)))
