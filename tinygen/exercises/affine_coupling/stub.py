"""Exercise affine_coupling: Glow's affine coupling layer, its log-determinant and inverse.

Split the channels of x (B, C, H, W) into halves x_a = x[:, :C/2], x_b = x[:, C/2:]. A
network looks at x_a only and returns two arrays of x_b's shape, ``shift, raw = net(x_a)``.
Glow's reference code then uses the scale s = sigmoid(raw + 2) (between 0 and 1, and about
0.88 when the network starts at zero) and maps

    y_a = x_a,    y_b = (x_b + shift) · s,    y = concat(y_a, y_b) along the channels.

The Jacobian ∂y/∂x is block-triangular (y_a does not depend on x_b, and ∂y_b/∂x_b is the
diagonal of s), so log|det ∂y/∂x| = Σ log s over x_b's entries, one number per image.

    affine_coupling(x, net) -> (y, logdet)     logdet of shape (B,)
    affine_coupling_inverse(y, net) -> x

The inverse needs no inverse of the network: y_a = x_a, so net(y_a) gives the same shift
and scale. Use NumPy; ``net`` takes and returns NumPy arrays. Compute log s stably
(log sigmoid(u) = −log(1 + e^{−u})); the checker compares with a brute-force Jacobian.
"""

import numpy as np


def affine_coupling(x: np.ndarray, net) -> tuple[np.ndarray, np.ndarray]:
    raise NotImplementedError


def affine_coupling_inverse(y: np.ndarray, net) -> np.ndarray:
    raise NotImplementedError
