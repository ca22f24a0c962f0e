r"""The variational autoencoder: any encoder giving (μ, log σ²), any decoder with a
``log_prob``, a prior, the ELBO and the importance-sampled log-likelihood.

**The model.** p(x, z) = p(z)·p(x | z); q(z | x) = N(μ(x), diag σ²(x)) (Kingma & Welling 2014;
the VAE posts). The evidence lower bound, per example,

    ELBO(x) = E_{z ~ q} log p(x | z) − KL(q(z | x) ‖ p(z))  ≤  log p(x),

is estimated with one reparameterised z = μ + σ·ε. The KL is the closed form
½ Σ (σ² + μ² − 1 − log σ²) when the prior has one (:class:`StandardNormal`), else the
one-sample Monte Carlo log q(z | x) − log p(z) (a flow prior, as in f-VAE).

**The likelihood.** With k draws z_i ~ q(z | x) and log-weights
w_i = log p(x | z_i) + log p(z_i) − log q(z_i | x),

    log p̂_k(x) = log (1/k) Σ_i e^{w_i}

is a consistent estimate of log p(x) whose expectation rises with k from the ELBO (k = 1)
towards log p(x) (Burda, Grosse & Salakhutdinov 2016). :meth:`VAE.log_weights` draws them in
chunks of examples × samples so k = 5,000 fits in memory; :func:`importance_curve` turns one
set of k draws into the estimate for every smaller k.

**Training and yardsticks** shared by the VAE lessons: :func:`fit_vae` (Adam on −ELBO with
dynamic binarisation), :func:`binarize`, and :func:`factorised_bernoulli_log_likelihood`
(independent pixels, no latent: what a VAE must beat).

**The pieces.** :class:`GaussianEncoder` (a body network and two Linear heads),
:class:`BernoulliDecoder` (logits, for binarised images), :class:`GaussianDecoder` (a mean
with a fixed, a learned scalar or a per-output learned log-variance). A decoder is anything
with ``log_prob(x, z)`` and ``mean(z)``; a prior anything with ``log_prob(z)`` and
``sample(n)`` (and optionally a closed-form ``kl(mu, logvar)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ... import distributions as D
from ... import functional as F
from ... import nn, ops
from ...autograd import Tensor, as_tensor, no_grad
from ...errors import ShapeError
from ...ops import args as A
from ...random import Generator, default_generator

__all__ = ["BernoulliDecoder", "GaussianDecoder", "GaussianEncoder", "StandardNormal", "VAE",
           "binarize", "factorised_bernoulli_log_likelihood", "fit_vae", "importance_curve",
           "mlp"]


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU,
        final_activation: bool = False) -> nn.Sequential:
    """Linear layers of the given sizes, ``activation`` between them (and after the last
    when ``final_activation``): mlp([784, 256, 20]) = Linear, ReLU, Linear."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if final_activation or i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def _batched(net: nn.Module, z: Tensor, in_dims: int = 1) -> Tensor:
    """``net`` applied to z whose leading axes (e.g. samples × batch) are folded into one."""
    lead, tail = z.shape[:z.ndim - in_dims], z.shape[z.ndim - in_dims:]
    out = net(ops.reshape(z, (-1, *tail)))
    return ops.reshape(out, (*lead, *out.shape[1:]))


class GaussianEncoder(nn.Module):
    """q(z | x) = N(μ, diag e^{logvar}): ``body`` maps x to ``features`` numbers, two Linear
    heads map those to μ and log σ² (``latent_dim`` each)."""

    def __init__(self, body: nn.Module, features: int, latent_dim: int):
        super().__init__()
        self.body, self.latent_dim = body, latent_dim
        self.mu = nn.Linear(features, latent_dim)
        self.logvar = nn.Linear(features, latent_dim)

    def forward(self, x) -> tuple[Tensor, Tensor]:
        h = self.body(as_tensor(x))
        return self.mu(h), self.logvar(h)


class BernoulliDecoder(nn.Module):
    """p(x | z) = Π_d Bernoulli(x_d; σ(l_d(z))): ``net`` maps z to logits shaped like x
    (``event_dims`` trailing axes: 1 for flat vectors, 3 for (C, H, W) images)."""

    def __init__(self, net: nn.Module, event_dims: int = 1):
        super().__init__()
        self.net, self.event_dims = net, event_dims

    def forward(self, z) -> Tensor:
        return _batched(self.net, as_tensor(z))

    def log_prob(self, x, z) -> Tensor:
        """log p(x | z) for every leading index of z (z: (..., B, dz), x: (B, *event))."""
        return D.bernoulli_log_prob(x, self(z), self.event_dims)

    def mean(self, z) -> Tensor:
        return ops.sigmoid(self(z))


