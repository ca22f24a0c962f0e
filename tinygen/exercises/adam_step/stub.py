"""Exercise adam_step: one update of the Adam optimiser, bias correction included.

Adam keeps running averages of the gradient and of its square. At step t (counting from
1), with gradient g:

    m ← β₁·m + (1 − β₁)·g
    v ← β₂·v + (1 − β₂)·g²
    m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)          (bias correction: m, v start at 0)
    param ← param − lr · m̂ / (√v̂ + eps)

with β₁ = 0.9, β₂ = 0.999, eps = 1e-8. All arrays have the same shape; do not modify the
inputs in place.

    adam_step(param, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
        -> (new_param, new_m, new_v)

The checker compares with the reference, checks that the first step moves each parameter
by about lr·sign(g), and that scaling the gradient does not change the step.
"""

import numpy as np


def adam_step(param: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
              lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
              eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raise NotImplementedError
