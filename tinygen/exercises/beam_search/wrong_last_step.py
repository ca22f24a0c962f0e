"""Ranks extensions by the last token's log-probability alone, forgetting the prefix's score.

Expect: rank by the whole score, prefix included
"""

import numpy as np


def beam_search(step, eos, width, max_len):
    live, finished = [((), 0.0)], []
    for _ in range(max_len):
        candidates = []
        for prefix, score in live:
            logp = np.asarray(step(prefix), dtype=float)
            for v in np.flatnonzero(np.isfinite(logp)):
                candidates.append((prefix + (int(v),), score + float(logp[v]), float(logp[v])))
        candidates.sort(key=lambda c: -c[2])
        finished += [(p[:-1], s) for p, s, _ in candidates if p[-1] == eos]
        live = [(p, s) for p, s, _ in candidates if p[-1] != eos][:width]
        if not live:
            break
    finished += live
    tokens, score = max(finished, key=lambda c: c[1])
    return list(tokens), score
