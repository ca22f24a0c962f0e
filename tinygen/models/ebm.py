r"""Energy-based models on the plane: an energy U(x) with density p(x) = exp(−U(x))/Z, trained
with Langevin-dynamics negative samples, and a generator trained against it with an entropy
term (MEG).

From the "energy view of GANs" posts, parts 2 and 3 (after Du & Mordatch 2019 and Kumar et al.
2019, "Maximum Entropy Generators for Energy-Based Models"):

* **EBM training** (:class:`EnergyModel`): the gradient of the log-likelihood is
  −E_data ∇U + E_model ∇U, so each step lowers U at data points x⁺ and raises it at samples
  x⁻ of the model, drawn by a few Langevin steps x ← x − (ε/2)∇ₓU + √ε·n from a replay buffer
  (95% of chains continue, 5% restart from uniform noise). Loss
  E U(x⁺) − E U(x⁻) + α(E U(x⁺)² + E U(x⁻)²): the L2 term keeps energies near 0 (the loss
  alone is unchanged by a constant shift and can drift). Every layer is spectrally
  normalised, so U is (scale)-Lipschitz and its landscape cannot grow cliffs that stop the
  chains.
* **MEG** (:class:`EntropyGenerator`): a generator G minimises E_z U(G(z)) − H(G(z)); the
  entropy is replaced by the mutual information between z and x = G(z), bounded below
  through an encoder E that must recover z, so the loss is
  E U(G(z)) + λ·E‖z − E(G(z))‖² (a generator that collapses cannot be inverted).
  Sampling then runs MALA in the latent space on U(G(z)) + ½‖z‖².
* On the plane the normaliser Z is an integral we can take on a grid
  (:func:`grid_log_density`), which gives exact log-likelihoods to compare models with.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import nn, ops
from ..autograd import Tensor, no_grad
from ..errors import ArgumentError, ShapeError
from ..ops import args as A
from ..optim import Adam
from ..random import Generator
from ..stochastic.samplers import ReplayBuffer, langevin

__all__ = ["EnergyModel", "EntropyGenerator", "Swish", "energy_mlp", "gaussian_log_density",
           "grid_kl", "grid_log_density", "grid_sample", "mixture_energy"]


class Swish(nn.Module):
    """x·σ(x): a smooth ReLU, so ∇ₓU (what Langevin follows) is continuous."""

    def forward(self, x: Tensor) -> Tensor:
        return x * ops.sigmoid(x)


def energy_mlp(width: int = 64, depth: int = 3, spectral: bool = True,
               activation: str = "swish", generator: Generator | None = None) -> nn.Sequential:
    """R² → R: ``depth`` hidden layers of ``width`` ("swish" or "leaky_relu" with slope 0.2),
    each Linear spectrally normalised when ``spectral`` (then the network is 1-Lipschitz;
    Swish's slope at 0 is only ½, so a spectrally normalised Swish network is much flatter
    than its bound, a leaky ReLU network less so)."""
    activation = A.choice("energy_mlp", activation, "activation", ("swish", "leaky_relu"))
    layers: list[nn.Module] = []
    d = 2
    for _ in range(depth):
        linear = nn.Linear(d, width, generator=generator)
        layers += [nn.SpectralNorm(linear) if spectral else linear,
                   Swish() if activation == "swish" else nn.LeakyReLU(0.2)]
        d = width
    out = nn.Linear(d, 1, generator=generator)
    layers.append(nn.SpectralNorm(out) if spectral else out)
    return nn.Sequential(*layers)


class EnergyModel(nn.Module):
    """U(x) = scale·f(x) for a spectrally normalised MLP f, trained by :meth:`step` with
    Langevin negatives from a replay buffer. ``scale`` bounds the slope |∇U| ≤ scale."""

    def __init__(self, width: int = 64, depth: int = 3, scale: float = 10.0, alpha: float = 0.1,
                 step: float = 0.01, langevin_steps: int = 20, box: float = 4.0,
                 buffer_size: int = 10000, lr: float = 1e-3, spectral: bool = True,
                 activation: str = "swish", seed: int = 0):
        super().__init__()
        self.scale, self.alpha = A.number("EnergyModel", scale, "scale"), alpha
        self.langevin_step, self.langevin_steps = step, langevin_steps
        self.rng = Generator(seed)
        self.f = energy_mlp(width, depth, spectral, activation, generator=self.rng)
        self.box = box
        self.buffer = ReplayBuffer(buffer_size, self.uniform, generator=self.rng)
        self.optimizer = Adam(self.parameters(), lr=lr, betas=(0.0, 0.999))

    def uniform(self, n: int) -> Tensor:
        """n points uniform on the square [−box, box]²: where chains restart."""
        return self.rng.uniform(n, 2, low=-self.box, high=self.box)

    def forward(self, x: Tensor) -> Tensor:
        """U(x), shape (N,)."""
        return self.scale * self.f(x).reshape(-1)

    def energy(self, x) -> np.ndarray:
        """U at points (N, 2), as NumPy (no graph)."""
        self.eval()
        with no_grad():
            u = self(Tensor(np.asarray(x, np.float32))).numpy()
        self.train()
        return u

    def negatives(self, n: int) -> Tensor:
        """n model samples: chains from the replay buffer moved by ``langevin_steps`` ULA steps
        (the network in eval mode, so the spectral norms' power iterations stay put)."""
        self.eval()
        x = langevin(self, self.buffer.sample(n), self.langevin_step, self.langevin_steps,
                     self.rng)
        self.train()
        self.buffer.push(x)
        return x

    def step(self, real) -> dict:
        """One update on a batch of data: E U(x⁺) − E U(x⁻) + α(E U(x⁺)² + E U(x⁻)²)."""
        real = Tensor(np.asarray(real, np.float32))
        fake = self.negatives(real.shape[0])
        u_pos, u_neg = self(real), self(fake)
        gap = u_pos.mean() - u_neg.mean()
        loss = gap + self.alpha * ((u_pos * u_pos).mean() + (u_neg * u_neg).mean())
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item(), "gap": gap.item()}


