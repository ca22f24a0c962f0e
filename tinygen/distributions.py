"""Log-densities, the reparameterisation trick and temperature schedules for latent-variable
models (VAEs, the Gumbel-softmax VAE, f-VAE), all built from differentiable ops.

* :func:`reparameterize`: z = μ + e^{½·log σ²}·ε, ε ~ N(0, I) drawn outside the graph, so
  gradients reach μ and log σ² (Kingma & Welling 2014; the "reparameterisation" post).
* :func:`normal_log_prob`, :func:`standard_normal_log_prob`, :func:`bernoulli_log_prob`:
  log-densities summed over the last ``event_dims`` axes (a latent vector, or an image).
* :func:`log_mean_exp`: log (1/k) Σ exp(w_i), the importance-sampled likelihood's average.
* :func:`categorical_log_prob`: log q(z) of a one-hot sample, the score function's term.
* :func:`anneal_exponential` and :func:`anneal_jang`: Gumbel-softmax temperature schedules.

The closed-form Gaussian KL is :func:`tinygen.functional.gaussian_kl`; relaxed and
straight-through categorical samples are :func:`tinygen.functional.gumbel_softmax`; exact
categorical samples (the Gumbel-max trick) are :meth:`tinygen.Generator.categorical`.
"""

from __future__ import annotations

import math

from . import functional as F
from . import ops
from .autograd import Tensor
from .errors import ArgumentError, ShapeError
from .ops import args as A
from .random import Generator, default_generator

__all__ = ["LOG_2PI", "anneal_exponential", "anneal_jang", "bernoulli_log_prob",
           "categorical_log_prob", "log_mean_exp", "normal_log_prob", "reparameterize",
           "standard_normal_log_prob"]

LOG_2PI = math.log(2.0 * math.pi)


def _event_sum(name: str, x: Tensor, event_dims: int) -> Tensor:
    """Sum over the last ``event_dims`` axes (0: no sum)."""
    event_dims = A.integer(name, event_dims, "event_dims", minimum=0)
    if event_dims > x.ndim:
        raise ShapeError(f"{name}: event_dims={event_dims} but the input has shape {x.shape} "
                         f"({x.ndim} axes); the event axes are the last ones")
    if event_dims == 0:
        return x
    return ops.sum(x, axis=tuple(range(x.ndim - event_dims, x.ndim)))


def reparameterize(mu, logvar, generator: Generator | None = None,
                   samples: int | None = None) -> Tensor:
    """z = μ + e^{½·logvar}·ε with ε ~ N(0, I): a sample of N(μ, diag e^{logvar}) that is a
    differentiable function of μ and logvar. ``logvar`` broadcasts to μ (a scalar learned
    variance, as in f-VAE's encoder). With ``samples=k`` the result has shape (k, *μ.shape):
    k independent draws for each row."""
    name = "reparameterize"
    mu, logvar = A.floating(name, mu, "mu"), A.floating(name, logvar, "logvar")
    shape = _broadcast(name, mu.shape, logvar.shape)
    if samples is not None:
        shape = (A.integer(name, samples, "samples", minimum=1), *shape)
    gen = generator if generator is not None else default_generator(mu.device)
    eps = gen.normal(shape, dtype=mu.dtype)
    return mu + ops.exp(0.5 * logvar) * eps


def _broadcast(name: str, a: tuple, b: tuple) -> tuple:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    if any(m != k and 1 not in (m, k) for m, k in zip(a, b)):
        raise ShapeError(f"{name}: mu of shape {a} and logvar of shape {b} do not broadcast")
    return tuple(max(m, k) for m, k in zip(a, b))


def normal_log_prob(x, mu, logvar, event_dims: int = 1) -> Tensor:
    """log N(x; μ, diag e^{logvar}) = −½ Σ [log 2π + logvar + (x − μ)²·e^{−logvar}] over the
    last ``event_dims`` axes (μ and logvar broadcast to x)."""
    name = "normal_log_prob"
    x, mu, logvar = (A.floating(name, v, w) for v, w in ((x, "x"), (mu, "mu"),
                                                         (logvar, "logvar")))
    d = x - mu
    return _event_sum(name, -0.5 * (LOG_2PI + logvar + d * d * ops.exp(-logvar)), event_dims)


