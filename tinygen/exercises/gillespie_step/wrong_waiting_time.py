"""Multiplies by a₀ instead of dividing: busier systems wait longer.

Expect: shorter when the total propensity
"""

import numpy as np


def gillespie_step(propensities, u1, u2):
    total = float(np.sum(propensities))
    j = int(np.searchsorted(np.cumsum(propensities), u2 * total, side="right"))
    return min(j, len(propensities) - 1), float(np.log(1.0 / u1) * total)
