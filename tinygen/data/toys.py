"""Generated 2-D distributions for GANs and flows, with the settings the papers used.

* **PacGAN** (Lin et al. 2018, Table 1): :func:`ring` — 8 Gaussians with means
  (cos 2πi/8, sin 2πi/8), std 0.01; :func:`grid` — 25 Gaussians at {−4, −2, 0, 2, 4}²,
  std 0.05. Modes are drawn uniformly; :func:`tinygen.metrics.mode_coverage` scores samples.
* **WGAN-GP** reference toy code (Gulrajani et al. 2017, ``gan_toy.py``):
  :func:`gaussians8` — centres 2·(unit vectors at multiples of 45°), noise std 0.02, the
  whole sample divided by 1.414, so the centres lie on a circle of radius 2/1.414 ≈ 1.414
  and the std is 0.02/1.414 ≈ 0.0141; a centre is chosen uniformly per point.
  :func:`gaussians25` — centres 2·(x, y) for x, y ∈ {−2, …, 2}, std 0.05, divided by
  2.828, so centres {−4, −2, 0, 2, 4}/2.828 and std 0.05/2.828 ≈ 0.0177; the reference
  builds a balanced set (the same number of points per mode) and shuffles it, as here.
  :func:`swissroll` — scikit-learn's swiss roll with noise 0.25, coordinates (x, z),
  divided by 7.5.
* **Flows** (FFJORD's toy data): :func:`checkerboard` — uniform on the 8 dark squares of
  a 4×4 board covering [−4, 4]²; :func:`two_moons` — scikit-learn's two moons with noise
  0.1, scaled by 2 and shifted by (−1, −0.2); :func:`two_moons_log_prob` its density.

Every generator takes ``n`` and a :class:`tinygen.Generator` or an integer seed (None:
fresh entropy) and returns a NumPy array of shape (n, 2) in the default floating dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..autograd import get_default_dtype
from ..errors import ShapeError
from ..random import Generator

RandomSource = Generator | int | None


@dataclass(frozen=True)
class Modes:
    """The centres (K, 2) and the common std of a Gaussian-mixture toy."""

    centres: np.ndarray
    std: float


def _unit_circle(k: int) -> np.ndarray:
    angles = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


_S2 = 1.0 / math.sqrt(2.0)

#: PacGAN ring: 8 modes on the unit circle, std 0.01.
RING = Modes(_unit_circle(8), 0.01)
#: PacGAN grid: 25 modes at {−4, −2, 0, 2, 4}², std 0.05.
GRID = Modes(np.array([(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)],
                      dtype=np.float64), 0.05)
#: WGAN-GP 8 Gaussians, after its division by 1.414 (centres in the reference's order).
GAUSSIANS8 = Modes(2.0 * np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (_S2, _S2), (_S2, -_S2),
                                   (-_S2, _S2), (-_S2, -_S2)]) / 1.414, 0.02 / 1.414)
#: WGAN-GP 25 Gaussians, after its division by 2.828.
GAUSSIANS25 = Modes(np.array([(2.0 * x, 2.0 * y) for x in range(-2, 3) for y in range(-2, 3)])
                    / 2.828, 0.05 / 2.828)


def _generator(source: RandomSource) -> Generator:
    return source if isinstance(source, Generator) else Generator(source)


def _np(t) -> np.ndarray:
    return backend.to_numpy(t.data)


def _check_n(n: int, who: str) -> int:
    if int(n) != n or n < 0:
        raise ShapeError(f"{who}: n must be a non-negative integer, got {n!r}")
    return int(n)


def mixture(modes: Modes, n: int, generator: RandomSource = None, balanced: bool = False,
            dtype=None, return_labels: bool = False):
    """``n`` points of the mixture ``modes``: centre + std·N(0, I).

    The centre of each point is uniform over the modes, or, with ``balanced``, the modes
    are repeated in turn (counts differ by at most one) and the order shuffled. With
    ``return_labels`` the mode index of each point is returned too.
    """
    n = _check_n(n, "mixture")
    g = _generator(generator)
    k = len(modes.centres)
    if balanced:
        labels = (np.arange(n) % k)[_np(g.permutation(n))]
    else:
        labels = _np(g.integers(0, k, n)).astype(np.int64)
    noise = _np(g.normal(n, 2, dtype=np.float64))
    x = (modes.centres[labels] + modes.std * noise).astype(dtype or get_default_dtype())
    return (x, labels.astype(np.int64)) if return_labels else x


def ring(n: int, generator: RandomSource = None, dtype=None) -> np.ndarray:
    """PacGAN's ring: 8 Gaussians on the unit circle, std 0.01 (modes: :data:`RING`)."""
    return mixture(RING, n, generator, dtype=dtype)


def grid(n: int, generator: RandomSource = None, dtype=None) -> np.ndarray:
    """PacGAN's grid: 25 Gaussians at {−4, −2, 0, 2, 4}², std 0.05 (modes: :data:`GRID`)."""
    return mixture(GRID, n, generator, dtype=dtype)


