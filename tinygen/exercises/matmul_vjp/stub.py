"""Exercise matmul_vjp: the backward rule of matmul, with batch axes that broadcast.

For C = A @ B with A of shape (..., n, k) and B of shape (..., k, m), NumPy broadcasts the
leading "batch" axes (a (k, m) matrix B is shared by every matrix in a batch A of shape
(B, n, k)). Given the upstream gradient g = dL/dC (shape of C), return

    ga = g @ Bᵀ    summed back to a's shape
    gb = Aᵀ @ g    summed back to b's shape

where ᵀ swaps the LAST TWO axes only, and "summed back" means: sum over the leading axes the
input did not have, and over batch axes where it had size 1 (see the unbroadcast exercise).

    matmul_vjp(a, b, g) -> (ga, gb)       ga.shape == a.shape, gb.shape == b.shape

The checker tests plain 2-D matrices, 3-D batches, and batches against a shared 2-D or
size-1-batch matrix on either side.
"""

import numpy as np


def matmul_vjp(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    raise NotImplementedError
