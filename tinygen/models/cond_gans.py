"""Conditional image GANs (the GAN survey post's CGAN): the label y goes into both players.

* :class:`ConditionalGenerator`: z and a learned label embedding e(y) are concatenated and fed
  to the DCGAN-style :class:`~tinygen.models.image_gans.Generator` body, so G(z, y) draws a
  digit of class y.
* :class:`ProjectionCritic`: the conv critic's features φ(x) give the score
  D(x, y) = w·φ(x) + b + ⟨e(y), φ(x)⟩ (the projection discriminator of Miyato & Koyama 2018):
  the label enters as an inner product with the features, not as extra input channels.
* :func:`train_conditional_gan`: alternating steps like ``image_gans.train_gan``; each fake
  batch asks for the labels of the real batch it is compared with.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from .. import nn, ops
from ..autograd import Tensor, no_grad
from ..creation import tensor
from ..errors import IndexOutOfRange, ShapeError
from ..optim import Adam
from ..random import manual_seed
from . import gan
from .image_gans import Generator, make_critic, numpy_state

__all__ = ["ConditionalGenerator", "ProjectionCritic", "sample_conditional",
           "train_conditional_gan"]


def _labels(name: str, y, batch: int, classes: int):
    y = y if isinstance(y, Tensor) else tensor(np.asarray(y, dtype=np.int64))
    if y.shape != (batch,):
        raise ShapeError(f"{name}: labels must have shape ({batch},) for a batch of {batch}, "
                         f"got {y.shape}")
    values = y.numpy()
    if values.size and (values.min() < 0 or values.max() >= classes):
        raise IndexOutOfRange(f"{name}: labels must lie in [0, {classes}), got "
                         f"{values.min()}..{values.max()}")
    return y


class ConditionalGenerator(Generator):
    """G(z, y): [z, e(y)] (B, z_dim + embed) → images (B, 1, size, size), e a learned
    Embedding(classes, embed); otherwise :class:`~tinygen.models.image_gans.Generator`."""

    def __init__(self, z_dim: int, size: int, classes: int = 10, embed: int = 16,
                 channels: Sequence[int] = (64, 32)):
        super().__init__(z_dim + embed, size, channels)
        self.z_dim, self.classes = z_dim, classes  # callers draw z of z_dim
        self.embed = nn.Embedding(classes, embed)

    def forward(self, z, y) -> Tensor:
        y = _labels("ConditionalGenerator", y, z.shape[0], self.classes)
        return super().forward(ops.concat([z, self.embed(y).to(z.device)], axis=1))


class ProjectionCritic(nn.Module):
    """D(x, y) = w·φ(x) + b + ⟨e(y), φ(x)⟩ with φ the body of :func:`make_critic` (strided
    convs, LeakyReLU, optional BatchNorm after the first) up to its Flatten, e an
    Embedding(classes, |φ|) initialised at zero (so D starts unconditional)."""

    def __init__(self, size: int, classes: int = 10, channels: Sequence[int] = (32, 64),
                 batchnorm: bool = False):
        super().__init__()
        full = list(make_critic(size, channels, batchnorm=batchnorm))
        self.body, self.head, self.classes = nn.Sequential(*full[:-1]), full[-1], classes
        self.embed = nn.Embedding(classes, self.head.in_features)
        self.embed.weight.data[...] = 0

    def forward(self, x, y) -> Tensor:
        y = _labels("ProjectionCritic", y, x.shape[0], self.classes)
        phi = self.body(x)
        return self.head(phi) + ops.sum(self.embed(y) * phi, axis=1, keepdims=True)


def sample_conditional(generator: ConditionalGenerator, z: np.ndarray, y: np.ndarray,
                       device: str = "cpu", batch: int = 500) -> np.ndarray:
    """Images G(z, y) (B, 1, s, s) as NumPy, BatchNorm in eval mode, the mode restored."""
    was = generator.training
    generator.eval()
    with no_grad():
        out = np.concatenate([generator(tensor(z[i:i + batch], device=device),
                                        tensor(y[i:i + batch], device=device)).numpy()
                              for i in range(0, len(z), batch)])
    generator.train(was)
    return out


def train_conditional_gan(generator: ConditionalGenerator, critic: ProjectionCritic,
                          real: np.ndarray, labels: np.ndarray, d_loss: Callable,
                          g_loss: Callable, steps: int, *, batch: int = 64, lr: float = 2e-4,
                          betas: tuple[float, float] = (0.5, 0.999), seed: int = 0,
                          device: str = "cpu", log_every: int = 0) -> dict:
    """``steps`` rounds of one critic and one generator step (Adam for both). Each step draws
    a real batch (x_r, y) and fakes G(z, y) with the same labels; ``d_loss(D(x_r, y),
    D(x_f, y))`` and ``g_loss(D(x_f, y))`` get the scores. Returns {"d_loss", "g_loss" (one
    value per round), "seconds"}."""
    rng = np.random.default_rng(seed)

    def draw() -> tuple[Tensor, Tensor, tuple[Tensor, Tensor]]:
        idx = rng.integers(0, len(real), batch)
        z = tensor(rng.standard_normal((batch, generator.z_dim)).astype(np.float32),
                   device=device)
        y = tensor(labels[idx], device=device)
        return tensor(real[idx], device=device), y, (z, y)

    return gan_rounds(generator, critic, draw, critic, d_loss, g_loss, steps, lr=lr,
                      betas=betas, log_every=log_every)


def fit_conditional_gan(generator: dict, critic: dict, real: np.ndarray, labels: np.ndarray,
                        steps: int, *, seed: int = 0, device: str = "cpu", **train) -> dict:
    """:func:`train_conditional_gan` with the non-saturating losses as a job for
    :func:`tinygen.parallel.run_jobs`: seeds the engine with ``seed``, builds
    ``ConditionalGenerator(**generator)`` then ``ProjectionCritic(**critic)``, trains them
    (other settings as :func:`train_conditional_gan`'s) and returns the history plus
    ``"state"``: (generator state, critic state) as NumPy arrays after the last round, which
    :func:`conditional_players` loads into fresh players."""
    manual_seed(seed)
    g = ConditionalGenerator(**generator).to(device)
    d = ProjectionCritic(**critic).to(device)
    history = train_conditional_gan(g, d, real, labels, gan.sgan_d_loss, gan.sgan_g_loss,
                                    steps, seed=seed, device=device, **train)
    history["state"] = (numpy_state(g), numpy_state(d))
    return history


def conditional_players(run: dict, generator: dict, critic: dict, device: str = "cpu"
                        ) -> tuple[ConditionalGenerator, ProjectionCritic]:
    """The trained players of a :func:`fit_conditional_gan` run, rebuilt and loaded."""
    g, d = ConditionalGenerator(**generator).to(device), ProjectionCritic(**critic).to(device)
    for module, state in zip((g, d), run["state"]):
        module.load_state_dict(state)
    return g, d


def gan_rounds(generator: nn.Module, critic: nn.Module, draw: Callable, score: Callable,
               d_loss: Callable, g_loss: Callable, steps: int, *, lr: float = 2e-4,
               betas: tuple[float, float] = (0.5, 0.999), penalty: Callable | None = None,
               log_every: int = 0) -> dict:
    """``steps`` rounds of one critic and one generator step (Adam for both), shared by the
    conditional trainers: ``draw()`` gives (real batch x_r, its condition c, G's inputs),
    fakes are G(*inputs), ``score(x, c)`` the critic's scores, ``d_loss(score(x_r, c),
    score(x_f, c))`` and ``g_loss(score(x_f, c))`` the losses (a fresh draw for G's step);
    ``penalty(x_r, c)``, if given, is added to the critic's loss. Returns {"d_loss", "g_loss"
    (one value per round), "seconds"}."""
    opt_d = Adam(critic.parameters(), lr=lr, betas=betas)
    opt_g = Adam(generator.parameters(), lr=lr, betas=betas)
    history = {"d_loss": [], "g_loss": []}
    generator.train(), critic.train()
    started = time.perf_counter()
    for step in range(1, steps + 1):
        x_r, c, inputs = draw()
        with no_grad():
            x_f = generator(*inputs)
        loss = d_loss(score(x_r, c), score(x_f, c))
        if penalty is not None:
            loss = loss + penalty(x_r, c)
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        history["d_loss"].append(float(loss))
        _, c, inputs = draw()
        loss = g_loss(score(generator(*inputs), c))
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        history["g_loss"].append(float(loss))
        if log_every and step % log_every == 0:
            print(f"  round {step:>5}/{steps}: critic loss {history['d_loss'][-1]:+.4f}, "
                  f"generator loss {history['g_loss'][-1]:+.4f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    history["seconds"] = time.perf_counter() - started
    return history
