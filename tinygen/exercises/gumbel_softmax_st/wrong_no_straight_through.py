"""Returns the bare one-hot when hard: the right value, but no gradient at all.

Expect: straight-through
"""

import numpy as np

import tinygen as tg


def gumbel_softmax(logits, u, tau, hard):
    g = -np.log(-np.log(u))
    y_soft = tg.F.softmax((logits + tg.tensor(g)) / tau, axis=-1)
    if not hard:
        return y_soft
    return tg.one_hot(tg.argmax(y_soft, axis=-1), logits.shape[-1], dtype=y_soft.dtype)
