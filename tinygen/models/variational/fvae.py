r"""f-VAE (Su & Wu 2018, "f-VAEs: Improve VAEs with Conditional Flows"; the f-VAE post): a VAE
whose latent code passes through a flow.

**The model.** The encoder gives z = σ₁·u + E(x), u ~ N(0, I) (a Gaussian posterior whose
spread σ₁ is one learned scalar); a flow F maps z to F(z), which should look N(0, I); the
decoder is N(x; G(z), σ₂²) with σ₂ another learned scalar. Per example the post's loss is

    ‖G(z) − x‖²/(2σ₂²) + ½‖F(z)‖² − log|det ∂F(z)/∂u|      (+ D·log σ₂ when σ₂ is learned),

where log|det ∂F/∂u| = d·log σ₁ + log|det ∂F/∂z| (d = dim z). This is exactly the one-sample
−ELBO of a VAE with posterior N(E(x), σ₁²I) and the *flow prior*
p(z) = N(F(z); 0, I)·|det ∂F/∂z| (up to the constants (D + d)/2·log 2π and −½‖u‖², which
no parameter changes), so :class:`FVAE` is a :class:`~tinygen.models.variational.vae.VAE`
with a :class:`FlowPrior`: the Monte Carlo KL, the importance-sampled likelihood and the
samples z = F⁻¹(ε), ε ~ N(0, I), all come from it. A plain VAE is the case F = identity.

**The flow on vectors.** :class:`FlowPrior` runs Glow's steps (ActNorm, LU 1 × 1
convolution, affine coupling; :mod:`tinygen.models.flows.glow`) on z, written for vectors
(:class:`VectorFlowStep`): on z seen as a (d, 1, 1) image, per-channel ActNorm is
per-coordinate, the 1 × 1 convolution is an invertible d × d matrix, and a coupling with
1 × 1 convolutions is a coupling with MLPs; done as matrix products it skips the image
reshapes and convolutions (a test checks it equals Glow's FlowStep on such an image).

**Where σ₁ starts** (:class:`SharedVarianceEncoder`): σ₁ is a gauge (the μ head, the flow's
ActNorm and the decoder's first layer absorb any rescaling of z), so it changes only the
scale at which Adam trains; it starts from the first batch at signal-to-noise 1 (lesson 17
measures why).

**Training on pixels** (:func:`fit_dequantized`, :func:`elbo_bits`, :func:`is_bits`): a
Gaussian decoder is a density, so, as for Glow, images are dequantised, x = (y + u)/levels
in [0, 1)ᴰ, and bounds are reported in bits/dim by Glow's
:func:`~tinygen.models.flows.glow.bits_per_dim`, directly comparable with a flow's.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ... import distributions as D
from ... import nn, ops
from ...autograd import Tensor, as_tensor, get_default_dtype, no_grad
from ...creation import zeros
from ...errors import ArgumentError, ShapeError
from ...ops import args as A
from ...random import Generator, default_generator, manual_seed
from ..flows.glow import InvConv1x1, bits_per_dim, dequantize, image_data
from .vae import VAE, GaussianDecoder, GaussianEncoder, mlp

__all__ = ["FVAE", "FlowPrior", "SharedVarianceEncoder", "VectorFlowStep", "build_vae",
           "elbo_bits", "fit_dequantized", "fit_dequantized_vae", "is_bits"]


class VectorFlowStep(nn.Module):
    """Glow's step of flow (:class:`~tinygen.models.flows.glow.FlowStep`) written for vectors
    z (B, d): ActNorm per coordinate (initialised from the first training batch to zero mean,
    unit variance), the invertible d × d matrix W = P L (U + diag(sign·e^{log s})) of an LU
    1 × 1 convolution (:class:`~tinygen.models.flows.glow.InvConv1x1`, a fixed random rotation
    at first), and an affine coupling y_b = (z_b + t)·σ(h + 2) with (t, h) from an MLP of
    z_a (d/2 → ``hidden`` → ``hidden`` → d, last layer zero). The same maps as FlowStep on a
    (d, 1, 1) image, as a few matrix products: no image reshapes or 1 × 1 convolutions, so a
    step costs a fraction of the time. ``forward(z) -> (y, log|det ∂y/∂z|)``."""

    def __init__(self, dim: int, hidden: int, generator: Generator):
        super().__init__()
        self.dim, half = dim, dim // 2
        self.bias = nn.Parameter(zeros(dim))
        self.log_scale = nn.Parameter(zeros(dim))
        self.register_buffer("initialized", Tensor(np.zeros(())))
        self.mix = InvConv1x1(dim, True, generator).to(dtype=get_default_dtype())
        last = nn.Linear(hidden, dim, generator=generator)
        last.weight.data[...] = 0
        self.net = nn.Sequential(nn.Linear(half, hidden, generator=generator), nn.ReLU(),
                                 nn.Linear(hidden, hidden, generator=generator), nn.ReLU(),
                                 last)

    def _shift_scale(self, za: Tensor) -> tuple[Tensor, Tensor]:
        h = self.net(za)
        half = self.dim // 2
        return h[:, :half], ops.sigmoid(h[:, half:] + 2.0)

    def forward(self, z) -> tuple[Tensor, Tensor]:
        z = as_tensor(z)
        if self.training and not float(self.initialized.data):
            self.bias.data[...] = -z.data.mean(axis=0)
            self.log_scale.data[...] = -z.xp.log(z.data.std(axis=0) + 1e-6)
            self.initialized.data[...] = 1
        y = (z + self.bias) * ops.exp(self.log_scale)
        y = y @ ops.transpose(self.mix.weight_matrix())
        ya, yb = ops.split(y, 2, axis=1)
        shift, scale = self._shift_scale(ya)
        y = ops.concat([ya, (yb + shift) * scale], axis=1)
        logdet = self.log_scale.sum() + self.mix.log_s.sum() + ops.log(scale).sum(axis=1)
        return y, logdet

    def inverse(self, y) -> Tensor:
        ya, yb = ops.split(as_tensor(y), 2, axis=1)
        shift, scale = self._shift_scale(ya)
        z = ops.concat([ya, yb / scale - shift], axis=1)
        z = z @ ops.transpose(ops.inv(self.mix.weight_matrix()))
        return z * ops.exp(-self.log_scale) - self.bias

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class FlowPrior(nn.Module):
    """p(z) = N(F(z); 0, I)·|det ∂F/∂z| on ``dim`` (even) numbers, F = ``steps`` Glow flow steps
    on vectors (:class:`VectorFlowStep`: ActNorm, LU 1 × 1 conv, affine coupling with
    ``hidden``-wide MLPs). ``forward(z) -> (F(z), log|det ∂F/∂z|)`` and ``inverse(ε) -> z``
    take any leading axes (..., dim)."""

    def __init__(self, dim: int, steps: int = 4, hidden: int = 64,
                 generator: Generator | None = None):
        super().__init__()
        self.dim = A.integer("FlowPrior", dim, "dim", minimum=2)
        if self.dim % 2:
            raise ShapeError(f"FlowPrior: dim must be even (a coupling updates one half of "
                             f"z from the other), got {dim}")
        steps = A.integer("FlowPrior", steps, "steps", minimum=0)
        gen = generator or default_generator()
        self.steps = nn.ModuleList(VectorFlowStep(self.dim, hidden, gen) for _ in range(steps))

    def _rows(self, z) -> tuple[Tensor, tuple]:
        z = as_tensor(z)
        if z.ndim < 1 or z.shape[-1] != self.dim:
            raise ShapeError(f"FlowPrior: expected codes of shape (..., {self.dim}), got "
                             f"{z.shape}")
        return ops.reshape(z, (-1, self.dim)), z.shape[:-1]

    def forward(self, z) -> tuple[Tensor, Tensor]:
        x, lead = self._rows(z)
        total = Tensor(x.xp.zeros(x.shape[0], dtype=x.dtype))
        for step in self.steps:
            x, logdet = step(x)
            total = total + logdet
        return ops.reshape(x, (*lead, self.dim)), ops.reshape(total, lead)

    def inverse(self, eps) -> Tensor:
        x, lead = self._rows(eps)
        for step in reversed(list(self.steps)):
            x = step.inverse(x)
        return ops.reshape(x, (*lead, self.dim))

    def log_prob(self, z) -> Tensor:
        """log N(F(z); 0, I) + log|det ∂F/∂z| for every leading index of z."""
        eps, logdet = self(z)
        return D.standard_normal_log_prob(eps) + logdet

    def sample(self, n: int, generator: Generator | None = None,
               temperature: float = 1.0) -> Tensor:
        """n codes z = F⁻¹(ε), ε ~ N(0, T²I) (T = ``temperature``)."""
        gen = generator or default_generator()
        dtype = next(iter(self.parameters())).dtype if self.steps else None
        return self.inverse(gen.normal(n, self.dim, dtype=dtype) * temperature)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, steps={len(self.steps)}"


class SharedVarianceEncoder(nn.Module):
    """f-VAE's encoder: μ = E(x) (``body`` to ``features`` numbers, then a Linear head to
    ``latent_dim``) and one learned scalar log σ₁² shared by every coordinate and every
    example, so z = E(x) + σ₁·u.

    ``logvar``: log σ₁²'s start. ``None`` (default): set from the first training batch to
    the log of the means' variance over the batch (averaged over the coordinates), so the
    code starts at signal-to-noise 1, as ActNorm starts from the first batch. Why it
    matters: σ₁ is a gauge (the flow's ActNorm and the decoder's first layer absorb any
    rescaling of z), so its start picks the scale at which training runs; σ₁ = 1 beside
    freshly initialised means that vary by ~0.2 starts the code as almost pure noise, and
    training stays behind (lesson 17)."""

    def __init__(self, body: nn.Module, features: int, latent_dim: int,
                 logvar: float | None = None):
        super().__init__()
        self.body, self.latent_dim = body, latent_dim
        self.mu = nn.Linear(features, latent_dim)
        self.log_sigma2 = nn.Parameter(np.array(0.0 if logvar is None else float(logvar),
                                                dtype=np.float32))
        self.register_buffer("initialized", Tensor(np.array(float(logvar is not None))))

    def forward(self, x) -> tuple[Tensor, Tensor]:
        mu = self.mu(self.body(as_tensor(x)))
        if self.training and not float(self.initialized.data) and mu.shape[0] > 1:
            spread = float(mu.data.var(axis=0).mean())
            self.log_sigma2.data[...] = math.log(max(spread, 1e-12))
            self.initialized.data[...] = 1
        return mu, self.log_sigma2


class FVAE(VAE):
    """The f-VAE: an encoder (x → μ, log σ₁²; :class:`SharedVarianceEncoder` in the post),
    a decoder (``GaussianDecoder(variance="learned")`` for N(G(z), σ₂²)) and a
    :class:`FlowPrior`; its ``loss`` is the post's (see the module docstring)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, prior: FlowPrior):
        if not isinstance(prior, FlowPrior):
            raise ArgumentError(f"FVAE: the prior must be a FlowPrior (the flow F on z), got "
                                f"{type(prior).__name__}")
        super().__init__(encoder, decoder, prior)

    def sample(self, n: int, generator: Generator | None = None,
               temperature: float = 1.0) -> Tensor:
        """Decoder means G(F⁻¹(ε)) at n draws ε ~ N(0, T²I)."""
        with no_grad():
            return self.decoder.mean(self.prior.sample(n, generator, temperature))


