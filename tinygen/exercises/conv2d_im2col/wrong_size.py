"""Off by one in the output size: H − kh positions instead of H − kh + 1.

Expect: count the positions
"""

import numpy as np


def conv2d(x, w, stride=1):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = max((h - kh) // stride, 1), max((wd - kw) // stride, 1)
    out = np.zeros((n, o, ho, wo))
    for a in range(kh):
        for b in range(kw):
            patch = x[:, :, a:a + stride * ho:stride, b:b + stride * wo:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, a, b])
    return out
