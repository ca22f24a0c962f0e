"""Exercise crf_log_partition: log Z of a linear-chain CRF by the forward recursion.

A tag path y_0 … y_{T−1} (each tag in 0 … K−1) has the score

    score(y) = Σ_t emissions[t, y_t] + Σ_{t≥1} transitions[y_{t−1}, y_t]

(emissions: shape (T, K); transitions: shape (K, K), [i, j] = tag i followed by tag j).
The partition function sums over all K^T paths: log Z = log Σ_y exp(score(y)). The forward
recursion computes it in O(T·K²):

    α_0[j] = emissions[0, j]
    α_t[j] = logsumexp_i( α_{t−1}[i] + transitions[i, j] ) + emissions[t, j],  t = 1 … T−1
    log Z  = logsumexp_j α_{T−1}[j]

    crf_log_partition(emissions, transitions) -> float

Use a stable logsumexp (scores may reach ±1000). The checker compares with a brute-force
sum over all paths, checks the last position and the direction of the transitions.
"""

import numpy as np


def crf_log_partition(emissions: np.ndarray, transitions: np.ndarray) -> float:
    raise NotImplementedError