# -- training and evaluation on dequantised images ------------------------------------------

def _flat(images: np.ndarray, dtype) -> np.ndarray:
    return np.asarray(images).reshape(len(images), -1).astype(dtype)


def fit_dequantized(vae: VAE, images: np.ndarray, steps: int, batch: int = 100,
                    lr: float = 1e-3, levels: int = 256, warmup: int = 50,
                    scalar_lr: float | None = None,
                    generator: Generator | None = None) -> list[float]:
    """Adam on the −ELBO of integer images (N, ...) in {0, …, levels − 1}, flattened and
    freshly dequantised every step (as Glow is trained: :func:`~tinygen.models.flows.glow.
    train_glow`), the learning rate warmed up over ``warmup`` steps then down half a cosine
    to a tenth. ``scalar_lr`` (default ``lr``) is the rate of the 0-d parameters (learned
    log-variances): Adam moves a parameter by about its rate per step, and a log-variance may
    have to travel several units. Returns the per-step −ELBO in bits/dim."""
    from ...optim import Adam

    gen = generator or default_generator()
    rng = np.random.default_rng(int(gen.integers(0, 2**31, 1).numpy()[0]))
    params = list(vae.parameters())
    scalars = [p for p in params if p.ndim == 0]
    others = [p for p in params if p.ndim > 0]
    groups = [{"params": others, "lr": lr}]
    if scalars:
        groups.append({"params": scalars, "lr": lr if scalar_lr is None else scalar_lr})
    opt = Adam(groups, lr=lr)
    base = [g["lr"] for g in opt.param_groups]
    dtype = params[0].dtype
    dims = int(np.prod(images.shape[1:]))
    vae.train()
    losses = []
    for step in range(steps):
        decay = 0.55 + 0.45 * math.cos(math.pi * step / steps)
        for group, rate in zip(opt.param_groups, base):
            group["lr"] = rate * min(1.0, (step + 1) / max(warmup, 1)) * decay
        yb = images[rng.integers(0, len(images), batch)]
        x = Tensor(_flat(dequantize(yb, levels, gen), dtype))
        loss = vae.loss(x, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(bits_per_dim(-loss.item(), dims, levels)))
    vae.eval()
    return losses


