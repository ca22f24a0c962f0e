"""Exercise mixup: train on convex combinations of pairs of examples and of their labels.

Mixup (Zhang et al. 2018) mixes each example of a batch with another one of the same
batch, picked by a permutation perm, with one weight λ ∈ [0, 1] (drawn from a Beta
distribution by the caller):

    x_mixed = λ·x + (1 − λ)·x[perm]
    y_mixed = λ·y + (1 − λ)·y[perm]           (y: one-hot labels, shape (N, K))

    mixup(x, y_onehot, lam, perm) -> (x_mixed, y_mixed)

x has shape (N, ...), perm is a permutation of 0 … N−1. The checker tests that λ = 1 gives
the batch back, that the labels are mixed like the inputs, and compares with the reference.
"""

import numpy as np


def mixup(x: np.ndarray, y_onehot: np.ndarray, lam: float,
          perm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    raise NotImplementedError
