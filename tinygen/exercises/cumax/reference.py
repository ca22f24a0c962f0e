"""Reference for cumax: a shifted softmax, a running sum, and the chunk-wise update."""

import numpy as np


def cumax(x, reverse=False):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return np.cumsum(p[..., ::-1], axis=-1)[..., ::-1] if reverse else np.cumsum(p, axis=-1)


def onlstm_memory(c, c_hat, f, i, mf, mi):
    chunk = c.shape[-1] // mf.shape[-1]
    master_f = np.repeat(cumax(mf), chunk, axis=-1)
    master_i = np.repeat(cumax(mi, reverse=True), chunk, axis=-1)
    omega = master_f * master_i
    return omega * (f * c + i * c_hat) + (master_f - omega) * c + (master_i - omega) * c_hat