class GaussianDecoder(nn.Module):
    """p(x | z) = N(x; m(z), diag σ²): ``net`` maps z to the mean m (or, with
    ``variance="output"``, to 2× the channels/features: mean then log σ² along axis
    −``event_dims``). ``variance``: ``"fixed"`` (log σ² = ``logvar``), ``"learned"`` (one
    learned scalar log σ², started at ``logvar``, f-VAE's σ₂) or ``"output"``."""

    def __init__(self, net: nn.Module, event_dims: int = 1, variance: str = "fixed",
                 logvar: float = 0.0):
        super().__init__()
        A.choice("GaussianDecoder", variance, "variance", ("fixed", "learned", "output"))
        self.net, self.event_dims, self.variance = net, event_dims, variance
        if variance == "learned":
            self.log_sigma2 = nn.Parameter(np.array(float(logvar), dtype=np.float32))
        else:
            self.fixed_logvar = float(logvar)

    def forward(self, z) -> tuple[Tensor, Tensor]:
        """(mean, log σ²) for z; log σ² broadcasts to the mean."""
        out = _batched(self.net, as_tensor(z))
        if self.variance == "output":
            mean, logvar = ops.split(out, 2, axis=out.ndim - self.event_dims)
            return mean, logvar
        if self.variance == "learned":
            return out, self.log_sigma2
        return out, Tensor(np.array(self.fixed_logvar, dtype=out.dtype))

    def log_prob(self, x, z) -> Tensor:
        mean, logvar = self(z)
        return D.normal_log_prob(x, mean, logvar, self.event_dims)

    def mean(self, z) -> Tensor:
        return self(z)[0]


class StandardNormal(nn.Module):
    """The prior p(z) = N(0, I) on ``dim`` numbers, with the closed-form KL to it."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def log_prob(self, z) -> Tensor:
        return D.standard_normal_log_prob(z)

    def sample(self, n: int, generator: Generator | None = None) -> Tensor:
        return (generator or default_generator()).normal(n, self.dim)

    def kl(self, mu, logvar) -> Tensor:
        return F.gaussian_kl(mu, logvar)


class VAE(nn.Module):
    """An encoder (x → μ, log σ²), a decoder (``log_prob(x, z)``, ``mean(z)``) and a prior
    (default N(0, I) on the encoder's ``latent_dim``); see the module docstring."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, prior: nn.Module | None = None,
                 latent_dim: int | None = None):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        dim = latent_dim if latent_dim is not None else getattr(encoder, "latent_dim", None)
        if prior is None and dim is None:
            raise ShapeError("VAE: pass latent_dim (or an encoder with .latent_dim) for the "
                             "N(0, I) prior")
        self.prior = prior if prior is not None else StandardNormal(dim)

    def _posterior(self, x) -> tuple[Tensor, Tensor]:
        mu, logvar = self.encoder(x)
        if logvar.shape != mu.shape:  # a scalar or shared variance
            logvar = ops.expand(logvar, mu.shape)
        return mu, logvar

    def elbo_terms(self, x, generator: Generator | None = None) -> dict[str, Tensor]:
        """Per example: ``rec`` = log p(x | z) at one reparameterised z, ``kl`` (closed form
        when the prior has one, else log q(z|x) − log p(z) at that z), ``mu``, ``logvar``."""
        x = as_tensor(x)
        mu, logvar = self._posterior(x)
        z = D.reparameterize(mu, logvar, generator)
        if hasattr(self.prior, "kl"):
            kl = self.prior.kl(mu, logvar)
        else:
            kl = D.normal_log_prob(z, mu, logvar) - self.prior.log_prob(z)
        return {"rec": self.decoder.log_prob(x, z), "kl": kl, "mu": mu, "logvar": logvar,
                "z": z}

    def elbo(self, x, generator: Generator | None = None) -> Tensor:
        """The one-sample ELBO estimate per example, shape (B,)."""
        t = self.elbo_terms(x, generator)
        return t["rec"] - t["kl"]

    def loss(self, x, generator: Generator | None = None, beta: float = 1.0) -> Tensor:
        """−mean ELBO (``beta`` weighs the KL: β-VAE; 1 is the true bound)."""
        t = self.elbo_terms(x, generator)
        return -ops.mean(t["rec"] - beta * t["kl"])

    def log_weights(self, x, k: int, generator: Generator | None = None, batch: int = 100,
                    chunk: int = 500) -> np.ndarray:
        """The importance log-weights log p(x, z_i) − log q(z_i | x), i = 1 … k, for every
        row of x, as a float64 array (k, N); computed without gradients, ``batch`` examples
        × ``chunk`` samples at a time."""
        k = A.integer("VAE.log_weights", k, "k", minimum=1)
        x = as_tensor(x)
        out = np.empty((k, x.shape[0]))
        with no_grad():
            for lo in range(0, x.shape[0], batch):
                xb = x[lo:lo + batch]
                mu, logvar = self._posterior(xb)
                for s in range(0, k, chunk):
                    z = D.reparameterize(mu, logvar, generator, samples=min(chunk, k - s))
                    w = (self.decoder.log_prob(xb, z) + self.prior.log_prob(z)
                         - D.normal_log_prob(z, mu, logvar))
                    out[s:s + z.shape[0], lo:lo + xb.shape[0]] = w.numpy()
        return out

    def log_likelihood(self, x, k: int = 5000, generator: Generator | None = None,
                       batch: int = 100, chunk: int = 500) -> np.ndarray:
        """The importance-sampled log p(x) per row of x with k samples from q(z | x)."""
        w = self.log_weights(x, k, generator, batch, chunk)
        return D.log_mean_exp(Tensor(w), axis=0).numpy()

    def sample(self, n: int, generator: Generator | None = None) -> Tensor:
        """Decoder means at n draws from the prior."""
        with no_grad():
            return self.decoder.mean(self.prior.sample(n, generator))

    def reconstruct(self, x) -> Tensor:
        """Decoder means at the posterior means."""
        with no_grad():
            return self.decoder.mean(self._posterior(as_tensor(x))[0])


