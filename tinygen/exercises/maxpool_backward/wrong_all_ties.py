"""A mask x == window max: every tied maximum gets the full gradient.

Expect: first maximum
"""

import numpy as np


def maxpool_backward(x, g, k):
    big = lambda a: np.repeat(np.repeat(a, k, axis=2), k, axis=3)
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // k, k, w // k, k).max(axis=(3, 5))
    return (x == big(y)) * big(g)
