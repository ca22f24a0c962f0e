"""The loop stops one step early: range(1, T − 1) drops the last position.

Expect: the last position counts
"""

import numpy as np


def _logsumexp(a, axis):
    m = a.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def crf_log_partition(emissions, transitions):
    alpha = emissions[0]
    for t in range(1, emissions.shape[0] - 1):
        alpha = _logsumexp(alpha[:, None] + transitions, axis=0) + emissions[t]
    return float(_logsumexp(alpha, axis=0))
