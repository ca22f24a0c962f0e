"""The first j with cumsum ≥ u₂·a₀ (side="left"): at a boundary, a zero-propensity
reaction can fire.

Expect: strictly greater
"""

import numpy as np


def gillespie_step(propensities, u1, u2):
    total = float(np.sum(propensities))
    j = int(np.searchsorted(np.cumsum(propensities), u2 * total))
    return j, float(np.log(1.0 / u1) / total)
