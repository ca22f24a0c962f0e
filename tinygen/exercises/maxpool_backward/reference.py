"""Reference for maxpool_backward: argmax per window, scattered back."""

import numpy as np


def maxpool_backward(x: np.ndarray, g: np.ndarray, k: int) -> np.ndarray:
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // k, k, w // k, k).transpose(0, 1, 2, 4, 3, 5)
    arg = win.reshape(n, c, h // k, w // k, k * k).argmax(axis=-1)
    dwin = np.zeros((n, c, h // k, w // k, k * k))
    np.put_along_axis(dwin, arg[..., None], g[..., None], axis=-1)
    dwin = dwin.reshape(n, c, h // k, w // k, k, k).transpose(0, 1, 2, 4, 3, 5)
    return dwin.reshape(n, c, h, w)
