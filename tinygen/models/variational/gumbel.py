r"""A VAE with categorical latents, and three ways to get gradients through a discrete sample
(the reparameterisation post; Jang, Gu & Poole 2017; Maddison, Mnih & Teh 2017).

**The model.** N independent K-way latents: the encoder gives logits ℓ (B, N, K), q(z_n | x)
= softmax(ℓ_n); the prior is uniform; the decoder reads the N one-hots (flattened) and gives
Bernoulli logits for the pixels. The ELBO per image is

    E_q log p(x | z) − Σ_n KL(q(z_n | x) ‖ uniform),   KL = Σ_k q_k log q_k + log K,

with the KL in closed form (:func:`tinygen.functional.kl_to_uniform`). Only the first term
needs a gradient estimator:

* ``"gumbel"``: z = softmax((ℓ + g)/τ), g Gumbel noise — a relaxed, differentiable sample
  (the decoder sees soft vectors while training);
* ``"st"``: straight-through Gumbel-softmax, the exact one-hot forward with the relaxed
  sample's gradient (:func:`tinygen.functional.gumbel_softmax` with ``hard=True``);
* ``"reinforce"``: the score function, an exact one-hot sample z and the surrogate
  (f(z) − b)·log q(z | x) with f = −log p(x | z) held constant and b a running mean of f —
  unbiased, but its variance is the price.

:meth:`CategoricalVAE.neg_elbo` evaluates the true (discrete) −ELBO with one-hot samples,
whatever estimator trained the model. :func:`fit_categorical_vae` is one of lesson 20's
trainings, start to finish, plain values in and out (a job for
:func:`tinygen.parallel.map_jobs`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ... import distributions as D
from ... import functional as F
from ... import nn, ops
from ...autograd import Tensor, as_tensor, no_grad
from ...errors import ArgumentError
from ...random import Generator, default_generator, manual_seed
from .vae import mlp

__all__ = ["ESTIMATORS", "CategoricalVAE", "fit_categorical_vae", "gradient_variance",
           "tau_schedule"]

ESTIMATORS = ("gumbel", "st", "reinforce")


class CategoricalVAE(nn.Module):
    """Encoder pixels → ``hidden`` (ReLU) → N·K logits; decoder N·K → reversed ``hidden``
    (ReLU) → pixel logits; see the module docstring."""

    def __init__(self, pixels: int, latents: int = 32, classes: int = 10,
                 hidden: Sequence[int] = (512, 256)):
        super().__init__()
        self.latents, self.classes = latents, classes
        self.encoder = mlp([pixels, *hidden, latents * classes])
        self.decoder = mlp([latents * classes, *reversed(hidden), pixels])

    def logits(self, x) -> Tensor:
        """Encoder logits (B, N, K)."""
        return ops.reshape(self.encoder(as_tensor(x)), (-1, self.latents, self.classes))

    def _one_hot(self, logits: Tensor, gen: Generator) -> Tensor:
        labels = gen.categorical(logits.data).data
        return Tensor(logits.xp.eye(self.classes, dtype=logits.dtype)[labels])

    def loss(self, x, estimator: str, tau: float = 1.0, generator: Generator | None = None,
             baseline: float = 0.0) -> tuple[Tensor, np.ndarray]:
        """(a scalar whose gradient is the chosen estimator's gradient of the mean −ELBO,
        the per-image −ELBO of the sample as an array). ``baseline`` is b for REINFORCE."""
        if estimator not in ESTIMATORS:
            raise ArgumentError(f"CategoricalVAE.loss: estimator must be one of {ESTIMATORS}, "
                                f"got {estimator!r}")
        x = as_tensor(x)
        gen = generator or default_generator(x.device)
        logits = self.logits(x)
        kl = ops.sum(F.kl_to_uniform(logits), axis=1)
        if estimator == "reinforce":
            z = self._one_hot(logits, gen)
        else:
            z = F.gumbel_softmax(logits, tau, hard=estimator == "st", generator=gen)
        flat = ops.reshape(z, (-1, self.latents * self.classes))
        nll = -D.bernoulli_log_prob(x, self.decoder(flat))          # f(z), per image
        loss = ops.mean(nll + kl)
        if estimator == "reinforce":
            log_q = ops.sum(D.categorical_log_prob(z, logits), axis=1)
            weight = Tensor(nll.data - baseline)
            loss = loss + ops.mean(weight * log_q)
        return loss, (nll + kl).numpy()

    def neg_elbo(self, x, generator: Generator | None = None, draws: int = 1) -> np.ndarray:
        """The discrete model's −ELBO per image, with one-hot samples (``draws`` averaged)."""
        x = as_tensor(x)
        gen = generator or default_generator(x.device)
        out = []
        with no_grad():
            logits = self.logits(x)
            kl = ops.sum(F.kl_to_uniform(logits), axis=1).numpy()
            for _ in range(draws):
                flat = ops.reshape(self._one_hot(logits, gen),
                                   (-1, self.latents * self.classes))
                out.append(-D.bernoulli_log_prob(x, self.decoder(flat)).numpy() + kl)
        return np.mean(out, axis=0)


