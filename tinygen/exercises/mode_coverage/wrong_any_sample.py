"""Counts a mode as covered when any sample is nearest to it, high quality or not.

Expect: covered only by a high-quality sample
"""

import numpy as np


def mode_coverage(samples, centres, sigma):
    d = np.linalg.norm(samples[:, None, :] - centres[None], axis=-1) / sigma
    nearest = d.argmin(axis=1)
    good = d[np.arange(len(samples)), nearest] < 3.0
    return len(np.unique(nearest)), float(good.mean())
