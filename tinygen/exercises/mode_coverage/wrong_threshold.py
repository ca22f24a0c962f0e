"""Compares the distance with 3 without dividing by σ.

Expect: divided by σ
"""

import numpy as np


def mode_coverage(samples, centres, sigma):
    d = np.linalg.norm(samples[:, None, :] - centres[None], axis=-1)
    nearest = d.argmin(axis=1)
    good = d[np.arange(len(samples)), nearest] < 3.0
    return len(np.unique(nearest[good])), float(good.mean())
