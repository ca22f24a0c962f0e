"""Forgets to sum the gradient over the batch axes an input was broadcast along.

Expect: sum over the batch axes
"""

import numpy as np


def matmul_vjp(a, b, g):
    return g @ np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2) @ g
