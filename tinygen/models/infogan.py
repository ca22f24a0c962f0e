"""InfoGAN (Chen et al. 2016; the GAN survey post): a generator fed structured codes c as
well as noise z, and a head Q on the discriminator's body that must recover c from G(z, c).

Maximising the mutual information I(c; G(z, c)) is intractable; its variational lower bound

    I(c; G(z, c)) ≥ E_{c, x=G(z,c)} log Q(c|x) + H(c)

is what both G and Q maximise (H(c) is a constant). With a 10-way categorical code (Q gives
logits: log Q is minus the cross-entropy) and continuous codes c ~ U(−1, 1) (Q gives a mean,
a unit-variance Gaussian: log Q is −½‖c − μ_Q‖² up to a constant), the *information loss*
is CE + w·½‖c − μ_Q‖². The categorical code is never told about digit classes; if it ends
up meaning "which digit", InfoGAN has found the classes without labels.

The networks follow the paper's MNIST layout, scaled down: :class:`InfoGenerator` (two fully
connected layers, then one transposed conv) and :class:`InfoCritic` (strided convs and a
fully connected layer shared by D's score and Q's head).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from .. import functional as F
from .. import nn, ops
from ..autograd import Tensor, no_grad
from ..creation import tensor
from ..errors import ShapeError
from ..optim import Adam
from .gan import sgan_d_loss, sgan_g_loss
from .image_gans import Generator, make_critic, sample

__all__ = ["InfoCritic", "InfoGenerator", "info_latent", "info_loss", "majority_accuracy",
           "q_codes", "train_infogan"]


def info_latent(rng: np.random.Generator, batch: int, noise: int, categories: int = 10,
                continuous: int = 2, cat: np.ndarray | None = None,
                cont: np.ndarray | None = None,
                balanced: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(G's input [z, one-hot(c_cat), c_cont] (B, noise + categories + continuous) float32,
    c_cat (B,) int, c_cont (B, continuous)); z ~ N(0, I), c_cat uniform, c_cont ~ U(−1, 1)
    unless given. ``balanced``: c_cat stratified, each value batch // categories times (the
    remainder drawn uniformly), shuffled: still uniform, but no code goes short in a batch."""
    if cat is None and balanced:
        cat = np.concatenate([np.repeat(np.arange(categories), batch // categories),
                              rng.integers(0, categories, batch % categories)])
        cat = rng.permutation(cat)
    cat = rng.integers(0, categories, batch) if cat is None else np.asarray(cat)
    cont = rng.uniform(-1, 1, (batch, continuous)) if cont is None else np.asarray(cont)
    z = rng.standard_normal((batch, noise))
    latent = np.concatenate([z, np.eye(categories)[cat], cont], axis=1).astype(np.float32)
    return latent, cat.astype(np.int64), cont.astype(np.float32)


class InfoGenerator(nn.Module):
    """The InfoGAN paper's MNIST generator, scaled down: latent → Linear(hidden) → BatchNorm,
    ReLU → Linear(channels·(size/2)²) → BatchNorm, ReLU → ``channels`` maps of side size/2 →
    ConvTranspose2d(4, stride 2) to one channel → tanh. The two fully connected layers let a
    code change the whole digit (its class), not only add a pattern to the first maps."""

    def __init__(self, z_dim: int, size: int, hidden: int = 256, channels: int = 64):
        super().__init__()
        if size % 2:
            raise ShapeError(f"InfoGenerator: size must be even, got {size}")
        self.z_dim, self.size, self.channels, self.base = z_dim, size, channels, size // 2
        flat = channels * self.base ** 2
        self.fc = nn.Sequential(nn.Linear(z_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                                nn.Linear(hidden, flat), nn.BatchNorm1d(flat), nn.ReLU())
        self.up = nn.ConvTranspose2d(channels, 1, 4, stride=2, padding=1)

    def forward(self, z) -> Tensor:
        h = ops.reshape(self.fc(z), (-1, self.channels, self.base, self.base))
        return ops.tanh(self.up(h))


class InfoCritic(nn.Module):
    """The discriminator body of :func:`make_critic` (strided convs, LeakyReLU, BatchNorm
    after the first when ``batchnorm``), then, when ``fc`` > 0, the paper's fully connected
    layer of ``fc`` units (BatchNorm, LeakyReLU), shared by two heads: D's score (B, 1) and
    Q's (categorical logits (B, categories), continuous means (B, continuous)), Q through one
    hidden layer of ``hidden`` units (BatchNorm after it when ``q_batchnorm``, as in the
    paper). ``learn_std=True`` makes Q's continuous part the paper's factored Gaussian: the
    third output is then (B, 2·continuous), the means and then the log standard deviations
    (:func:`info_loss` reads either layout). ``spectral=True`` wraps the body's layers and D's
    score in spectral normalisation (Q's head stays plain); with ``batchnorm=False`` the fc
    layer has no BatchNorm either, so every image is scored on its own and Q reads a real
    digit exactly as it read the fakes it was trained on (no running statistics)."""

    def __init__(self, size: int, channels: Sequence[int] = (32, 64), categories: int = 10,
                 continuous: int = 2, hidden: int = 64, batchnorm: bool = True,
                 q_batchnorm: bool = False, learn_std: bool = False, fc: int = 0,
                 spectral: bool = False):
        super().__init__()
        full = list(make_critic(size, channels, spectral=spectral, batchnorm=batchnorm))
        body, width = full[:-1], (full[-1].module if spectral else full[-1]).in_features

        def norm(layer):
            return nn.SpectralNorm(layer) if spectral else layer

        if fc:
            body += [norm(nn.Linear(width, fc)), *([nn.BatchNorm1d(fc)] if batchnorm else []),
                     nn.LeakyReLU(0.2)]
            width = fc
        self.body = nn.Sequential(*body)
        self.d_head = norm(nn.Linear(width, 1)) if fc else full[-1]
        norm = [nn.BatchNorm1d(hidden)] if q_batchnorm else []
        self.q_head = nn.Sequential(nn.Linear(width, hidden), *norm, nn.LeakyReLU(0.2),
                                    nn.Linear(hidden, categories + continuous * (1 + learn_std)))
        self.categories, self.continuous = categories, continuous

    def forward(self, x) -> tuple[Tensor, Tensor, Tensor]:
        h = self.body(x)
        q = self.q_head(h)
        return self.d_head(h), q[:, :self.categories], q[:, self.categories:]


def info_loss(logits, means, cat, cont, weight: float = 1.0, cat_weight: float = 1.0) -> Tensor:
    """−(variational MI bound − H(c)), weighted: cat_weight·CE(logits, c_cat) + weight·(mean
    over the batch of −log Q(c_cont|x) + const). ``means`` (B, K) is a unit-variance Gaussian's
    mean (−log Q = ½‖c − μ‖²); (B, 2K) is [μ, log σ] of a factored Gaussian
    (−log Q = Σ log σ + ½((c − μ)/σ)², log σ clipped to [−4, 2] so Q cannot collapse)."""
    k = np.shape(cont)[-1] if np.ndim(cont) == 2 else -1
    if np.ndim(cont) != 2 or means.shape not in ((len(cont), k), (len(cont), 2 * k)):
        raise ShapeError(f"info_loss: continuous outputs {means.shape} must be (B, K) or "
                         f"(B, 2K) for codes (B, K), got codes {tuple(np.shape(cont))}")
    cont = cont if isinstance(cont, Tensor) else tensor(cont)
    if means.shape[1] == k:
        diff = means - cont
        nll = 0.5 * ops.sum(diff * diff, axis=1)
    else:
        log_std = ops.clip(means[:, k:], -4.0, 2.0)
        scaled = (cont - means[:, :k]) * ops.exp(-log_std)
        nll = ops.sum(log_std + 0.5 * scaled * scaled, axis=1)
    return cat_weight * F.cross_entropy(logits, cat) + weight * ops.mean(nll)


def majority_accuracy(clusters: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Clustering accuracy with each cluster mapped to its most frequent label (several
    clusters may map to one label): Σ_clusters max_label count / N."""
    clusters, labels = np.asarray(clusters), np.asarray(labels)
    if clusters.shape != labels.shape or clusters.ndim != 1 or not len(clusters):
        raise ShapeError(f"majority_accuracy: clusters {clusters.shape} and labels "
                         f"{labels.shape} must be the same non-empty 1-d shape")
    table = np.zeros((k, int(labels.max()) + 1), int)
    np.add.at(table, (clusters, labels), 1)
    return float(table.max(axis=1).sum() / len(labels))


def train_infogan(generator: Generator, critic: InfoCritic, real: np.ndarray, steps: int, *,
                  noise: int, categories: int = 10, continuous: int = 2, weight: float = 1.0,
                  cat_weight: float = 1.0, batch: int = 64, lr: float = 2e-4,
                  lr_g: float | None = None, lr_q: float | None = None,
                  betas: tuple[float, float] = (0.5, 0.999), balanced: bool = False,
                  seed: int = 0, device: str = "cpu", log_every: int = 0, on_log=None) -> dict:
    """Rounds of one D+Q step (SGAN critic loss + info loss on detached fakes) and one G+Q
    step (non-saturating SGAN loss + info loss through G), Adam for both players (Q's head
    trains with D's optimiser, G's step also moves the shared body's Q only through G).
    ``lr_q``: Q's head (not the shared body) gets its own Adam at this rate, stepped with D's
    (default: it is part of D's optimiser at ``lr``). ``balanced``: every batch holds each
    categorical code equally often (:func:`info_latent`).
    Returns {"d_loss", "g_loss", "info_loss" (per round), "seconds"}."""
    rng = np.random.default_rng(seed)
    q_params = critic.q_head.parameters() if lr_q is not None else []
    own = {id(p) for p in q_params}
    opt_d = Adam([p for p in critic.parameters() if id(p) not in own], lr=lr, betas=betas)
    opt_q = Adam(q_params, lr=lr_q, betas=betas) if q_params else None
    opt_g = Adam(generator.parameters(), lr=lr if lr_g is None else lr_g, betas=betas)
    history = {"d_loss": [], "g_loss": [], "info_loss": []}

    def codes():
        latent, cat, cont = info_latent(rng, batch, noise, categories, continuous,
                                       balanced=balanced)
        return (tensor(latent, device=device), tensor(cat, device=device),
                tensor(cont, device=device))

    generator.train(), critic.train()
    started = time.perf_counter()
    for step in range(1, steps + 1):
        x_r = tensor(real[rng.integers(0, len(real), batch)], device=device)
        latent, cat, cont = codes()
        with no_grad():
            x_f = generator(latent)
        d_real, _, _ = critic(x_r)
        d_fake, logits, means = critic(x_f)
        info = info_loss(logits, means, cat, cont, weight, cat_weight)
        loss = sgan_d_loss(d_real, d_fake) + info
        opt_d.zero_grad()
        if opt_q is not None:
            opt_q.zero_grad()
        loss.backward()
        opt_d.step()
        if opt_q is not None:
            opt_q.step()
        history["d_loss"].append(float(loss) - float(info))
        latent, cat, cont = codes()
        d_fake, logits, means = critic(generator(latent))
        info = info_loss(logits, means, cat, cont, weight, cat_weight)
        loss = sgan_g_loss(d_fake) + info
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        history["g_loss"].append(float(loss) - float(info))
        history["info_loss"].append(float(info))
        if log_every and step % log_every == 0:
            print(f"  round {step:>5}/{steps}: D {history['d_loss'][-1]:+.3f}, G "
                  f"{history['g_loss'][-1]:+.3f}, info {history['info_loss'][-1]:.3f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
            if on_log is not None:
                on_log(step)
    history["seconds"] = time.perf_counter() - started
    return history


def q_codes(critic: InfoCritic, images: np.ndarray, device: str = "cpu",
            batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Q's categorical argmax (N,) and continuous means (N, continuous) for images, eval
    mode (the critic's mode is restored)."""
    was = critic.training
    critic.eval()
    cats, means = [], []
    with no_grad():
        for i in range(0, len(images), batch):
            _, logits, mu = critic(tensor(images[i:i + batch], device=device))
            cats.append(logits.numpy().argmax(axis=1))
            means.append(mu.numpy()[:, :critic.continuous])
    critic.train(was)
    return np.concatenate(cats), np.concatenate(means)


def shape_moments(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Width and slant of each image (N, 1, H, W) from its ink's moments (ink = value minus
    the image's darkest value, any range): width = the horizontal standard deviation in
    pixels; slant = −cov(x, y)/var(y), the columns moved right per row up (a digit leaning
    forward, like "/", has slant > 0)."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or images.shape[1] != 1:
        raise ShapeError(f"shape_moments: images must be (N, 1, H, W), got {images.shape}")
    ink = images[:, 0] - images[:, 0].min(axis=(1, 2), keepdims=True)
    ink = ink / np.maximum(ink.sum(axis=(1, 2), keepdims=True), 1e-300)
    ys, xs = np.mgrid[0:images.shape[2], 0:images.shape[3]]
    dx = xs - (ink * xs).sum(axis=(1, 2))[:, None, None]
    dy = ys - (ink * ys).sum(axis=(1, 2))[:, None, None]
    var_x, var_y = (ink * dx**2).sum(axis=(1, 2)), (ink * dy**2).sum(axis=(1, 2))
    return np.sqrt(var_x), -(ink * dx * dy).sum(axis=(1, 2)) / np.maximum(var_y, 1e-300)


def sweep_consistency(generator: Generator, code: int, *, noise: int, categories: int,
                      continuous: int, rng: np.random.Generator, draws: int = 100,
                      values: Sequence[float] = (-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1),
                      device: str = "cpu") -> dict[str, float]:
    """How consistently continuous code ``code`` moves the drawn digit's width and slant:
    for ``draws`` random latents (z, c_cat, the other codes) the code is swept over
    ``values`` and each measure's Spearman rank correlation with the code is taken; returned
    is its mean over the draws per measure. ±1: every draw moves that way, monotonically;
    near 0: the code has no consistent meaning (an untrained generator: each draw has its
    own direction)."""
    if not 0 <= code < continuous:
        raise ShapeError(f"sweep_consistency: code {code} must be in [0, {continuous})")
    values = np.asarray(values, dtype=np.float32)
    lat, _, _ = info_latent(rng, draws, noise, categories, continuous)
    lat = np.repeat(lat, len(values), axis=0)
    lat[:, noise + categories + code] = np.tile(values, draws)
    out = {}
    for name, measure in zip(("width", "slant"), shape_moments(sample(generator, lat, device))):
        ranks = measure.reshape(draws, len(values)).argsort(axis=1).argsort(axis=1)
        ranks = ranks - ranks.mean(axis=1, keepdims=True)
        steps = np.arange(len(values)) - (len(values) - 1) / 2
        rho = (ranks * steps).sum(axis=1) / np.sqrt((ranks**2).sum(axis=1) * (steps**2).sum())
        out[name] = float(rho.mean())
    return out
