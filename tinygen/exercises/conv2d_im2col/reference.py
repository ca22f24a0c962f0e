"""Reference for conv2d_im2col: columns from sliding windows, then one matmul."""

import numpy as np


def conv2d(x: np.ndarray, w: np.ndarray, stride: int = 1) -> np.ndarray:
    n, c, _, _ = x.shape
    o, _, kh, kw = w.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]                       # (N, C, Ho, Wo, kh, kw)
    ho, wo = win.shape[2], win.shape[3]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n, ho * wo, c * kh * kw)
    out = cols @ w.reshape(o, c * kh * kw).T                  # (N, Ho·Wo, O)
    return out.transpose(0, 2, 1).reshape(n, o, ho, wo)