def elbo_bits(vae: VAE, x: np.ndarray, levels: int = 256, draws: int = 1,
              generator: Generator | None = None, batch: int = 500) -> np.ndarray:
    """The −ELBO in bits/dim of each dequantised image x (N, ...) in [0, 1)ᴰ, the one-sample
    ELBO averaged over ``draws`` draws of z: an upper bound (on average) on the model's
    bits/dim."""
    gen = generator or default_generator()
    dtype = next(iter(vae.parameters())).dtype
    flat = _flat(x, dtype)
    out = []
    with no_grad():
        for i in range(0, len(flat), batch):
            xb = Tensor(flat[i:i + batch])
            out.append(np.mean([vae.elbo(xb, gen).numpy() for _ in range(draws)], axis=0))
    return bits_per_dim(np.concatenate(out), flat.shape[1], levels)


def is_bits(vae: VAE, x: np.ndarray, k: int, levels: int = 256,
            generator: Generator | None = None, batch: int = 100,
            chunk: int = 100) -> np.ndarray:
    """The importance-sampled log-likelihood (k draws from q(z | x)) of each dequantised
    image x (N, ...) in [0, 1)ᴰ, in bits/dim."""
    dtype = next(iter(vae.parameters())).dtype
    flat = _flat(x, dtype)
    log_px = vae.log_likelihood(Tensor(flat), k, generator, batch, chunk)
    return bits_per_dim(log_px, flat.shape[1], levels)


