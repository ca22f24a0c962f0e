"""Exercise batch_norm_backward: the gradients of batch normalisation in training mode.

For a batch x of shape (B, C), batch norm normalises each column c with the batch's own
statistics and then scales and shifts it:

    μ_c = mean_b x[b, c]      σ²_c = mean_b (x[b, c] − μ_c)²      (the biased variance)
    x̂[b, c] = (x[b, c] − μ_c) / √(σ²_c + eps)
    y[b, c] = γ_c · x̂[b, c] + β_c

Given the upstream gradient g = ∂L/∂y (shape (B, C)), return the three gradients

    batch_norm_backward(x, gamma, g, eps) -> (dx, dgamma, dbeta)

with dx of x's shape and dgamma, dbeta of shape (C,). Careful: μ and σ² are functions of x
too, so dx is not just γ·g/√(σ² + eps). (tinygen's ``standardize`` primitive and its Numba
kernel, ``kernels/cpu/norm.py``, compute exactly this.)
"""

import numpy as np


def batch_norm_backward(x: np.ndarray, gamma: np.ndarray, g: np.ndarray, eps: float
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raise NotImplementedError
