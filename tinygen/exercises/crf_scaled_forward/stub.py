"""Exercise crf_scaled_forward: log Z of a linear-chain CRF without a logarithm per step.

The forward recursion of crf_log_partition works in log space: a logsumexp, with K
exponentials and a logarithm, at every step. Rabiner's scaling works with probabilities
instead and keeps them from under- or overflowing by normalising each step:

    m_t    = max_j emissions[t, j]                       (a shift per step)
    E_t[j] = exp(emissions[t, j] − m_t)                  (in [0, 1], one of them is 1)
    s_0    = E_0;     s_t[j] = Σ_i α̂_{t−1}[i] · exp(transitions[i, j]) · E_t[j],  t ≥ 1
    c_t    = Σ_j s_t[j];   α̂_t = s_t / c_t
    log Z  = Σ_t (m_t + log c_t)

α̂_t is the filtering distribution p(y_t = j | emissions[0 … t]): each row sums to 1. (This is
the fast path of tinygen's CRF kernel, which falls back to log space when a step's mass gets
too small; here the transitions stay within ±3, so it never does.)

    scaled_forward(emissions, transitions) -> (log_z: float, alpha_hat: (T, K) array)

emissions: (T, K); transitions: (K, K), [i, j] = tag i followed by tag j. The checker
compares log Z and α̂ with brute-force sums over all paths, checks the direction of the
transitions and emissions up to ±1000.
"""

import numpy as np


def scaled_forward(emissions: np.ndarray, transitions: np.ndarray) -> tuple:
    raise NotImplementedError