class EntropyGenerator(nn.Module):
    """MEG's generator G: z → x and encoder E: x → z, trained against a fixed energy U with
    loss E U(G(z)) + λ·E‖z − E(G(z))‖² (the entropy term through the mutual-information
    bound; :meth:`step`). ``latent`` is z's dimension."""

    def __init__(self, energy: Callable[[Tensor], Tensor], latent: int = 2, width: int = 64,
                 lam: float = 1.0, lr: float = 1e-3, seed: int = 0):
        super().__init__()
        from .toy_gans import mlp

        if not callable(energy):
            raise ArgumentError(f"EntropyGenerator: energy must be a callable x -> U(x), got "
                                f"{A.describe(energy)}")
        # not registered: a Module assigned as an attribute would become a submodule, and the
        # generator's optimizer would train the energy too
        object.__setattr__(self, "_energy", energy)
        self.latent = latent
        self.lam = A.number("EntropyGenerator", lam, "lam")
        self.rng = Generator(seed)
        self.G = mlp(latent, width, 2, 2, generator=self.rng)
        self.E = mlp(2, width, latent, 2, generator=self.rng)
        self.optimizer = Adam(self.parameters(), lr=lr, betas=(0.5, 0.999))

    def noise(self, n: int) -> Tensor:
        return self.rng.normal(n, self.latent)

    def sample(self, n: int) -> np.ndarray:
        with no_grad():
            return self.G(self.noise(n)).numpy()

    def latent_energy(self, z: Tensor) -> Tensor:
        """The energy of z for latent MALA: U(G(z)) + ½‖z‖² (the model's energy plus the
        prior's)."""
        return self._energy(self.G(z)) + 0.5 * (z * z).sum(axis=1)

    def step(self, batch: int = 128) -> dict:
        z = self.noise(batch)
        x = self.G(z)
        u = self._energy(x).mean()
        d = z - self.E(x)
        info = (d * d).sum(axis=1).mean()
        loss = u + self.lam * info
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return {"energy": u.item(), "reconstruction": info.item()}


