"""Reverses the wrong thing: 1 − cumax(x) falls too, but it is the sum of the softmax to
the right of k, not from k on, so its first entry is not 1.

Expect: falls from 1
"""

import numpy as np


def cumax(x, reverse=False):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    up = np.cumsum(p, axis=-1)
    return 1.0 - up if reverse else up


def onlstm_memory(c, c_hat, f, i, mf, mi):
    chunk = c.shape[-1] // mf.shape[-1]
    master_f = np.repeat(cumax(mf), chunk, axis=-1)
    master_i = np.repeat(cumax(mi, reverse=True), chunk, axis=-1)
    omega = master_f * master_i
    return omega * (f * c + i * c_hat) + (master_f - omega) * c + (master_i - omega) * c_hat
