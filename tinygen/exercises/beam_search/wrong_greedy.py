"""Ignores the width: one hypothesis, the best token each step (greedy decoding).

Expect: finds the best sequence that greedy misses
"""

import numpy as np


def beam_search(step, eos, width, max_len):
    prefix, score = (), 0.0
    for _ in range(max_len):
        logp = np.asarray(step(prefix), dtype=float)
        v = int(np.argmax(logp))
        score += float(logp[v])
        if v == eos:
            return list(prefix), score
        prefix += (v,)
    return list(prefix), score
