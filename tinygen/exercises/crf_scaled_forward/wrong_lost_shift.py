"""Shifts the emissions but forgets to add the shifts back: log Z = Σ log c_t alone.

Expect: log Z equals the brute-force
"""

import numpy as np


def scaled_forward(emissions, transitions):
    T, K = emissions.shape
    M = np.exp(transitions)
    alpha = np.empty((T, K))
    log_z = 0.0
    for t in range(T):
        e = np.exp(emissions[t] - emissions[t].max())
        s = e if t == 0 else (alpha[t - 1] @ M) * e
        c = s.sum()
        alpha[t] = s / c
        log_z += np.log(c)
    return float(log_z), alpha
