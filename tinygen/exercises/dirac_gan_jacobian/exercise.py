"""Checker for dirac_gan_jacobian: the Jacobian of the Dirac-GAN's game field."""

import numpy as np

from tinygen.exercises.check import close, floats, prop


TITLE = "The Jacobian of the Dirac-GAN's game field"
TOPIC = "GANs"
DIFFICULTY = 2
LESSON = "29_gan_dynamics"
FUNCTIONS = ["dirac_gan_jacobian"]


@prop("at the equilibrium θ = ψ = 0, J = [[γ, −½], [½, 0]] (f'(0) = ½)",
      "the generator minimises +f(θψ) while the critic minimises −f(θψ): the two off-diagonal "
      "entries have opposite sign (that is the rotation), and f'(0) = σ(0) = ½",
      gamma=floats(0.0, 3.0))
def at_equilibrium(student, ref, gamma):
    close(student.dirac_gan_jacobian(0.0, 0.0, gamma), np.array([[gamma, -0.5], [0.5, 0.0]]),
          "dirac_gan_jacobian(0, 0, gamma)", gamma=gamma)


@prop("at any (θ, ψ) the Jacobian is the reference's", "away from the equilibrium the product "
      "rule adds f''(θψ) terms: ∂/∂θ [−f'(θψ)ψ] = −f''(θψ)ψ², ∂/∂ψ [−f'(θψ)ψ] = −f'(θψ) − "
      "f''(θψ)θψ, with f'(t) = σ(−t) and f''(t) = −σ(t)σ(−t)",
      theta=floats(-3.0, 3.0), psi=floats(-3.0, 3.0), gamma=floats(0.0, 3.0))
def anywhere(student, ref, theta, psi, gamma):
    close(student.dirac_gan_jacobian(theta, psi, gamma), ref.dirac_gan_jacobian(theta, psi, gamma),
          "dirac_gan_jacobian(theta, psi, gamma)", theta=theta, psi=psi, gamma=gamma)
