"""The direct formula: exp overflows for large entries.

Expect: overflow
"""

import numpy as np


def logsumexp(x):
    return np.log(np.exp(x).sum(axis=-1))


def logsumexp_grad(x, g):
    e = np.exp(x)
    return g[..., None] * e / e.sum(axis=-1, keepdims=True)
