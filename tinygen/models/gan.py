"""The adversarial losses of the posts, each a few Tensor ops with its formula.

Conventions: ``d_real``/``d_fake`` are the critic's raw outputs (logits or scores) on a batch
of real and generated samples, shape (B,) or (B, 1); every loss is a mean over the batch and
is *minimised* by the player named in the function (``*_d_loss`` by the critic,
``*_g_loss`` by the generator). σ is the logistic sigmoid and softplus(t) = log(1 + eᵗ), so
−log σ(t) = softplus(−t) and −log(1 − σ(t)) = softplus(t), computed stably.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import ops
from ..autograd import Tensor, as_tensor, grad
from ..errors import ShapeError
from ..random import Generator, default_generator

# -- standard, least-squares, Wasserstein and hinge -----------------------------------------


def _scores(name: str, *ts) -> list[Tensor]:
    out = [as_tensor(t) for t in ts]
    for t in out:
        if t.ndim == 0 or (t.ndim == 2 and t.shape[1] != 1) or t.ndim > 2:
            raise ShapeError(f"{name}: critic outputs must have shape (B,) or (B, 1), "
                             f"got {t.shape}")
    return [ops.reshape(t, (-1,)) for t in out]


def sgan_d_loss(d_real, d_fake) -> Tensor:
    """Standard GAN critic: −E log σ(D(x_r)) − E log(1 − σ(D(x_f)))."""
    r, f = _scores("sgan_d_loss", d_real, d_fake)
    return ops.mean(ops.softplus(-r)) + ops.mean(ops.softplus(f))


def sgan_g_loss(d_fake, saturating: bool = False) -> Tensor:
    """Standard GAN generator. Non-saturating (default): −E log σ(D(G(z)));
    saturating (the original minimax): E log(1 − σ(D(G(z)))) = −E softplus(D(G(z)))."""
    (f,) = _scores("sgan_g_loss", d_fake)
    return -ops.mean(ops.softplus(f)) if saturating else ops.mean(ops.softplus(-f))


def lsgan_d_loss(d_real, d_fake) -> Tensor:
    """LSGAN critic: ½E(D(x_r) − 1)² + ½E D(x_f)²."""
    r, f = _scores("lsgan_d_loss", d_real, d_fake)
    return 0.5 * ops.mean((r - 1.0) * (r - 1.0)) + 0.5 * ops.mean(f * f)


def lsgan_g_loss(d_fake) -> Tensor:
    """LSGAN generator: ½E(D(G(z)) − 1)²."""
    (f,) = _scores("lsgan_g_loss", d_fake)
    return 0.5 * ops.mean((f - 1.0) * (f - 1.0))


def wgan_d_loss(d_real, d_fake) -> Tensor:
    """WGAN critic: E D(x_f) − E D(x_r) (add a penalty or clip weights for the Lipschitz
    constraint). In the energy view D = −U, so this is E_p U − E_q U."""
    r, f = _scores("wgan_d_loss", d_real, d_fake)
    return ops.mean(f) - ops.mean(r)


def wgan_g_loss(d_fake) -> Tensor:
    """WGAN generator: −E D(G(z)) (in the energy view: E U(G(z)))."""
    (f,) = _scores("wgan_g_loss", d_fake)
    return -ops.mean(f)


def clip_weights(params, c: float = 0.01) -> None:
    """WGAN's weight clipping: every critic weight is put back into [−c, c] after a step."""
    if c <= 0:
        raise ValueError(f"clip_weights: c must be positive, got {c}")
    for p in params:
        p.data[...] = p.xp.clip(p.data, -c, c)


def hinge_d_loss(d_real, d_fake) -> Tensor:
    """Hinge critic: E max(0, 1 − D(x_r)) + E max(0, 1 + D(x_f))."""
    r, f = _scores("hinge_d_loss", d_real, d_fake)
    return ops.mean(ops.relu(1.0 - r)) + ops.mean(ops.relu(1.0 + f))


hinge_g_loss = wgan_g_loss


