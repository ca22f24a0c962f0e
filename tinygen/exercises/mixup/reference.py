"""Reference for mixup."""


def mixup(x, y_onehot, lam, perm):
    return lam * x + (1.0 - lam) * x[perm], lam * y_onehot + (1.0 - lam) * y_onehot[perm]