def mixture_energy(centres: np.ndarray, std: float) -> Callable[[Tensor], Tensor]:
    """U(x) = −log Σ_k exp(−‖x − μ_k‖²/(2σ²)) for an equal-weight mixture of isotropic
    Gaussians (up to the constant log(K·2πσ²)): a target whose density is known exactly."""
    centres = np.asarray(centres, np.float64)
    if centres.ndim != 2 or centres.shape[1] != 2:
        raise ShapeError(f"mixture_energy: centres must have shape (K, 2), got {centres.shape}")
    k = len(centres)

    def energy(x: Tensor) -> Tensor:
        c = Tensor(centres.astype(x.dtype)).reshape(1, k, 2)
        d = x.reshape(-1, 1, 2) - c
        return -ops.logsumexp(-(d * d).sum(axis=2) / (2 * std * std), axis=1)

    return energy


def _grid(lim: float, bins: int) -> tuple[np.ndarray, np.ndarray, float]:
    edges = np.linspace(-lim, lim, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    points = np.stack(np.meshgrid(centres, centres, indexing="ij"), -1).reshape(-1, 2)
    return edges, points, (edges[1] - edges[0]) ** 2


def grid_log_density(energy: Callable[[np.ndarray], np.ndarray], lim: float,
                     bins: int = 200) -> tuple[np.ndarray, float]:
    """log p on the cell centres of a bins × bins grid over [−lim, lim]², with
    p = exp(−U)/Z and Z = Σ exp(−U)·(cell area) (the midpoint rule; mass outside the square
    is taken to be nil). Returns (log p of shape (bins, bins), log Z)."""
    bins = A.integer("grid_log_density", bins, "bins", minimum=2)
    _, points, area = _grid(lim, bins)
    u = np.asarray(energy(points), np.float64).reshape(-1)
    if u.shape != (bins * bins,):
        raise ShapeError(f"grid_log_density: energy(points) for {bins * bins} points gave "
                         f"shape {u.shape}")
    m = (-u).max()
    log_z = m + np.log(np.exp(-u - m).sum() * area)
    return (-u - log_z).reshape(bins, bins), float(log_z)


def grid_kl(samples: np.ndarray, log_density: np.ndarray, lim: float) -> float:
    """KL(p ‖ q̂) between a density p given on a grid (``log_density``, bins × bins over
    [−lim, lim]², as from :func:`grid_log_density`) and the histogram q̂ of ``samples`` on
    the same cells (+½ count per cell, so empty cells stay finite; samples outside the square
    are dropped). Finite samples give a small positive value even for exact draws; compare
    with exact draws of the same size."""
    bins = log_density.shape[0]
    edges, _, _ = _grid(lim, bins)
    samples = np.asarray(samples, np.float64)
    counts, _, _ = np.histogram2d(samples[:, 0], samples[:, 1], bins=[edges, edges])
    q = (counts + 0.5) / (counts + 0.5).sum()
    p = np.exp(log_density - log_density.max())
    p /= p.sum()
    return float(np.sum(p * (np.log(p + 1e-300) - np.log(q))))


def grid_sample(log_density: np.ndarray, lim: float, n: int,
                rng: np.random.Generator) -> np.ndarray:
    """n exact draws of the piecewise-constant density on the grid (a cell by its mass, then
    a uniform point in it): the finite-sample floor for :func:`grid_kl`."""
    bins = log_density.shape[0]
    edges, _, _ = _grid(lim, bins)
    p = np.exp(log_density - log_density.max()).ravel()
    cells = rng.choice(p.size, size=n, p=p / p.sum())
    i, j = np.divmod(cells, bins)
    width = edges[1] - edges[0]
    return np.stack([edges[i], edges[j]], 1) + width * rng.random((n, 2))


def gaussian_log_density(train: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log N(x; m, S) with the mean and covariance of ``train``: the single-Gaussian baseline."""
    train, x = np.asarray(train, np.float64), np.asarray(x, np.float64)
    m, S = train.mean(0), np.cov(train.T)
    d = x - m
    _, logdet = np.linalg.slogdet(S)
    return -0.5 * (np.einsum("ni,ij,nj->n", d, np.linalg.inv(S), d) + logdet
                   + x.shape[1] * np.log(2 * np.pi))
