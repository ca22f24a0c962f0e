"""σ written as eˣ/(1 + eˣ): inf/inf = nan for large x.

Expect: overflow
"""

import numpy as np


def _sigmoid(x):
    return np.exp(x) / (1.0 + np.exp(x))


def tanh_vjp(x, g):
    return g * (1.0 - np.tanh(x) ** 2)


def sigmoid_vjp(x, g):
    s = _sigmoid(x)
    return g * s * (1.0 - s)


def softplus_vjp(x, g):
    return g * _sigmoid(x)
