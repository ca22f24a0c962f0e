"""f-GAN on one dimension (Nowozin, Cseke & Tomioka 2016; the GAN survey post): a Gaussian
generator fitted to a two-mode mixture by each f-divergence, so that which divergence seeks a
mode and which covers both can be seen and measured.

D_f(P‖Q) = ∫ q(x) f(p(x)/q(x)) dx, with P the data and Q the model. The generator is the
location-scale family x = μ + σ·z (two parameters), which cannot represent two modes: it
must choose between sitting on the larger one and spreading over both, and the divergence
decides. The variational bound and its conjugates are
:data:`tinygen.models.gan.F_DIVERGENCES`; here are the generators f themselves (for the exact
optimum on a grid, :func:`optimal_gaussian`) and the mixture.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import nn, ops
from ..autograd import Tensor, no_grad
from ..creation import tensor
from ..optim import Adam
from ..random import Generator
from .gan import fgan_d_loss, fgan_g_loss
from .toy_gans import mlp

__all__ = ["F_GENERATORS", "GaussianGenerator", "Mixture1D", "divergence_on_grid",
           "optimal_gaussian", "train_fgan_1d"]

# f(u), u = p/q > 0, for the divergences of gan.F_DIVERGENCES (Nowozin et al., Table 1)
F_GENERATORS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "kl": lambda u: u * np.log(u),
    "reverse_kl": lambda u: -np.log(u),
    "js": lambda u: -(u + 1.0) * np.log((1.0 + u) / 2.0) + u * np.log(u),
    "pearson": lambda u: (u - 1.0) ** 2,
}


class Mixture1D:
    """Σ_k w_k N(μ_k, σ²) on the real line (one shared σ)."""

    def __init__(self, weights=(0.75, 0.25), means=(-2.0, 2.0), std: float = 0.5):
        self.weights, self.means = np.asarray(weights, float), np.asarray(means, float)
        self.std = float(std)
        if self.weights.shape != self.means.shape or abs(self.weights.sum() - 1) > 1e-9:
            raise ValueError(f"Mixture1D: weights {weights} must sum to 1, one per mean "
                             f"{means}")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        k = rng.choice(len(self.weights), size=n, p=self.weights)
        return (self.means[k] + self.std * rng.standard_normal(n)).astype(np.float32)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, float)[..., None] - self.means) / self.std
        return (self.weights * np.exp(-0.5 * z * z)).sum(-1) / (self.std * math.sqrt(2 * math.pi))


class GaussianGenerator(nn.Module):
    """x = μ + exp(log σ)·z, z ~ N(0, 1): a generator that can only draw one Gaussian."""

    def __init__(self, mean: float = 0.0, std: float = 1.0):
        super().__init__()
        self.mean = nn.Parameter(tensor([float(mean)]))
        self.log_std = nn.Parameter(tensor([math.log(std)]))

    def forward(self, z) -> Tensor:
        return self.mean + ops.exp(self.log_std) * z

    def params(self) -> tuple[float, float]:
        """(μ, σ) as floats."""
        return float(self.mean.numpy()[0]), float(np.exp(self.log_std.numpy()[0]))


def _normal_pdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def divergence_on_grid(divergence: str, p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """D_f(P‖Q) = ∫ q f(p/q) dx by the rectangle rule on densities sampled on a grid (where q
    underflows to 0 the integrand's limit p·f'(∞) is +∞ for the covering divergences, so
    q is floored at 1e-300)."""
    q = np.maximum(q, 1e-300)
    u = np.maximum(p, 1e-300) / q
    return float(np.sum(q * F_GENERATORS[divergence](u)) * dx)


def optimal_gaussian(divergence: str, target: Mixture1D, lo: float = -10.0, hi: float = 10.0,
                     points: int = 4001) -> tuple[float, float]:
    """The (μ, σ) minimising D_f(target ‖ N(μ, σ²)), by Nelder–Mead on (μ, log σ) with the
    divergence integrated on a grid: what a perfect critic and generator would reach."""
    from scipy.optimize import minimize

    x = np.linspace(lo, hi, points)
    p, dx = target.pdf(x), x[1] - x[0]
    mean = float(target.weights @ target.means)
    var = float(target.weights @ (target.means ** 2 + target.std ** 2)) - mean ** 2

    def loss(theta):
        d = divergence_on_grid(divergence, p, _normal_pdf(x, theta[0], math.exp(theta[1])), dx)
        return d if np.isfinite(d) else 1e300

    best = min((minimize(loss, start, method="Nelder-Mead",
                         options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000})
                for start in ([mean, 0.5 * math.log(var)],
                              *([m, math.log(target.std)] for m in target.means))),
               key=lambda r: r.fun)
    return float(best.x[0]), float(math.exp(best.x[1]))


def train_fgan_1d(divergence: str, target: Mixture1D, steps: int, *, batch: int = 256,
                  lr_d: float = 1e-3, lr_g: float = 1e-2, width: int = 32, d_steps: int = 1,
                  seed: int = 0, start: tuple[float, float] = (0.0, 1.0)) -> dict:
    """Fit a :class:`GaussianGenerator` to ``target`` with the f-GAN saddle point
    (``fgan_d_loss`` / ``fgan_g_loss`` of ``divergence``): ``d_steps`` critic steps (an MLP
    1 → width → width → 1, LeakyReLU 0.2) then one generator step per round, Adam for both.
    ``seed`` fixes the run: the critic's initial weights and every sample (so a run does not
    depend on what drew from the engine's random stream before it, nor on the process).
    Returns {"generator", "critic", "mean", "std" (per round), "d_loss", "g_loss"}."""
    rng = np.random.default_rng(seed)
    g = GaussianGenerator(*start)
    critic = mlp(1, width, 1, depth=2, slope=0.2, generator=Generator(seed))
    opt_d = Adam(critic.parameters(), lr=lr_d, betas=(0.5, 0.999))
    opt_g = Adam(g.parameters(), lr=lr_g, betas=(0.5, 0.999))
    history = {"mean": [], "std": [], "d_loss": [], "g_loss": []}

    def z() -> Tensor:
        return tensor(rng.standard_normal((batch, 1)).astype(np.float32))

    for _ in range(steps):
        for _ in range(d_steps):
            with no_grad():
                fake = g(z())
            real = tensor(target.sample(batch, rng)[:, None])
            loss = fgan_d_loss(critic(real), critic(fake), divergence)
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        history["d_loss"].append(float(loss))
        loss = fgan_g_loss(critic(g(z())), divergence)
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        history["g_loss"].append(float(loss))
        mean, std = g.params()
        history["mean"].append(mean)
        history["std"].append(std)
    return {"generator": g, "critic": critic, **history}


def fgan_1d_curves(divergence: str, target: Mixture1D, steps: int, **settings) -> dict:
    """:func:`train_fgan_1d`'s per-round curves only ("mean", "std", "d_loss", "g_loss"): a
    job for :func:`tinygen.parallel.map_jobs`, whose workers send back plain lists (the
    fitted networks stay in the worker)."""
    run = train_fgan_1d(divergence, target, steps, **settings)
    return {k: run[k] for k in ("mean", "std", "d_loss", "g_loss")}