def importance_curve(log_w: np.ndarray, ks: Sequence[int]) -> dict[int, np.ndarray]:
    """From k log-weights per example (an array (k, N)), the k'-sample estimate
    log (1/k') Σ e^{w_i} for each k' in ``ks``, averaged over the ⌊k/k'⌋ disjoint blocks of
    k' draws (so every k' uses all the draws): {k': per-example estimates (N,)}."""
    k = log_w.shape[0]
    curve = {}
    for kk in ks:
        if not 1 <= kk <= k:
            raise ShapeError(f"importance_curve: k'={kk} is outside [1, {k}] (the draws given)")
        blocks = log_w[:k // kk * kk].reshape(k // kk, kk, -1)
        m = blocks.max(axis=1, keepdims=True)
        est = np.log(np.exp(blocks - m).mean(axis=1)) + m[:, 0]
        curve[int(kk)] = est.mean(axis=0)
    return curve


def binarize(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stochastic binarisation: each pixel in [0, 1] becomes 1 with its grey value as the
    probability (the usual binarised-MNIST protocol), float32, flattened to (N, H·W)."""
    images = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    return (rng.random(images.shape) < images).astype(np.float32)


def factorised_bernoulli_log_likelihood(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """The no-latent baseline: log Π_d Bernoulli(x_d; p_d) per test row, with p_d the
    training frequency of a 1 at pixel d, smoothed as (count + 1)/(N + 2) (Laplace)."""
    p = (train.sum(axis=0) + 1.0) / (len(train) + 2.0)
    return test @ np.log(p) + (1.0 - test) @ np.log1p(-p)


def fit_vae(vae: VAE, images: np.ndarray, steps: int, batch: int = 100, lr: float = 1e-3,
            seed: int = 0, binary: bool = True, device: str = "cpu",
            log_every: int = 0) -> list[float]:
    """Adam on −ELBO for ``steps`` minibatches of ``images`` (N, ...) in [0, 1], drawn with
    replacement; ``binary`` re-binarises every batch (dynamic binarisation). Returns the
    per-step −ELBO."""
    from ...optim import Adam

    rng = np.random.default_rng(seed)
    gen = Generator(seed, device)
    opt = Adam(vae.parameters(), lr=lr)
    losses = []
    vae.train()
    for step in range(steps):
        xb = images[rng.integers(0, len(images), batch)]
        if binary:
            xb = (rng.random(xb.shape) < xb).astype(np.float32)
        loss = vae.loss(Tensor(xb).to(device), gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.numpy()))
        if log_every and (step + 1) % log_every == 0:
            print(f"step {step + 1}: −ELBO {np.mean(losses[-log_every:]):.2f}")
    vae.eval()
    return losses
