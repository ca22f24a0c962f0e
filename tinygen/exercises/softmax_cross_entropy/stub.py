"""Exercise softmax_cross_entropy: the classifier's loss and its gradient in one pass.

logits has shape (N, K) (N examples, K classes), labels has shape (N,) with integers in
[0, K). With p = softmax(logits) row by row,

    loss = (1/N) Σ_n [ logsumexp(logits[n]) − logits[n, labels[n]] ]     (= −mean log p)
    grad = (p − one_hot(labels)) / N                                      shape (N, K)

    softmax_cross_entropy(logits, labels) -> (loss, grad)

Compute it stably: subtract each row's maximum before exp (logits may reach ±1000). The
checker tests the loss and the gradient against the reference, the sign of the gradient at
the label, the 1/N of the mean, and large logits.
"""

import numpy as np


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    raise NotImplementedError