# -- relativistic ---------------------------------------------------------------------------

def rsgan_d_loss(d_real, d_fake) -> Tensor:
    """RSGAN critic: −E log σ(D(x_r) − D(x_f)), real and fake paired by batch position."""
    r, f = _scores("rsgan_d_loss", d_real, d_fake)
    return ops.mean(ops.softplus(f - r))


def rsgan_g_loss(d_real, d_fake) -> Tensor:
    """RSGAN generator: −E log σ(D(x_f) − D(x_r))."""
    r, f = _scores("rsgan_g_loss", d_real, d_fake)
    return ops.mean(ops.softplus(r - f))


def rasgan_d_loss(d_real, d_fake) -> Tensor:
    """RaSGAN critic: −E log σ(D(x_r) − E D(x_f)) − E log(1 − σ(D(x_f) − E D(x_r)))."""
    r, f = _scores("rasgan_d_loss", d_real, d_fake)
    return ops.mean(ops.softplus(ops.mean(f) - r)) + ops.mean(ops.softplus(f - ops.mean(r)))


def rasgan_g_loss(d_real, d_fake) -> Tensor:
    """RaSGAN generator: the critic's loss with real and fake swapped."""
    return rasgan_d_loss(d_fake, d_real)


# -- GAN-QP ---------------------------------------------------------------------------------

def ganqp_distance(x_real, x_fake, kind: str = "l1") -> Tensor:
    """Per-sample distance d(x_r, x_f) over all non-batch axes: ``"l1"`` = mean |x_r − x_f|,
    ``"l2"`` = sqrt(mean (x_r − x_f)²)."""
    xr, xf = as_tensor(x_real), as_tensor(x_fake)
    if xr.shape != xf.shape or xr.ndim < 2:
        raise ShapeError(f"ganqp_distance: real {xr.shape} and fake {xf.shape} must have the "
                         "same shape (B, ...)")
    diff = ops.reshape(xr - xf, (xr.shape[0], -1))
    if kind == "l1":
        return ops.mean(ops.abs(diff), axis=1)
    if kind == "l2":
        return ops.sqrt(ops.mean(diff * diff, axis=1))
    raise ValueError(f"ganqp_distance: kind must be 'l1' or 'l2', got {kind!r}")


def ganqp_d_loss(t_real, t_fake, x_real, x_fake, lam: float = 10.0,
                 distance: str = "l1") -> Tensor:
    """GAN-QP critic (arXiv 1811.07296): with ΔT = T(x_r) − T(x_f) per pair,
    E[−ΔT + ΔT² / (2λ·d(x_r, x_f))], λ = 10. The quadratic term keeps |ΔT| ≲ λ·d."""
    r, f = _scores("ganqp_d_loss", t_real, t_fake)
    d = ganqp_distance(x_real, x_fake, distance)
    if d.shape != r.shape:
        raise ShapeError(f"ganqp_d_loss: {r.shape[0]} critic outputs for a batch of "
                         f"{d.shape[0]} samples")
    delta = r - f
    return ops.mean(-delta + delta * delta / (2.0 * lam * d))


def ganqp_g_loss(t_real, t_fake) -> Tensor:
    """GAN-QP generator: E[T(x_r) − T(x_f)] — never the quadratic term."""
    r, f = _scores("ganqp_g_loss", t_real, t_fake)
    return ops.mean(r - f)


# -- f-GAN ----------------------------------------------------------------------------------

# divergence: (output activation g_f(v), convex conjugate f*(t))  — Nowozin et al. 2016, Table 2
F_DIVERGENCES: dict[str, tuple[Callable, Callable]] = {
    "kl": (lambda v: v, lambda t: ops.exp(t - 1.0)),
    "reverse_kl": (lambda v: -ops.exp(-v), lambda t: -1.0 - ops.log(-t)),
    "js": (lambda v: 0.6931471805599453 - ops.softplus(-v),
           lambda t: -ops.log(2.0 - ops.exp(t))),
    "pearson": (lambda v: v, lambda t: 0.25 * t * t + t),
}


