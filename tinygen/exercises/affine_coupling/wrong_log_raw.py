"""Uses Σ raw as the log-det, as if the scale were exp(raw) (RealNVP's form), not
sigmoid(raw + 2).

Expect: log|det
"""

import numpy as np


def affine_coupling(x, net):
    c = x.shape[1] // 2
    xa, xb = x[:, :c], x[:, c:]
    shift, raw = net(xa)
    s = 1.0 / (1.0 + np.exp(-(raw + 2.0)))
    return np.concatenate([xa, (xb + shift) * s], axis=1), raw.reshape(len(x), -1).sum(axis=1)


def affine_coupling_inverse(y, net):
    c = y.shape[1] // 2
    ya, yb = y[:, :c], y[:, c:]
    shift, raw = net(ya)
    return np.concatenate([ya, yb * (1.0 + np.exp(-(raw + 2.0))) - shift], axis=1)