def standard_normal_log_prob(z, event_dims: int = 1) -> Tensor:
    """log N(z; 0, I) = −½ Σ (log 2π + z²) over the last ``event_dims`` axes."""
    z = A.floating("standard_normal_log_prob", z, "z")
    return _event_sum("standard_normal_log_prob", -0.5 * (LOG_2PI + z * z), event_dims)


def bernoulli_log_prob(x, logits, event_dims: int = 1) -> Tensor:
    """log Bernoulli(x; σ(logits)) = x·l − softplus(l) summed over the last ``event_dims``
    axes; stable at any logit, and for x in [0, 1] it is minus the binary cross-entropy (the
    decoder likelihood of binarised or grey images). ``logits`` broadcast to x."""
    name = "bernoulli_log_prob"
    x, logits = A.floating(name, x, "x"), A.floating(name, logits, "logits")
    return _event_sum(name, x * logits - ops.softplus(logits), event_dims)


def categorical_log_prob(one_hot, logits, axis: int = -1) -> Tensor:
    """log q(z) = Σ_k z_k · log softmax(logits)_k along ``axis`` for a one-hot (or relaxed)
    sample z: the log-probability whose gradient the score-function estimator weights."""
    name = "categorical_log_prob"
    z, logits = A.floating(name, one_hot, "one_hot"), A.floating(name, logits, "logits")
    if z.shape != logits.shape:
        raise ShapeError(f"{name}: one_hot of shape {z.shape} and logits of shape "
                         f"{logits.shape} differ; expected equal shapes")
    return ops.sum(z * F.log_softmax(logits, axis), axis=axis)


def log_mean_exp(x, axis: int = 0) -> Tensor:
    """log (1/k) Σ_i exp(x_i) along ``axis`` (k its length), computed as logsumexp − log k so
    that weights of −10⁴ nats do not underflow: the importance-sampled log-likelihood of k
    log-weights log p(x, z_i) − log q(z_i | x) (Burda et al. 2016)."""
    name = "log_mean_exp"
    x = A.floating(name, x, "x")
    a = A.axis(name, axis, x.ndim, shape=x.shape)
    if x.shape[a] == 0:
        raise ShapeError(f"{name}: axis {a} of the input of shape {x.shape} is empty; a mean "
                         "needs at least one sample")
    return ops.logsumexp(x, axis=a) - math.log(x.shape[a])


def _schedule_args(name: str, step, **numbers) -> int:
    step = A.integer(name, step, "step", minimum=0)
    for what, value in numbers.items():
        if not A.number(name, value, what) > 0:
            raise ArgumentError(f"{name}: {what} must be positive, got {value!r}")
    return step


def anneal_exponential(step: int, start: float = 1.0, end: float = 0.01,
                       decay: float = 0.999) -> float:
    """τ = end + (start − end)·decay^step: the reparameterisation post's Gumbel-softmax
    temperature (τ = 0.01 + 0.99·0.999^step), from ``start`` down towards ``end``."""
    step = _schedule_args("anneal_exponential", step, start=start, end=end, decay=decay)
    if not decay < 1 or not end <= start:
        raise ArgumentError(f"anneal_exponential: expected decay < 1 and end ≤ start, got "
                            f"decay={decay!r}, start={start!r}, end={end!r}")
    return end + (start - end) * decay ** step


def anneal_jang(step: int, rate: float = 1e-4, floor: float = 0.5, start: float = 1.0) -> float:
    """τ = max(floor, start·exp(−rate·step)): Jang, Gu & Poole's (2017) schedule (they
    update it every 1,000 steps, from 1.0 with a floor of 0.5)."""
    step = _schedule_args("anneal_jang", step, rate=rate, floor=floor, start=start)
    return max(floor, start * math.exp(-rate * step))
