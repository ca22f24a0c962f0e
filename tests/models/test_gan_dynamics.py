"""The game field, its Jacobian by second-order autograd, and the update matrices: exact on
a quadratic game (whose field is linear), the Dirac-GAN's Jacobian against its closed form
at any point, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.errors import ArgumentError, ShapeError
from tinygen.models import gan_dynamics as gd
from tinygen.nn import Parameter

rng = np.random.default_rng(0)
A_, B_, C_ = rng.normal(size=(2, 2)), rng.normal(size=(2, 3)), rng.normal(size=(3, 3))
A_, C_ = A_ @ A_.T, C_ @ C_.T  # symmetric: the field of ½θᵀAθ is Aθ


class QuadraticGame:
    """L_D = ½θᵀAθ + θᵀBψ, L_G = −θᵀBψ + ½ψᵀCψ: v = (Aθ + Bψ, −Bᵀθ + Cψ), J = [[A, B],
    [−Bᵀ, C]] everywhere."""

    def __init__(self, theta, psi):
        self.theta, self.psi = Parameter(np.array(theta, float)), Parameter(np.array(psi, float))
        self.players = ([self.theta], [self.psi])

    def losses(self):
        a, b, c = tg.tensor(A_), tg.tensor(B_), tg.tensor(C_)
        cross = (self.theta @ b * self.psi).sum()
        return (0.5 * (self.theta @ a * self.theta).sum() + cross,
                -cross + 0.5 * (self.psi @ c * self.psi).sum())


J_EXACT = np.block([[A_, B_], [-B_.T, C_]])
W0 = np.array([0.3, -0.2, 0.5, 0.1, -0.4])


def test_jacobian_of_a_linear_field_is_exact():
    game = QuadraticGame(W0[:2], W0[2:])
    np.testing.assert_allclose(gd.game_jacobian(game), J_EXACT, atol=1e-12)
    v = np.concatenate([g.numpy().ravel() for g in gd.game_field(game)])
    np.testing.assert_allclose(v, J_EXACT @ W0, atol=1e-12)
    # consensus: each player also descends γ·½‖Jw‖², whose gradient is γJᵀJw
    np.testing.assert_allclose(gd.game_jacobian(game, consensus=0.3),
                               J_EXACT + 0.3 * J_EXACT.T @ J_EXACT, atol=1e-12)


@pytest.mark.parametrize("mode, momentum", [("simultaneous", 0.0), ("alternating", 0.0),
                                            ("extragradient", 0.0), ("simultaneous", 0.5)])
def test_update_matrices_are_the_steps(mode, momentum):
    """On a linear field, k steps of play are exactly M^k applied to the start."""
    h, k = 0.05, 7
    path = gd.play(QuadraticGame(W0[:2], W0[2:]), k, h, mode=mode, momentum=momentum)
    M = gd.linear_update(J_EXACT, h, mode, n_critic=2, momentum=momentum)
    state = np.concatenate([W0, np.zeros(5)]) if momentum else W0
    np.testing.assert_allclose(path[-1], (np.linalg.matrix_power(M, k) @ state)[:5],
                               atol=1e-12)


@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(0, 2))
def test_dirac_jacobian_closed_form(theta, psi, gamma):
    """v = (−f'(θψ)ψ + γθ, f'(θψ)θ) with f' = σ(−t), f'' = −σ(t)σ(−t)."""
    t = theta * psi
    s = 1 / (1 + np.exp(-t))
    f1, f2 = 1 - s, -s * (1 - s)
    exact = np.array([[-f2 * psi**2 + gamma, -f1 - f2 * t], [f1 + f2 * t, f2 * theta**2]])
    np.testing.assert_allclose(gd.game_jacobian(gd.DiracGAN(theta, psi, gamma=gamma)), exact,
                               atol=1e-10)


def test_dirac_field_over_a_grid_is_pointwise():
    grid = np.linspace(-1, 1, 5)
    v = gd.game_field(gd.DiracGAN(grid, grid[::-1], loss="wgan"))
    np.testing.assert_allclose(v[0].numpy(), -grid[::-1])  # WGAN: v = (−ψ, θ)
    np.testing.assert_allclose(v[1].numpy(), grid)


def test_spectral_radius_and_rate():
    assert gd.spectral_radius(np.array([[0.0, -2.0], [2.0, 0.0]])) == pytest.approx(2.0)
    path = np.array([[1.0, 0.0], [0.0, 0.5], [0.25, 0.0]])
    assert gd.rate(path) == pytest.approx(0.5)


def test_mmd2():
    x = np.random.default_rng(1).normal(size=(200, 2))
    assert gd.mmd2(x, x) == pytest.approx(0.0, abs=1e-12)
    near, far = gd.mmd2(x, x + 0.1), gd.mmd2(x, x + 1.0)
    assert 0 < near < far


@pytest.mark.parametrize("call, error, words", [
    (lambda: gd.play(gd.DiracGAN(), 3, 0.1, mode="sideways"), ArgumentError, "mode"),
    (lambda: gd.play(gd.DiracGAN(), 3, 0.0), ArgumentError, "lr must be positive"),
    (lambda: gd.play(gd.DiracGAN(), 3, 0.1, mode="extragradient", optimizer="adam"),
     ArgumentError, "extragradient"),
    (lambda: gd.play(gd.DiracGAN(), 3, 0.1, optimizer="lbfgs"), ArgumentError, "optimizer"),
    (lambda: gd.play(object(), 3, 0.1), ArgumentError, "players"),
    (lambda: gd.DiracGAN(loss="hinge"), ArgumentError, "loss"),
    (lambda: gd.DiracGAN(np.zeros(2), np.zeros(3)), ShapeError, "same shape"),
    (lambda: gd.linear_update(np.zeros((2, 3)), 0.1), ShapeError, "square"),
    (lambda: gd.linear_update(np.zeros((2, 2)), 0.1, "alternating"), ArgumentError,
     "n_critic"),
    (lambda: gd.linear_update(np.zeros((2, 2)), 0.1, "extragradient", momentum=0.5),
     ArgumentError, "momentum"),
    (lambda: gd.mmd2(np.zeros((3, 2)), np.zeros((3, 3))), ShapeError, "point sets"),
])
def test_errors_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()