def _f(name: str, divergence: str):
    if divergence not in F_DIVERGENCES:
        raise ValueError(f"{name}: divergence must be one of {sorted(F_DIVERGENCES)}, "
                         f"got {divergence!r}")
    return F_DIVERGENCES[divergence]


def fgan_d_loss(v_real, v_fake, divergence: str = "js") -> Tensor:
    """f-GAN critic: −(E_p g_f(V(x)) − E_q f*(g_f(V(x)))), the negated variational lower bound
    of D_f(p‖q); g_f maps the raw output into the domain of the conjugate f*."""
    g, conj = _f("fgan_d_loss", divergence)
    r, f = _scores("fgan_d_loss", v_real, v_fake)
    return -(ops.mean(g(r)) - ops.mean(conj(g(f))))


def fgan_g_loss(v_fake, divergence: str = "js") -> Tensor:
    """f-GAN generator (the saddle-point form): it minimises the bound, i.e. −E_q f*(g_f(V))."""
    g, conj = _f("fgan_g_loss", divergence)
    (f,) = _scores("fgan_g_loss", v_fake)
    return -ops.mean(conj(g(f)))


# -- gradient penalties ---------------------------------------------------------------------

def penalty_points(real, fake, kind: str, at: str | None, generator: Generator | None,
                   op: str = "penalty_points") -> Tensor:
    """x̂ for a gradient penalty (detached from the generator): the real samples, the fake
    ones, or x̂ = εx_r + (1 − ε)x_f with one ε ~ U[0, 1) per sample. The generic and the fused
    penalty both draw through this one function, so with the same generator state they see
    the same points."""
    if kind not in ("two_sided", "zero_centred"):
        raise ValueError(f"{op}: kind must be 'two_sided' or 'zero_centred', got {kind!r}")
    at = at or ("interpolates" if kind == "two_sided" else "real")
    if at not in ("interpolates", "real", "fake"):
        raise ValueError(f"{op}: at must be 'interpolates', 'real' or 'fake', got {at!r}")
    real = as_tensor(real).detach()
    if at == "real":
        return real
    if fake is None:
        raise ValueError(f"{op}: at={at!r} needs the fake samples")
    fake = as_tensor(fake).detach()
    if fake.shape != real.shape:
        raise ShapeError(f"{op}: real {real.shape} and fake {fake.shape} must have the same "
                         "shape")
    if at == "fake":
        return fake
    gen = generator or default_generator(real.device)
    eps = gen.uniform((real.shape[0],) + (1,) * (real.ndim - 1), dtype=real.dtype)
    return eps * real + (1.0 - eps) * fake


def gradient_penalty(critic: Callable, real, fake=None, kind: str = "two_sided",
                     at: str | None = None, generator: Generator | None = None) -> Tensor:
    """E[(‖∇ₓD(x̂)‖₂ − 1)²] (``"two_sided"``, WGAN-GP) or E‖∇ₓD(x̂)‖₂² (``"zero_centred"``,
    the energy view), through ``tinygen.grad(..., create_graph=True)`` so the penalty can be
    differentiated again with respect to the critic's weights. Multiply by λ yourself.

    ``at`` picks x̂: ``"interpolates"`` (default for two-sided; x̂ = εx_r + (1 − ε)x_f with one
    ε ~ U[0, 1) per sample, needs ``fake``), ``"real"`` (default for zero-centred) or
    ``"fake"``. The norm is over all non-batch axes.
    """
    x = penalty_points(real, fake, kind, at, generator, op="gradient_penalty")
    x = Tensor(x.data, requires_grad=True)
    g = grad(ops.sum(critic(x)), x, create_graph=True)
    sq = ops.sum(ops.reshape(g * g, (g.shape[0], -1)), axis=1)
    if kind == "zero_centred":
        return ops.mean(sq)
    norm = ops.sqrt(sq + 1e-12)
    return ops.mean((norm - 1.0) * (norm - 1.0))
