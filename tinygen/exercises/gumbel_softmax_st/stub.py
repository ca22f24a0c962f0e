"""Exercise gumbel_softmax_st: differentiable one-hot samples, in tinygen.

To sample a category from softmax(logits), add Gumbel noise and take the argmax. With
u ~ U(0, 1) (given, same shape as the logits, so the checker can replay it):

    g      = −log(−log u)                       Gumbel noise
    y_soft = softmax((logits + g) / τ)          along the last axis: a relaxed sample

A small temperature τ makes y_soft nearly one-hot. With ``hard=True``, return the exact
one-hot y_hard of argmax(y_soft), but let the gradient be y_soft's (straight-through):

    y = y_hard + (y_soft − stop_gradient(y_soft))

(value: y_hard; gradient: that of y_soft.)

    gumbel_softmax(logits, u, tau, hard) -> Tensor of logits' shape

logits: a tinygen Tensor of shape (B, K); u: a NumPy array of the same shape. Useful:
tg.log, tg.F.softmax, tg.argmax, tg.one_hot, tg.stop_gradient, tg.tensor. The checker
compares values with the reference and the hard sample's gradient with the soft one's.
"""

import numpy as np

import tinygen as tg


def gumbel_softmax(logits: tg.Tensor, u: np.ndarray, tau: float, hard: bool) -> tg.Tensor:
    raise NotImplementedError
