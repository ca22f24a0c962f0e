"""BiGAN-QP (Su, the "BiGAN-QP" post): a generator G: z → x and an encoder E: x → z trained
together against one critic on pairs, with the GAN-QP quadratic potential instead of a
Lipschitz constraint, plus reconstruction terms that go through stop-gradients.

With real pairs (x_r, E(x_r)) and fake pairs (G(z), z), ΔT = T(x_r, E(x_r)) − T(G(z), z) and
d = L1(x_r, G(z)) + L1(E(x_r), z) (per-sample means of absolute differences):

    critic:  E[−ΔT + ΔT² / (2λ·d)],  λ = 10     (the post: 0.5·ΔT²/(10·d))
    G and E: E[ΔT] + 2·E(z − E(sg G(z)))² + 3·E(x_r − G(sg E(x_r)))²

sg = stop-gradient: the z-reconstruction trains only E (G's output is a constant to it), the
x-reconstruction only G, so each network gets a direct target without the two colluding.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from .. import nn, ops
from ..autograd import Tensor, no_grad
from ..creation import tensor
from ..errors import ShapeError
from ..optim import Adam
from .image_gans import Generator, make_critic

__all__ = ["PairCritic", "bigan_qp_d_loss", "bigan_qp_g_loss", "make_encoder", "reconstruct",
           "train_autoencoder", "train_bigan_qp"]


def make_encoder(size: int, z_dim: int, channels: Sequence[int] = (32, 64)) -> nn.Sequential:
    """E: images (B, 1, size, size) → codes (B, z_dim): the conv critic's body with BatchNorm
    (strided convs, LeakyReLU) and a Linear head of z_dim outputs."""
    layers = list(make_critic(size, channels, batchnorm=True))
    head = layers[-1]
    return nn.Sequential(*layers[:-1], nn.Linear(head.in_features, z_dim))


class PairCritic(nn.Module):
    """T(x, z): conv features of x (the no-bias critic body of :func:`make_critic`) and an
    MLP of z (z_dim → hidden, LeakyReLU), concatenated → LeakyReLU-free Linear → one score;
    no biases anywhere (GAN-QP's critic: a bias cancels in ΔT)."""

    def __init__(self, size: int, z_dim: int, channels: Sequence[int] = (32, 64),
                 hidden: int = 64):
        super().__init__()
        layers = list(make_critic(size, channels, bias=False))
        self.x_body, width = nn.Sequential(*layers[:-1]), layers[-1].in_features
        self.z_body = nn.Sequential(nn.Linear(z_dim, hidden, bias=False), nn.LeakyReLU(0.2))
        self.head = nn.Sequential(nn.Linear(width + hidden, hidden, bias=False),
                                  nn.LeakyReLU(0.2), nn.Linear(hidden, 1, bias=False))

    def forward(self, x, z) -> Tensor:
        return self.head(ops.concat([self.x_body(x), self.z_body(z)], axis=1))


def _l1(a, b) -> Tensor:
    diff = ops.abs(a - b)
    return ops.mean(ops.reshape(diff, (diff.shape[0], -1)), axis=1)


def bigan_qp_d_loss(t_real, t_fake, x_real, x_fake, z_real, z_fake,
                    lam: float = 10.0) -> Tensor:
    """E[−ΔT + ΔT²/(2λ·d)], ΔT = T_r − T_f, d = L1(x_r, x_f) + L1(z_r, z_f) per pair."""
    if t_real.shape != t_fake.shape or x_real.shape != x_fake.shape \
            or z_real.shape != z_fake.shape or t_real.shape[0] != x_real.shape[0]:
        raise ShapeError(f"bigan_qp_d_loss: scores {t_real.shape}/{t_fake.shape}, images "
                         f"{x_real.shape}/{x_fake.shape} and codes {z_real.shape}/"
                         f"{z_fake.shape} must pair up")
    delta = ops.reshape(t_real - t_fake, (-1,))
    d = _l1(x_real, x_fake) + _l1(z_real, z_fake)
    return ops.mean(-delta + delta * delta / (2.0 * lam * d))


def bigan_qp_g_loss(t_real, t_fake, z, z_rec, x, x_rec) -> Tensor:
    """E[T_r − T_f] + 2·E(z − z_rec)² + 3·E(x − x_rec)² (means over every element), with
    z_rec = E(sg G(z)) and x_rec = G(sg E(x)) computed by the caller."""
    return (ops.mean(t_real - t_fake) + 2.0 * ops.mean((z - z_rec) * (z - z_rec))
            + 3.0 * ops.mean((x - x_rec) * (x - x_rec)))


def reconstruct(encoder: nn.Module, generator: Generator, images: np.ndarray,
                device: str = "cpu", batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """(codes E(x), reconstructions G(E(x))) as NumPy, both networks in eval mode (their
    modes restored)."""
    was = encoder.training, generator.training
    encoder.eval(), generator.eval()
    codes, images_out = [], []
    with no_grad():
        for i in range(0, len(images), batch):
            z = encoder(tensor(images[i:i + batch], device=device))
            codes.append(z.numpy())
            images_out.append(generator(z).numpy())
    encoder.train(was[0]), generator.train(was[1])
    return np.concatenate(codes), np.concatenate(images_out)


def train_bigan_qp(generator: Generator, encoder: nn.Module, critic: PairCritic,
                   real: np.ndarray, steps: int, *, batch: int = 64, lr: float = 2e-4,
                   betas: tuple[float, float] = (0.5, 0.999), lam: float = 10.0,
                   seed: int = 0, device: str = "cpu", log_every: int = 0) -> dict:
    """Rounds of one critic step and one G+E step (one Adam over both), z ~ N(0, I).
    Returns {"d_loss", "g_loss" (per round), "seconds"}."""
    rng = np.random.default_rng(seed)
    opt_d = Adam(critic.parameters(), lr=lr, betas=betas)
    opt_g = Adam(generator.parameters() + encoder.parameters(), lr=lr, betas=betas)
    history = {"d_loss": [], "g_loss": []}

    def draw() -> tuple[Tensor, Tensor]:
        x = tensor(real[rng.integers(0, len(real), batch)], device=device)
        z = rng.standard_normal((batch, generator.z_dim)).astype(np.float32)
        return x, tensor(z, device=device)

    generator.train(), encoder.train(), critic.train()
    started = time.perf_counter()
    for step in range(1, steps + 1):
        x_r, z = draw()
        with no_grad():
            z_r, x_f = encoder(x_r), generator(z)
        loss = bigan_qp_d_loss(critic(x_r, z_r), critic(x_f, z), x_r, x_f, z_r, z, lam)
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        history["d_loss"].append(float(loss))
        x_r, z = draw()
        z_r, x_f = encoder(x_r), generator(z)
        z_rec = encoder(x_f.detach())          # E(sg G(z)): trains E only
        x_rec = generator(z_r.detach())        # G(sg E(x)): trains G only
        loss = bigan_qp_g_loss(critic(x_r, z_r), critic(x_f, z), z, z_rec, x_r, x_rec)
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        history["g_loss"].append(float(loss))
        if log_every and step % log_every == 0:
            print(f"  round {step:>5}/{steps}: critic {history['d_loss'][-1]:+.3f}, G/E "
                  f"{history['g_loss'][-1]:+.3f} ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    history["seconds"] = time.perf_counter() - started
    return history


def train_autoencoder(generator: Generator, encoder: nn.Module, real: np.ndarray, steps: int,
                      *, batch: int = 64, lr: float = 2e-4, seed: int = 0,
                      device: str = "cpu") -> list[float]:
    """The baseline: the same E and G as a plain autoencoder, E(x) → G → x with mean squared
    error, ``steps`` Adam steps; returns the losses."""
    rng = np.random.default_rng(seed)
    opt = Adam(generator.parameters() + encoder.parameters(), lr=lr, betas=(0.5, 0.999))
    generator.train(), encoder.train()
    losses = []
    for _ in range(steps):
        x = tensor(real[rng.integers(0, len(real), batch)], device=device)
        diff = generator(encoder(x)) - x
        loss = ops.mean(diff * diff)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return losses
