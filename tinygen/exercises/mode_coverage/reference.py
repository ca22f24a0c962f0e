"""Reference for mode_coverage."""

import numpy as np


def mode_coverage(samples, centres, sigma):
    d = np.linalg.norm(samples[:, None, :] - centres[None], axis=-1) / sigma
    nearest = d.argmin(axis=1)
    good = d[np.arange(len(samples)), nearest] < 3.0
    return len(np.unique(nearest[good])), float(good.mean())
