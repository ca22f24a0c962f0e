"""Puts λ on the shuffled copy and 1 − λ on the original.

Expect: λ = 1 returns the batch unchanged
"""


def mixup(x, y_onehot, lam, perm):
    return (1.0 - lam) * x + lam * x[perm], (1.0 - lam) * y_onehot + lam * y_onehot[perm]
