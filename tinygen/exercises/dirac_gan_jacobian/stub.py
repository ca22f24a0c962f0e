"""Exercise dirac_gan_jacobian: why simultaneous gradient descent on a GAN spirals outwards.

The Dirac-GAN (Mescheder et al. 2018): the data is the single point 0, the generator's only
sample is ψ, the critic is D(x) = θx. With f(t) = −log(1 + e^{−t}) the players minimise

    critic:     L_D(θ, ψ) = −f(θψ) + (γ/2)·θ²       (γ: the zero-centred gradient penalty)
    generator:  L_G(θ, ψ) = f(θψ)

Gradient descent follows the game field v(θ, ψ) = (∂L_D/∂θ, ∂L_G/∂ψ). Return its Jacobian

    J = [[∂v₁/∂θ, ∂v₁/∂ψ],
         [∂v₂/∂θ, ∂v₂/∂ψ]]

at (θ, ψ) as a 2×2 NumPy array of floats. Useful: f'(t) = σ(−t) = 1/(1 + e^{t}) and
f''(t) = −σ(t)σ(−t). You may derive it by hand, or build the losses from tinygen tensors
(θ, ψ with requires_grad=True) and differentiate twice with tg.grad(..., create_graph=True).

At the equilibrium (0, 0) with γ = 0 the eigenvalues are ±i/2: simultaneous steps
w ← w − hv multiply the distance to it by |1 ∓ ih/2| = √(1 + h²/4) > 1 every step (lesson 29).

    dirac_gan_jacobian(theta: float, psi: float, gamma: float) -> np.ndarray   # (2, 2)
"""

import numpy as np


def dirac_gan_jacobian(theta: float, psi: float, gamma: float) -> np.ndarray:
    raise NotImplementedError
