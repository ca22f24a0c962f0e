r"""GRAN (Im, Kim, Jiang & Memisevic 2016, "Generating images with recurrent adversarial
networks"), from the GAN survey post: a generator that draws on a canvas over T steps instead
of in one shot.

As in the paper, the recurrence runs through the drawing itself: at step t an encoder g reads
the previous step's drawing ΔC_{t−1} (ΔC₀ = 0), a decoder f turns that code and the projected
noise h_z into the next drawing, and the sample is the squashed sum of the drawings:

    h_z = tanh(W z + b),   h_{c,t} = g(ΔC_{t−1}),   ΔC_t = f([h_z, h_{c,t}]),
    x = tanh(w · Σ_t ΔC_t)

with the same z at every step, g a linear code with tanh and f a DCGAN decoder
(:class:`~tinygen.models.image_gans.Generator` without its tanh); all steps share g and f, so
the number of steps adds no parameters. With T = 1 it is the one-shot DCGAN generator
f([tanh(Wz + b), g(0)]). The forward pass returns images in [−1, 1] (B, 1, size, size), so the
image-GAN critics and :func:`~tinygen.models.image_gans.train_gan` apply unchanged.

:func:`fit_gran` trains one such model start to finish with plain values in and out, so that
a lesson can run several in worker processes (:func:`tinygen.parallel.map_jobs`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from .. import nn, ops
from ..autograd import Tensor, no_grad
from ..creation import tensor, zeros
from ..errors import ShapeError
from ..optim import EMA
from ..random import manual_seed
from .gan import gradient_penalty, sgan_d_loss, sgan_g_loss
from .image_gans import Generator, digit_data, digit_feature_net, make_critic, train_gan

__all__ = ["GRAN", "fit_gran"]


class GRAN(nn.Module):
    """Recurrent generator: z (B, ``z_dim``) → images (B, 1, ``size``, ``size``) in [−1, 1]
    drawn over ``steps`` steps; the noise projection h_z has ``hidden`` units, the drawing's
    code h_c ``code`` units, and the decoder is :class:`~tinygen.models.image_gans.Generator`
    with ``channels`` and ``batchnorm`` (its final tanh is applied to the summed canvas
    instead).

    ``write`` (w) scales the summed canvas, x = tanh(w·Σ ΔC_t): the untrained decoder's
    drawings are correlated across steps, so the sum's spread grows about T-fold (toward
    tanh's flat tails); w = 1/T keeps the untrained canvas at the one-shot generator's
    scale."""

    def __init__(self, z_dim: int, size: int, steps: int = 3, hidden: int = 64,
                 code: int = 32, channels: Sequence[int] = (32, 16), write: float = 1.0,
                 batchnorm: bool = False):
        super().__init__()
        if steps < 1:
            raise ShapeError(f"GRAN: steps must be at least 1, got {steps}")
        self.z_dim, self.size, self.steps, self.write = z_dim, size, steps, write
        self.noise = nn.Linear(z_dim, hidden)
        self.encode = nn.Linear(size * size, code)
        self.decoder = Generator(hidden + code, size, channels, batchnorm=batchnorm)

    def drawings(self, z: Tensor) -> list[Tensor]:
        """The drawings ΔC_t ((B, 1, size, size), unscaled logits) of the steps t = 1 … T."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ShapeError(f"GRAN: z must be (B, {self.z_dim}), got {z.shape}")
        b, dec = z.shape[0], self.decoder
        h_z = ops.tanh(self.noise(z))
        drawing = zeros(b, self.size * self.size, dtype=z.dtype, device=z.device)
        out = []
        for _ in range(self.steps):
            h_c = ops.tanh(self.encode(drawing))
            h = ops.reshape(dec.project(ops.concat([h_z, h_c], axis=1)),
                            (-1, dec.channels[0], dec.base, dec.base))
            out.append(dec.body(h))
            drawing = out[-1].reshape(b, -1)
        return out

    def canvases(self, z: Tensor) -> list[Tensor]:
        """The canvas C_t = w·(ΔC_1 + … + ΔC_t) (logits) after each step t = 1 … T."""
        out, canvas = [], None
        for drawing in self.drawings(z):
            canvas = drawing if canvas is None else canvas + drawing
            out.append(canvas if self.write == 1.0 else canvas * self.write)
        return out

    def forward(self, z: Tensor) -> Tensor:
        return ops.tanh(self.canvases(z)[-1])


