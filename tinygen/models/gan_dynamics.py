r"""GAN training as a dynamical system: the players' gradient field, its Jacobian (by
second-order :func:`tinygen.grad`), and the update rules whose stability that Jacobian decides.

From the "three stages" post (the third stage: the optimiser's role) and Mescheder, Geiger &
Nowozin 2018 ("Which training methods for GANs do actually converge?"). A game has two
players with parameters w = (θ, ψ) (critic θ, generator ψ) and losses L_D, L_G, each
minimised by its own player. Their gradients form the **game field**

    v(w) = (∇_θ L_D, ∇_ψ L_G),

and plain gradient descent follows ẇ = −v. Near an equilibrium w* (v(w*) = 0) everything
depends on J = ∂v/∂w at w*: the flow is stable iff every eigenvalue of J has a positive real
part; simultaneous steps w ← w − h·v(w) act as the matrix I − hJ, stable iff its spectral
radius is below 1. In a GAN J has a large antisymmetric part (rotation), hence cycles and
divergence, and the fixes (a zero-centred gradient penalty, extragradient, consensus) all
move the eigenvalues.

**The Dirac-GAN** (:class:`DiracGAN`): data δ₀, generator δ_ψ, critic D(x) = θx. With
f(t) = −log(1 + e^{−t}) the zero-sum game is L = f(θψ) + f(0), L_D = −L + (γ/2)θ² (the
zero-centred penalty (γ/2)E_p‖∇ₓD‖² is (γ/2)θ² here, as ∇ₓD = θ), L_G = L; the equilibrium
is (0, 0), J there is [[γ, −f'(0)], [f'(0), 0]] with f'(0) = ½: eigenvalues ±i/2 without
the penalty (pure rotation), (γ ± √(γ² − 1))/2 with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .. import nn, ops
from ..autograd import Tensor, enable_grad, grad
from ..errors import ArgumentError, ShapeError
from ..ops import args as A
from ..optim import SGD, Adam
from ..random import Generator
from . import gan
from .toy_gans import mlp

__all__ = ["DiracGAN", "MixtureGAN", "game_field", "game_jacobian", "linear_update",
           "mmd2", "play", "spectral_radius"]

MODES = ("simultaneous", "alternating", "extragradient")


class DiracGAN(nn.Module):
    """Mescheder et al.'s Dirac-GAN: critic D(x) = θx, generator δ_ψ, data δ₀.

    ``loss``: "sgan" (f(t) = −log(1 + e^{−t}), the zero-sum GAN) or "wgan" (f(t) = t);
    ``gamma``: the weight of the zero-centred penalty (γ/2)θ² on the critic. Arrays of θ and
    ψ (one shape) are independent copies of the game (the losses are sums over them), which
    draws the field over a whole grid of points in one backward pass."""

    def __init__(self, theta: float = 1.0, psi: float = 1.0, loss: str = "sgan",
                 gamma: float = 0.0):
        super().__init__()
        self.loss = A.choice("DiracGAN", loss, "loss", ("sgan", "wgan"))
        self.gamma = A.number("DiracGAN", gamma, "gamma")
        theta, psi = np.asarray(theta, np.float64), np.asarray(psi, np.float64)
        if theta.shape != psi.shape:
            raise ShapeError(f"DiracGAN: theta {theta.shape} and psi {psi.shape} must have the "
                             "same shape")
        self.theta, self.psi = nn.Parameter(theta.copy()), nn.Parameter(psi.copy())

    @property
    def players(self) -> tuple[list[Tensor], list[Tensor]]:
        return [self.theta], [self.psi]

    def _f(self, t: Tensor) -> Tensor:
        return t if self.loss == "wgan" else -ops.softplus(-t)

    def losses(self) -> tuple[Tensor, Tensor]:
        """(L_D, L_G) = (−f(θψ) + (γ/2)θ², f(θψ)); the constant f(0) of the real term is left
        out (it has no gradient)."""
        value = self._f(self.theta * self.psi).sum()
        return -value + 0.5 * self.gamma * (self.theta * self.theta).sum(), value


class MixtureGAN(nn.Module):
    """A small SGAN on 2-D data: MLP generator z → x and critic x → logit, optionally with the
    zero-centred penalty (γ/2)E_p‖∇ₓD(x)‖² at the real points (double backward). Each call of
    :meth:`losses` draws a fresh real batch from ``sampler`` and fresh z."""

    def __init__(self, sampler: Callable[[int, Generator], np.ndarray], width: int = 32,
                 depth: int = 2, latent: int = 2, batch: int = 128, gamma: float = 0.0,
                 seed: int = 0):
        super().__init__()
        self.sampler, self.batch, self.latent = sampler, batch, latent
        self.gamma = A.number("MixtureGAN", gamma, "gamma")
        init = Generator(seed)
        self.G = mlp(latent, width, 2, depth, generator=init)
        self.D = mlp(2, width, 1, depth, generator=init)
        self.rng = Generator(seed + 1)

    @property
    def players(self) -> tuple[list[Tensor], list[Tensor]]:
        return list(self.D.parameters()), list(self.G.parameters())

    def losses(self) -> tuple[Tensor, Tensor]:
        real = Tensor(self.sampler(self.batch, self.rng), requires_grad=self.gamma > 0)
        fake = self.G(self.rng.normal(self.batch, self.latent))
        d_real = self.D(real)
        d_loss = gan.sgan_d_loss(d_real, self.D(fake))
        if self.gamma > 0:
            g_real = grad(d_real.sum(), real, create_graph=True)
            d_loss = d_loss + 0.5 * self.gamma * (g_real * g_real).sum(axis=1).mean()
        return d_loss, gan.sgan_g_loss(self.D(fake))

    def sample(self, z: np.ndarray) -> np.ndarray:
        return self.G(Tensor(z)).detach().numpy()


def _players(game) -> tuple[list[Tensor], list[Tensor]]:
    players = getattr(game, "players", None)
    if players is None or not callable(getattr(game, "losses", None)):
        raise ArgumentError(f"game dynamics: a game needs .players (critic and generator "
                            f"parameter lists) and .losses() -> (L_D, L_G), got "
                            f"{type(game).__name__}")
    return players


def game_field(game, consensus: float = 0.0, create_graph: bool = False) -> list[Tensor]:
    """The gradients each player descends, critic's first: v = (∇_θ L_D, ∇_ψ L_G). With
    ``consensus`` γ > 0 (Mescheder et al. 2017, "The numerics of GANs") each player descends
    L_i + γ·½‖v‖² instead, which needs the gradient of a gradient."""
    d_params, g_params = _players(game)
    with enable_grad():
        d_loss, g_loss = game.losses()
        keep = create_graph or consensus > 0
        v = list(grad(d_loss, d_params, create_graph=keep, retain_graph=True))
        v += list(grad(g_loss, g_params, create_graph=keep))
        if consensus > 0:
            norm2 = sum((g * g).sum() for g in v)
            extra = grad(0.5 * consensus * norm2, d_params + g_params, create_graph=create_graph)
            v = [a + b for a, b in zip(v, extra)]
    return v


def _flat(tensors: Sequence[Tensor]) -> np.ndarray:
    return np.concatenate([np.asarray(t.detach().numpy(), np.float64).ravel() for t in tensors])


def game_jacobian(game, consensus: float = 0.0) -> np.ndarray:
    """J = ∂v/∂w at the game's current parameters (P × P, critic's parameters first), one row
    per component of v by a second backward pass through the first one."""
    d_params, g_params = _players(game)
    params = d_params + g_params
    with enable_grad():
        v = game_field(game, consensus, create_graph=True)
        flat = [(vi, index) for vi in v for index in np.ndindex(*vi.shape)]
        rows = []
        for vi, index in flat:
            component = vi[index] if vi.ndim else vi
            if not component.requires_grad:  # a constant gradient: a zero row
                rows.append(np.zeros(sum(p.data.size for p in params)))
                continue
            parts = grad(component, params, retain_graph=True, allow_unused=True)
            rows.append(np.concatenate([
                np.zeros(p.data.size) if g is None else np.asarray(g.numpy(), np.float64).ravel()
                for p, g in zip(params, parts)]))
    return np.stack(rows)


def linear_update(jacobian: np.ndarray, lr: float, mode: str = "simultaneous",
                  n_critic: int | None = None, momentum: float = 0.0) -> np.ndarray:
    """The matrix by which a small deviation from the equilibrium is multiplied in one step,
    for the game field's Jacobian J (the critic's n_critic parameters first):

    * simultaneous SGD: I − hJ;
    * alternating SGD (critic first, then the generator at the critic's new value):
      (I − hP_G J)(I − hP_D J), P_D, P_G the projections on each player's rows;
    * extragradient: I − hJ(I − hJ) (the step is taken with the field at a look-ahead);
    * simultaneous heavy-ball momentum β (b ← βb + v, w ← w − hb): on (w, b),
      [[I − hJ, −hβI], [J, βI]].

    The iteration converges near the equilibrium iff the spectral radius is < 1."""
    J = np.asarray(jacobian, dtype=np.float64)
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise ShapeError(f"linear_update: the Jacobian must be square, got shape {J.shape}")
    mode = A.choice("linear_update", mode, "mode", MODES)
    h, n, eye = float(lr), J.shape[0], np.eye(J.shape[0])
    if momentum and mode != "simultaneous":
        raise ArgumentError("linear_update: momentum is analysed for simultaneous steps only")
    if mode == "simultaneous":
        if not momentum:
            return eye - h * J
        return np.block([[eye - h * J, -h * momentum * eye], [J, momentum * eye]])
    if mode == "extragradient":
        return eye - h * J @ (eye - h * J)
    if n_critic is None or not 0 < n_critic < n:
        raise ArgumentError(f"linear_update: alternating steps need n_critic, the number of "
                            f"critic parameters (between 1 and {n - 1}), got {n_critic!r}")
    p_d = np.diag((np.arange(n) < n_critic).astype(float))
    return (eye - h * (eye - p_d) @ J) @ (eye - h * p_d @ J)


def spectral_radius(matrix: np.ndarray) -> float:
    """max |eigenvalue|."""
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))


def _set_grads(params: Sequence[Tensor], grads: Sequence[Tensor]) -> None:
    for p, g in zip(params, grads):
        p.grad = Tensor(g.detach().data)


def play(game, steps: int, lr: float, mode: str = "simultaneous", optimizer: str = "sgd",
         momentum: float = 0.0, betas: tuple[float, float] = (0.5, 0.999),
         consensus: float = 0.0, every: int = 1,
         on_record: Callable[[int], None] | None = None) -> np.ndarray:
    """Train the game for ``steps`` steps and return its parameters every ``every`` steps
    (rows: step 0, every, 2·every, ...; columns: the critic's parameters, then G's).

    ``mode``: "simultaneous" (both players step from the same point), "alternating" (the
    critic steps, then the generator sees the new critic) or "extragradient" (SGD only: a
    look-ahead step, then the real step from the old point with the look-ahead's field).
    ``optimizer``: "sgd" (with ``momentum``) or "adam" (with ``betas``), one per player.
    ``consensus``: γ of the consensus term (see :func:`game_field`). ``on_record(step)`` is
    called at each recorded step (to measure the game there). A path that leaves the floats
    (overflow) stops early."""
    steps = A.integer("play", steps, "steps", minimum=0)
    every = A.integer("play", every, "every", minimum=1)
    mode = A.choice("play", mode, "mode", MODES)
    optimizer = A.choice("play", optimizer, "optimizer", ("sgd", "adam"))
    lr = A.number("play", lr, "lr")
    if not lr > 0:
        raise ArgumentError(f"play: lr must be positive, got {lr}")
    if mode == "extragradient" and (optimizer != "sgd" or momentum):
        raise ArgumentError("play: extragradient is implemented for plain SGD (no momentum)")
    d_params, g_params = _players(game)
    params, n_d = d_params + g_params, len(d_params)

    def make(ps):
        if optimizer == "sgd":
            return SGD(ps, lr=lr, momentum=momentum)
        return Adam(ps, lr=lr, betas=tuple(betas))

    opt_d, opt_g = make(d_params), make(g_params)
    path = [_flat(params)]
    if on_record is not None:
        on_record(0)
    for t in range(1, steps + 1):
        if mode == "simultaneous":
            _set_grads(params, game_field(game, consensus))
            opt_d.step()
            opt_g.step()
        elif mode == "alternating":
            _set_grads(d_params, game_field(game, consensus)[:n_d])
            opt_d.step()
            _set_grads(g_params, game_field(game, consensus)[n_d:])
            opt_g.step()
        else:
            start = [p.data.copy() for p in params]
            for p, g in zip(params, game_field(game, consensus)):
                p.data -= lr * g.data
            look_ahead = game_field(game, consensus)
            for p, s, g in zip(params, start, look_ahead):
                p.data[...] = s - lr * g.data
        if t % every == 0:
            path.append(_flat(params))
            if on_record is not None:
                on_record(t)
            if not np.all(np.isfinite(path[-1])):
                break
    return np.stack(path)


def mmd2(x: np.ndarray, y: np.ndarray, bandwidths: Sequence[float] = (0.05, 0.2, 1.0)) -> float:
    """The (biased, V-statistic) squared maximum mean discrepancy between point sets x (n, d)
    and y (m, d) with a sum of Gaussian kernels exp(−‖a − b‖²/(2s²)), s in ``bandwidths``:
    0 iff the two empirical laws coincide, so it measures how far G's samples are from the
    data at several scales at once."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ShapeError(f"mmd2: x and y must be point sets (n, d) and (m, d), got shapes "
                         f"{x.shape} and {y.shape}")

    def k(a, b):
        d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
        return sum(np.exp(-np.maximum(d2, 0) / (2 * s * s)) for s in bandwidths)

    return float(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())


def distance(path: np.ndarray, equilibrium: np.ndarray | None = None) -> np.ndarray:
    """‖w_t − w*‖ along a path of parameters (w* = 0 by default)."""
    w = np.asarray(path, np.float64)
    return np.linalg.norm(w - (0.0 if equilibrium is None else equilibrium), axis=1)


def rate(path: np.ndarray) -> float:
    """The mean factor per recorded step by which the distance to 0 changed:
    (‖w_T‖/‖w_0‖)^(1/T)."""
    d = distance(path)
    return float(math.exp(math.log(d[-1] / d[0]) / (len(d) - 1)))
