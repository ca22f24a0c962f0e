"""one_hot − softmax: the gradient points the wrong way.

Expect: at the label is negative
"""

import numpy as np


def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1))
    loss = np.mean(log_z - shifted[np.arange(n), labels])
    p = np.exp(shifted - log_z[:, None])
    onehot = np.eye(logits.shape[1])[labels]
    return float(loss), (onehot - p) / n
