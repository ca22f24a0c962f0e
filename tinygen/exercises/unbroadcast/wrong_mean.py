"""Averages instead of summing: a value used n times gets n gradient contributions.

Expect: summed away
"""

import numpy as np


def unbroadcast(g, shape):
    g = np.asarray(g)
    g = g.mean(axis=tuple(range(g.ndim - len(shape))))
    ones = tuple(i for i, d in enumerate(shape) if d == 1)
    return g.mean(axis=ones, keepdims=True)
