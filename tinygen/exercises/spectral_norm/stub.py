"""Exercise spectral_norm: the largest singular value σ(W) by power iteration.

Spectral normalisation (used on RSGAN's critic in lesson 13) divides a layer's weight W
(shape (m, n)) by its largest singular value σ(W), estimated cheaply by power iteration
from a starting vector u0 (shape (m,)):

    repeat n_iter times:
        v = Wᵀu / ‖Wᵀu‖
        u = W v / ‖W v‖
    σ ≈ uᵀ W v

(u starts as u0; normalise it first if you like — the iterates are the same.) Each round
multiplies by WWᵀ, whose top eigenvector is W's top left singular vector, so u turns
towards it and σ converges to the largest singular value.

    spectral_norm(W, u0, n_iter) -> float

The checker compares the first few iterates with the reference and checks that 60
iterations reach np.linalg.norm(W, 2) on matrices with a clear gap between the two largest
singular values.
"""

import numpy as np


def spectral_norm(W: np.ndarray, u0: np.ndarray, n_iter: int) -> float:
    raise NotImplementedError