# -- lesson 17's models, and one of them trained as a job -------------------------------------

def build_vae(pixels: int, latent: int, hidden: int = 256, spread: str = "x",
              flow_steps: int = 0, flow_hidden: int = 64, pixel_logvar: float = 0.0,
              seed: int = 0) -> VAE:
    """Lesson 17's VAEs on ``pixels`` numbers, built after ``manual_seed(seed)``: the same
    encoder body (pixels → ``hidden``, ReLU) and decoder (``latent`` → ``hidden`` → pixels,
    N(G(z), σ₂²) with σ₂ learned, log σ₂² starting at ``pixel_logvar``) for all. ``spread``
    "x": a log σ² head per coordinate and image (:class:`~tinygen.models.variational.vae.
    GaussianEncoder`); "shared": one σ₁ started from the first batch
    (:class:`SharedVarianceEncoder`). ``flow_steps`` > 0 makes it an :class:`FVAE` whose
    :class:`FlowPrior` (``flow_hidden``-wide couplings) draws from ``Generator(seed)``; 0 a
    plain VAE with the N(0, I) prior."""
    spread = A.choice("build_vae", spread, "spread", ("x", "shared"))
    manual_seed(seed)
    body = mlp([pixels, hidden], final_activation=True)
    decoder = GaussianDecoder(mlp([latent, hidden, pixels]), variance="learned",
                              logvar=pixel_logvar)
    encoder = (GaussianEncoder(body, hidden, latent) if spread == "x" else
               SharedVarianceEncoder(body, hidden, latent, logvar=None))
    if not flow_steps:
        return VAE(encoder, decoder)
    return FVAE(encoder, decoder, FlowPrior(latent, flow_steps, flow_hidden, Generator(seed)))


