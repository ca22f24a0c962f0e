"""Exercise maxpool_backward: the gradient of k×k max pooling.

Max pooling with window k and stride k splits each image of x (shape (N, C, H, W), H and W
multiples of k) into k×k windows and keeps each window's maximum: y has shape
(N, C, H/k, W/k). Its backward takes the upstream gradient g (the shape of y) and returns
dx (the shape of x):

    dx[n, c, i·k + a, j·k + b] = g[n, c, i, j]  if (a, b) is where window (i, j) has its max
                                 0              otherwise

When several entries tie for the maximum, the first one in row-major order (the one
np.argmax of the flattened window picks) gets the whole gradient.

    maxpool_backward(x, g, k) -> dx

The checker tests random inputs without ties against the reference, and windows of zeros
(all tied).
"""

import numpy as np


def maxpool_backward(x: np.ndarray, g: np.ndarray, k: int) -> np.ndarray:
    raise NotImplementedError
