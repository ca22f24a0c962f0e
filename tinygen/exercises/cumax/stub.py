"""Exercise cumax: ON-LSTM's master gates and its memory update, in NumPy.

cumax(x) = cumsum(softmax(x)) along the last axis is a soft step 0 … 0 1 … 1: the softmax
says where the step is. ON-LSTM orders its memory into L levels (chunks of C neurons each,
H = L·C) and uses two such steps per word:

    f̃ = cumax(mf)                                 master forget gate, rises 0 → 1
    ĩ = cumsum of softmax(mi) from the right      master input gate, falls 1 → 0
    ω = f̃ ⊙ ĩ
    c' = ω ⊙ (f ⊙ c + i ⊙ ĉ) + (f̃ − ω) ⊙ c + (ĩ − ω) ⊙ ĉ

where f̃, ĩ, ω have one value per level, repeated over the level's C neurons (level k
covers neurons k·C … (k+1)·C − 1).

    cumax(x, reverse=False) -> array like x       (reverse: the sum runs from the right)
    onlstm_memory(c, c_hat, f, i, mf, mi) -> c'

x, mf and mi are (B, L) arrays of logits; c, c_hat (the candidate ĉ, already through tanh),
f and i (the ordinary gates, already through the sigmoid) are (B, H) with H a multiple of
L. The checker compares with a reference on random inputs, checks that cumax rises to 1 (or
falls from 1), and that wide-open master gates (f̃ = ĩ = 1) give the plain LSTM update.
"""

import numpy as np


def cumax(x: np.ndarray, reverse: bool = False) -> np.ndarray:
    raise NotImplementedError


def onlstm_memory(c: np.ndarray, c_hat: np.ndarray, f: np.ndarray, i: np.ndarray,
                  mf: np.ndarray, mi: np.ndarray) -> np.ndarray:
    raise NotImplementedError
