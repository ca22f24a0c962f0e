"""Reference for gillespie_step."""

import numpy as np


def gillespie_step(propensities, u1, u2):
    total = float(np.sum(propensities))
    cum = np.cumsum(propensities)
    j = int(np.searchsorted(cum, u2 * total, side="right"))
    return min(j, len(cum) - 1), float(np.log(1.0 / u1) / total)
