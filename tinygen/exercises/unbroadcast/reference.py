"""Reference for unbroadcast."""

import numpy as np


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    g = np.asarray(g)
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead)))
    ones = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    return g.sum(axis=ones, keepdims=True).reshape(shape)
