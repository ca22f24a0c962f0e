"""Undoes the shift before the scale, (y_b − shift)/s: the forward map shifted first, so the
inverse must divide first.

Expect: inverse
"""

import numpy as np


def affine_coupling(x, net):
    c = x.shape[1] // 2
    xa, xb = x[:, :c], x[:, c:]
    shift, raw = net(xa)
    log_s = -np.logaddexp(0.0, -(raw + 2.0))
    y = np.concatenate([xa, (xb + shift) * np.exp(log_s)], axis=1)
    return y, log_s.reshape(len(x), -1).sum(axis=1)


def affine_coupling_inverse(y, net):
    c = y.shape[1] // 2
    ya, yb = y[:, :c], y[:, c:]
    shift, raw = net(ya)
    s = 1.0 / (1.0 + np.exp(-(raw + 2.0)))
    return np.concatenate([ya, (yb - shift) / s], axis=1)
