"""Uses transitions[j, i] for "i followed by j" (M.T instead of M).

Expect: direction: transitions[i, j] scores tag i followed by tag j
"""

import numpy as np


def scaled_forward(emissions, transitions):
    T, K = emissions.shape
    M = np.exp(transitions).T
    alpha = np.empty((T, K))
    log_z = 0.0
    for t in range(T):
        m = emissions[t].max()
        e = np.exp(emissions[t] - m)
        s = e if t == 0 else (alpha[t - 1] @ M) * e
        c = s.sum()
        alpha[t] = s / c
        log_z += m + np.log(c)
    return float(log_z), alpha
