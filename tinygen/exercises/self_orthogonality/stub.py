"""Exercise self_orthogonality: the Self-Orthogonality Module's regulariser (lesson 4).

Filters at right angles look at the input from independent directions. The SOM measures
the angles through the data: for a batch X (n × d) and a layer's weights W (d × k, one
filter per column), with γ = 10, λ₁ = 100, λ₂ = 1,

1. Y = XW                                          (n × k, the pre-activations)
2. T = tanh(γ·Y)                                   (a smooth sign)
3. Ŷ = T with every COLUMN divided by its norm over the batch: Ŷ[:, i] = T[:, i] / ‖T[:, i]‖
4. ϑ = ŶᵀŶ                                         (k × k; ϑᵢⱼ ≈ 1 − 2θᵢⱼ/π)
5. R = λ₁·(Σ_{i≠j} ϑᵢⱼ)² + λ₂·Σ_{i≠j} ϑᵢⱼ²         (off-diagonal entries only)

    self_orthogonality(X, W, gamma=10.0, lam1=100.0, lam2=1.0) -> float

The checker compares R with the reference and checks that one filter alone gives R = 0.
"""

import numpy as np


def self_orthogonality(X: np.ndarray, W: np.ndarray, gamma: float = 10.0, lam1: float = 100.0,
                       lam2: float = 1.0) -> float:
    raise NotImplementedError
