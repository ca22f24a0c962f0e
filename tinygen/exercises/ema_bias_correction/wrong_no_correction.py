"""Returns the raw m_t: the early averages are pulled towards 0.

Expect: divide by 1 − decayᵗ
"""

import numpy as np


def ema(xs, decay):
    m = np.zeros_like(xs[0], dtype=float)
    out = []
    for x in xs:
        m = decay * m + (1.0 - decay) * x
        out.append(m)
    return np.array(out)
