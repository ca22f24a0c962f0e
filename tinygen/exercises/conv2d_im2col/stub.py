"""Exercise conv2d_im2col: a 2-D convolution as one matrix product.

x has shape (N, C, H, W) (a batch of C-channel images), w has shape (O, C, kh, kw) (O
filters). Without padding, with the given stride,

    out[n, o, i, j] = Σ_{c, a, b} x[n, c, i·s + a, j·s + b] · w[o, c, a, b]

of shape (N, O, Ho, Wo), Ho = (H − kh)//s + 1, Wo = (W − kw)//s + 1. This is the
cross-correlation deep learning calls convolution: the kernel is NOT flipped.

im2col: gather every kh×kw patch of every channel into a column, giving a matrix of shape
(N, C·kh·kw, Ho·Wo) (or similar); the convolution is then w.reshape(O, C·kh·kw) @ columns,
reshaped to (N, O, Ho, Wo). np.lib.stride_tricks.sliding_window_view helps, or two loops
over (a, b) filling the columns.

    conv2d(x, w, stride=1) -> out

The checker tests the output shape, that the kernel is not flipped, and random inputs
against the reference at strides 1 and 2.
"""

import numpy as np


def conv2d(x: np.ndarray, w: np.ndarray, stride: int = 1) -> np.ndarray:
    raise NotImplementedError
