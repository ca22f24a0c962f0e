"""Reference for hutchinson_trace: Rademacher probes, one product per probe."""

import numpy as np


def hutchinson_trace(A, m, rng):
    v = rng.choice([-1.0, 1.0], size=(m, A.shape[0]))
    return float(np.mean(np.sum(v * (v @ A.T), axis=1)))