def gradient_variance(model: CategoricalVAE, x, estimator: str, params: Sequence[Tensor],
                      repeats: int = 20, tau: float = 1.0, seed: int = 0,
                      baseline: float = 0.0) -> float:
    """The estimator's gradient noise on one batch: the variance across ``repeats`` noise
    draws of each entry of the gradient of ``params``, averaged over the entries."""
    from ...autograd import grad

    x = as_tensor(x)
    draws = []
    for r in range(repeats):
        loss, _ = model.loss(x, estimator, tau, Generator(seed + r, x.device), baseline)
        g = grad(loss, list(params))
        draws.append(np.concatenate([np.asarray(gi.numpy()).ravel() for gi in g]))
    return float(np.stack(draws).var(axis=0, ddof=1).mean())


def tau_schedule(step: int, rate: float = 3e-4, every: int = 500, floor: float = 0.5) -> float:
    """Jang et al.'s annealed temperature τ = max(floor, e^{−rate·t}), with t the step rounded
    down to a multiple of ``every`` (τ changes every ``every`` steps)."""
    return D.anneal_jang(step // every * every, rate=rate, floor=floor)


def fit_categorical_vae(images: np.ndarray, test_images: np.ndarray, probe: np.ndarray,
                        latents: int, estimator: str, steps: int,
                        checkpoints: Sequence[int], classes: int = 10,
                        hidden: Sequence[int] = (512, 256), seed: int = 0, batch: int = 100,
                        lr: float = 1e-3, rate: float = 3e-4, every: int = 500,
                        floor: float = 0.5, variance_at: Sequence[int] = (),
                        repeats: int = 20, device: str = "cpu") -> dict:
    """One training of lesson 20, plain values in and out (a job for
    :func:`tinygen.parallel.map_jobs`; fully determined by its arguments, so the same in a
    worker process as here). The model ``CategoricalVAE(pixels, latents, classes, hidden)``
    is built right after ``manual_seed(seed)`` (every estimator of a shape starts from the
    same weights), then ``steps`` Adam steps on batches of ``batch`` rows of ``images``
    (N, pixels) drawn with replacement and re-binarised (both from NumPy's generator
    ``seed + 1``), the estimator's noise from ``Generator(seed + 2)``, τ =
    :func:`tau_schedule` and, for REINFORCE, the baseline b a running mean (0.9) of the
    batches' −ELBO.

    Measured on the model *at that step*, before the step's update: at each step of
    ``checkpoints`` the discrete −ELBO of the binary ``test_images`` (one-hot samples from
    ``Generator(seed + 9)``); at each step of ``variance_at`` (``steps`` included: the
    trained model), on the binary batch ``probe``, :func:`gradient_variance` of the
    encoder's weights for each of the three estimators (``repeats`` draws from ``seed +
    100``, τ of that step, b = the −ELBO of ``probe`` with noise ``Generator(1)``).

    Returns ``curve`` (step → test −ELBO), ``train`` (every step's batch −ELBO, an array),
    ``variance`` (step → {estimator: variance}), ``state`` (the trained weights as arrays, for
    ``load_state_dict``), ``seconds`` (wall) and ``cpu_seconds`` (this process's CPU time)."""
    from ...creation import tensor
    from ...optim import Adam

    if estimator not in ESTIMATORS:
        raise ArgumentError(f"fit_categorical_vae: estimator must be one of {ESTIMATORS}, "
                            f"got {estimator!r}")
    t0, c0 = time.perf_counter(), time.process_time()
    images = np.asarray(images).reshape(len(images), -1)
    test, probe = tensor(test_images, device=device), tensor(probe, device=device)
    manual_seed(seed)
    model = CategoricalVAE(images.shape[1], latents, classes, hidden).to(device)
    encoder = [p for n, p in model.named_parameters() if n.startswith("encoder")]
    opt = Adam(model.parameters(), lr=lr)
    batches = np.random.default_rng(seed + 1)
    gen = Generator(seed + 2, device)
    baseline, curve, variance, losses = None, {}, {}, []
    for step in range(steps + 1):
        if step in checkpoints:
            curve[step] = float(model.neg_elbo(test, Generator(seed + 9, device)).mean())
        if step in variance_at:
            with no_grad():
                b = float(model.neg_elbo(probe, Generator(1, device)).mean())
            tau = tau_schedule(step, rate, every, floor)
            variance[step] = {e: gradient_variance(model, probe, e, encoder, repeats, tau,
                                                   seed=seed + 100, baseline=b)
                              for e in ESTIMATORS}
        if step == steps:
            break
        xb = images[batches.integers(0, len(images), batch)]
        xb = tensor((batches.random(xb.shape) < xb).astype(np.float32), device=device)
        loss, per_image = model.loss(xb, estimator, tau_schedule(step, rate, every, floor),
                                     gen, baseline=baseline if baseline is not None else 0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        f = float(per_image.mean())
        baseline = f if baseline is None else 0.9 * baseline + 0.1 * f
        losses.append(f)
    return {"curve": curve, "train": np.asarray(losses), "variance": variance,
            "state": {name: t.numpy() for name, t in model.state_dict().items()},
            "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}
