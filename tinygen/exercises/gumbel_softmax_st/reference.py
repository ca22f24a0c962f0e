"""Reference for gumbel_softmax_st."""

import numpy as np

import tinygen as tg


def gumbel_softmax(logits, u, tau, hard):
    g = -np.log(-np.log(u))
    y_soft = tg.F.softmax((logits + tg.tensor(g)) / tau, axis=-1)
    if not hard:
        return y_soft
    y_hard = tg.one_hot(tg.argmax(y_soft, axis=-1), logits.shape[-1], dtype=y_soft.dtype)
    return y_hard + (y_soft - tg.stop_gradient(y_soft))
