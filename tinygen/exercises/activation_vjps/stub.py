"""Exercise activation_vjps: the backward rules (VJPs) of tanh, sigmoid and softplus.

A vector-Jacobian product pushes the gradient ``g`` of some loss with respect to an
elementwise op's output back to its input: for y = f(x) elementwise, the VJP is g·f'(x).
Implement, on NumPy arrays of any shape (x and g have the same shape):

    tanh_vjp(x, g)     = g · (1 − tanh(x)²)
    sigmoid_vjp(x, g)  = g · σ(x) · (1 − σ(x)),      σ(x) = 1 / (1 + e^(−x))
    softplus_vjp(x, g) = g · σ(x)                    (softplus(x) = log(1 + eˣ))

The checker compares each with the exact rule on random inputs, and again for |x| up to
1000, where a careless e^(−x) overflows: your results must stay finite.
"""

import numpy as np


def tanh_vjp(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    raise NotImplementedError


def sigmoid_vjp(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    raise NotImplementedError


def softplus_vjp(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    raise NotImplementedError
