"""Flips the kernel (the textbook convolution), which deep-learning conv2d does not.

Expect: does not flip
"""

import numpy as np


def conv2d(x, w, stride=1):
    w = w[:, :, ::-1, ::-1]
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for a in range(kh):
        for b in range(kw):
            patch = x[:, :, a:a + stride * ho:stride, b:b + stride * wo:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, a, b])
    return out