def fit_dequantized_vae(data: str, model: dict, train: dict, seed: int = 0, k: int = 500,
                        is_images: int = 1000, elbo_draws: int = 5) -> dict:
    """One VAE of lesson 17, start to finish, with only plain values in and out (a job for
    :func:`tinygen.parallel.run_jobs`): load ``data`` (a :func:`~tinygen.models.flows.glow.
    image_data` name), build ``build_vae(pixels, **model, seed=seed)`` with σ₂ started at
    the variance of the training pixels dequantised by ``Generator(seed + 3)``, train it by
    ``fit_dequantized(..., **train)`` (generator ``seed + 1``), and score the test images
    dequantised by ``Generator(seed + 2)`` (the noise Glow's :func:`~tinygen.models.flows.
    glow.fit_glow` scores them with): the −ELBO of every test image (:func:`elbo_bits`,
    ``elbo_draws`` draws, generator ``seed + 4``) and the importance-sampled estimate of the
    first ``is_images`` (:func:`is_bits`, ``k`` draws, generator ``seed + 5``).

    Returns ``elbo`` and ``is`` (bits/dim per image), ``losses`` (training bits/dim per
    step), ``state`` (the trained parameters and buffers as arrays, to load into the same
    ``build_vae``), ``params``, ``sigma2`` (the decoder's σ₂), ``cpu_seconds`` (training)
    and ``is_cpu_seconds`` (the importance sampling), this process's CPU times."""
    images, test, levels = image_data(data)
    x_test = dequantize(test, levels, Generator(seed + 2))
    pixel_logvar = float(np.log(dequantize(images, levels, Generator(seed + 3)).var()))
    vae = build_vae(int(images[0].size), **model, pixel_logvar=pixel_logvar, seed=seed)
    t0 = time.process_time()
    losses = fit_dequantized(vae, images, levels=levels, generator=Generator(seed + 1),
                             **train)
    cpu = time.process_time() - t0
    elbo = elbo_bits(vae, x_test, levels, elbo_draws, Generator(seed + 4))
    t0 = time.process_time()
    iw = is_bits(vae, x_test[:is_images], k, levels, Generator(seed + 5))
    return {"elbo": elbo, "is": iw, "losses": np.asarray(losses),
            "state": {name: t.numpy() for name, t in vae.state_dict().items()},
            "params": int(sum(p.size for p in vae.parameters())),
            "sigma2": float(np.exp(0.5 * vae.decoder.log_sigma2.item())),
            "cpu_seconds": cpu, "is_cpu_seconds": time.process_time() - t0}
