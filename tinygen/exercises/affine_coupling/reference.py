"""Reference for affine_coupling: Glow's sigmoid(raw + 2) scale, log-det Σ log s per image."""

import numpy as np


def _halves(x):
    c = x.shape[1] // 2
    return x[:, :c], x[:, c:]


def affine_coupling(x, net):
    xa, xb = _halves(x)
    shift, raw = net(xa)
    log_s = -np.logaddexp(0.0, -(raw + 2.0))
    y = np.concatenate([xa, (xb + shift) * np.exp(log_s)], axis=1)
    return y, log_s.reshape(len(x), -1).sum(axis=1)


def affine_coupling_inverse(y, net):
    ya, yb = _halves(y)
    shift, raw = net(ya)
    return np.concatenate([ya, yb * (1.0 + np.exp(-(raw + 2.0))) - shift], axis=1)
