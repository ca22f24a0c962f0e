"""Reads transitions[j, i] for a step from i to j.

Expect: transitions[i, j] scores tag i followed by tag j
"""

import numpy as np


def _logsumexp(a, axis):
    m = a.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def crf_log_partition(emissions, transitions):
    alpha = emissions[0]
    for t in range(1, emissions.shape[0]):
        alpha = _logsumexp(alpha[:, None] + transitions.T, axis=0) + emissions[t]
    return float(_logsumexp(alpha, axis=0))
