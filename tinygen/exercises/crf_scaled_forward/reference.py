"""Reference for crf_scaled_forward."""

import numpy as np


def scaled_forward(emissions: np.ndarray, transitions: np.ndarray) -> tuple:
    T, K = emissions.shape
    M = np.exp(transitions)
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
