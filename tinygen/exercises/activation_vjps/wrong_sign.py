"""A sign error in tanh's derivative (tanh² − 1).

Expect: tanh_vjp(x, g) = g·(1 − tanh²x)
"""

import numpy as np


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def tanh_vjp(x, g):
    return g * (np.tanh(x) ** 2 - 1.0)


def sigmoid_vjp(x, g):
    s = _sigmoid(x)
    return g * s * (1.0 - s)


def softplus_vjp(x, g):
    return g * _sigmoid(x)