def fit_gran(quick: bool, model: dict, train: dict, seed: int = 0, n_eval: int = 1000,
             checkpoints: Sequence[int] = (), fixed: int = 12, name: str = "") -> dict:
    """One GRAN of lesson 27, start to finish, with only plain values in and out (so that it
    can run in a worker process): the digits of :func:`digit_data` (``quick``: 8×8, else
    MNIST-5k at 14×14); ``GRAN(z_dim, side, **model)`` and the critic
    ``make_critic(side, train["critic"], spectral=train["spectral"])`` built after
    ``manual_seed(seed)`` (so models that differ only in ``steps`` start from the same
    weights); :func:`train_gan` for ``train["rounds"]`` rounds of ``train["d_steps"]`` critic
    and ``train["g_steps"]`` generator steps on batches of ``train["batch"]`` (drawn from
    ``seed``), Adam(``train["lr"]``, β = (0.5, 0.999)), the non-saturating loss and, if
    ``train["gamma"]`` > 0, the zero-centred penalty γ/2·E‖∇D(x_real)‖² on the critic.
    An exponential moving average of the generator's weights (α = ``train["ema"]``,
    :class:`~tinygen.optim.EMA`, updated after every round) is the generator that is scored:
    a GAN's last iterate wanders from round to round, the average much less.

    The samples are scored by the Fréchet digit distance (FDD, :func:`digit_feature_net`'s
    features against the real training digits) of ``n_eval`` samples from latents drawn
    from ``seed + 1``, before and after training and after each round in ``checkpoints``.
    Returns ``quality`` and ``untrained`` ({"fdd", "score", "coverage"}), ``step_fdd`` (the
    FDD of tanh C_t after each step t), ``track`` ([round, FDD] pairs), all of the averaged
    generator; ``last_fdd`` (the last iterate's FDD, for comparison); ``d_loss`` and
    ``g_loss`` (per round), ``fixed`` (tanh C_t of the first ``fixed`` latents, one array per
    step), ``params`` and ``cpu_seconds`` (this process's CPU time for the job)."""
    t0 = time.process_time()
    real, _, _, _, size = digit_data(quick)
    net = digit_feature_net("digits" if quick else "mnist")
    manual_seed(seed)
    generator = GRAN(train["z_dim"], size, **model)
    critic = make_critic(size, train["critic"], spectral=train.get("spectral", False))
    z_eval = np.random.default_rng(seed + 1).standard_normal(
        (n_eval, train["z_dim"])).astype(np.float32)

    def draw(z: np.ndarray) -> list[np.ndarray]:
        with no_grad():
            return [ops.tanh(c).numpy() for c in generator.canvases(tensor(z))]

    def quality(images: np.ndarray) -> dict:
        s = net.score(images)
        return {"fdd": net.frechet(images, real), "score": s["score"],
                "coverage": s["coverage"]}

    untrained = quality(draw(z_eval)[-1])
    track = []
    gamma = train.get("gamma", 0.0)
    ema = EMA(generator, alpha=train["ema"])

    def after_round(r: int) -> None:
        ema.update()
        if r in checkpoints:
            with ema.averaged():
                track.append([r, net.frechet(draw(z_eval[:300])[-1], real)])

    def d_loss(c, x_r, x_f):
        loss = sgan_d_loss(c(x_r), c(x_f))
        if gamma:
            loss = loss + (gamma / 2) * gradient_penalty(c, x_r, kind="zero_centred")
        return loss

    history = train_gan(generator, critic, real, d_loss,
                        lambda c, x_r, x_f: sgan_g_loss(c(x_f)), train["rounds"],
                        d_steps=train["d_steps"], g_steps=train["g_steps"],
                        batch=train["batch"], lr=train["lr"], betas=(0.5, 0.999),
                        checkpoints=range(1, train["rounds"] + 1), seed=seed,
                        on_checkpoint=after_round,
                        log_every=0 if quick else train["rounds"] // 4)
    last_fdd = net.frechet(draw(z_eval)[-1], real)
    with ema.averaged():
        canvases = draw(z_eval)
    result = {"quality": quality(canvases[-1]), "untrained": untrained, "last_fdd": last_fdd,
              "step_fdd": [net.frechet(c, real) for c in canvases], "track": track,
              "d_loss": np.asarray(history["d_loss"]), "g_loss": np.asarray(history["g_loss"]),
              "fixed": [c[:fixed] for c in canvases],
              "params": int(sum(p.size for p in generator.parameters())),
              "cpu_seconds": time.process_time() - t0}
    if name:
        print(f"  {name}: FDD {result['quality']['fdd']:.2f} (untrained {untrained['fdd']:.1f})"
              f", {result['cpu_seconds']:.0f} s CPU", flush=True)
    return result