def gaussians8(n: int, generator: RandomSource = None, dtype=None) -> np.ndarray:
    """WGAN-GP's 8 Gaussians: radius 2/1.414, std 0.02/1.414 (modes: :data:`GAUSSIANS8`)."""
    return mixture(GAUSSIANS8, n, generator, dtype=dtype)


def gaussians25(n: int, generator: RandomSource = None, dtype=None) -> np.ndarray:
    """WGAN-GP's 25 Gaussians, balanced: centres {−4,…,4}/2.828, std 0.05/2.828."""
    return mixture(GAUSSIANS25, n, generator, balanced=True, dtype=dtype)


def swissroll(n: int, generator: RandomSource = None, noise: float = 0.25,
              dtype=None) -> np.ndarray:
    """WGAN-GP's swiss roll: scikit-learn's 3-D roll, coordinates (x, z), divided by 7.5.

    t = 1.5π(1 + 2u), u ~ U[0, 1); the point is (t cos t, 21v, t sin t) + noise·N(0, I₃)
    with v ~ U[0, 1) (as ``sklearn.datasets.make_swiss_roll``); keep x and z (so the height
    21v is never drawn), divide by 7.5 ("stdev plus a little" in the reference).
    """
    n = _check_n(n, "swissroll")
    g = _generator(generator)
    t = 1.5 * np.pi * (1 + 2 * _np(g.uniform(n, dtype=np.float64)))
    x = np.stack([t * np.cos(t), t * np.sin(t)], 1) + noise * _np(g.normal(n, 2, dtype=np.float64))
    return (x / 7.5).astype(dtype or get_default_dtype())


def checkerboard(n: int, generator: RandomSource = None, dtype=None) -> np.ndarray:
    """FFJORD's checkerboard: uniform on 8 of the 16 squares of side 2 tiling [−4, 4]².

    x₁ ~ U[−2, 2); x₂ = U[0, 1) − 2·Bernoulli(½) + (⌊x₁⌋ mod 2); the point is 2·(x₁, x₂).
    So a point (x, y) lies in a filled square exactly when ⌊x/2⌋ + ⌊y/2⌋ is even.
    """
    n = _check_n(n, "checkerboard")
    g = _generator(generator)
    x1 = 4 * _np(g.uniform(n, dtype=np.float64)) - 2
    x2 = _np(g.uniform(n, dtype=np.float64)) - 2 * _np(g.integers(0, 2, n))
    x2 = x2 + np.floor(x1) % 2
    return (2 * np.stack([x1, x2], 1)).astype(dtype or get_default_dtype())


def two_moons(n: int, generator: RandomSource = None, noise: float = 0.1, dtype=None,
              return_labels: bool = False):
    """Two interleaved half circles (scikit-learn's ``make_moons``), as FFJORD uses them.

    n//2 points on the upper moon (cos θ, sin θ) and the rest on the lower one
    (1 − cos θ, 1 − sin θ − ½), θ evenly spaced on [0, π]; shuffled; + noise·N(0, I);
    then ×2 + (−1, −0.2). ``return_labels`` gives the moon (0 upper, 1 lower) of each point.
    """
    n = _check_n(n, "two_moons")
    g = _generator(generator)
    n_out = n // 2
    n_in = n - n_out
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], 1)])
    labels = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    order = _np(g.permutation(n))
    x, labels = x[order], labels[order]
    x = x + noise * _np(g.normal(n, 2, dtype=np.float64))
    x = (2 * x + np.array([-1.0, -0.2])).astype(dtype or get_default_dtype())
    return (x, labels) if return_labels else x


def two_moons_log_prob(x, noise: float = 0.1, nodes: int = 2000) -> np.ndarray:
    """log p(x) per row of x (N, 2) for :func:`two_moons` as n → ∞: each moon has half the
    mass, spread uniformly over θ ∈ [0, π] on its arc (scaled by 2 and shifted like the
    samples) and blurred by N(0, (2·noise)² I). The integral over θ is the midpoint rule with
    ``nodes`` points per arc (the integrand is smooth on the scale 2·noise, so 2,000 nodes on
    an arc of length 2π are exact to rounding); used as the true density of the toy."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ShapeError(f"two_moons_log_prob: expected points of shape (N, 2), got {x.shape}")
    t = (np.arange(nodes) + 0.5) / nodes * np.pi
    arcs = np.concatenate([np.stack([np.cos(t), np.sin(t)], 1),
                           np.stack([1 - np.cos(t), 1 - np.sin(t) - 0.5], 1)])
    centres, s = 2 * arcs + np.array([-1.0, -0.2]), 2.0 * noise
    out = np.empty(len(x))
    for i in range(0, len(x), 512):  # (512, 2·nodes) at a time
        sq = ((x[i:i + 512, None, :] - centres[None]) ** 2).sum(-1)
        lp = -sq / (2 * s * s)
        top = lp.max(1)
        out[i:i + 512] = top + np.log(np.exp(lp - top[:, None]).mean(1))
    return out - np.log(2 * np.pi * s * s)
