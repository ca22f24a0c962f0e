"""Swaps the weights: (1 − decay)·m + decay·x.

Expect: the old average is multiplied by decay
"""

import numpy as np


def ema(xs, decay):
    m = np.zeros_like(xs[0], dtype=float)
    out = []
    for t, x in enumerate(xs, start=1):
        m = (1.0 - decay) * m + decay * x
        out.append(m / (1.0 - decay**t))
    return np.array(out)
