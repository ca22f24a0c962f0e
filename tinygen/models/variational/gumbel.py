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
whatever estimator trained the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ... import distributions as D
from ... import functional as F
from ... import nn, ops
from ...autograd import Tensor, as_tensor, no_grad
from ...errors import ArgumentError
from ...random import Generator, default_generator
from .vae import mlp

__all__ = ["ESTIMATORS", "CategoricalVAE", "gradient_variance"]

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
