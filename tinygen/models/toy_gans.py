"""GANs on 2-D toy data: MLP generator and critic builders and one training step per loss.

A :class:`ToyGAN` holds a generator G: R^latent → R², a critic D: R² → R (raw score; in
the energy view D = −U), their Adam optimizers, an optional EMA of G's weights, and one of
the losses of :mod:`tinygen.models.gan`:

* ``"sgan"``: critic −E log σ(D(x_r)) − E log(1 − σ(D(x_f))); G −E log σ(D(x_f))
  (non-saturating);
* ``"rsgan"``: critic −E log σ(D(x_r) − D(x_f)); G −E log σ(D(x_f) − D(x_r));
* ``"wgan_gp"``: critic E D(x_f) − E D(x_r) + λ·E(‖∇ₓD(x̂)‖ − 1)², x̂ uniform on the
  segments between real and fake points; G −E D(x_f);
* ``"ganqp"``: critic E[−ΔT + ΔT²/(2λ·d(x_r, x_f))], ΔT = D(x_r) − D(x_f); G E ΔT;
* ``"energy"``: critic E_p U − E_q U + λ·E_p‖∇ₓU‖² with U = −D (the zero-centred penalty
  at the real samples); G E U(x_f) = −E D(x_f);

with x_f = G(z), z ~ N(0, I). Real and fake are paired by batch position where a loss pairs
them (RSGAN, GAN-QP). The gradient penalties use the fused kernel of
:mod:`tinygen.models.gp_fused` (one pass, hand-derived gradients) because the critics here
are plain ``nn.Sequential`` MLPs; ``penalty="generic"`` takes the double-backward path of
:func:`tinygen.models.gan.gradient_penalty` instead (same numbers).

Each call of G or D is one graph node (:func:`fused_mlp`: the forward and backward passes
of the whole MLP as NumPy code) instead of two nodes per layer, since a toy-GAN step is a few
hundred small ops; it does the composed ops' array operations in their order, so the numbers
are bitwise the same (``ToyGAN(fused=False)`` is the twin the tests hold it to).

One call of :meth:`ToyGAN.step` is ``n_critic`` critic updates (each on a fresh real batch
and fresh z) followed by one generator update; the critic is frozen during the generator
update so only G's weights get gradients.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from .. import nn
from ..nn import init as nn_init
from ..autograd import Tensor, apply, grad, is_grad_enabled, no_grad
from ..creation import tensor
from ..optim import EMA, Adam
from ..random import Generator
from . import gan
from .gp_fused import fused_gradient_penalty

__all__ = ["LOSSES", "ToyGAN", "cosine_tail", "fit_toy_gan", "fusable_layers", "fused_mlp",
           "mlp"]

LOSSES = ("sgan", "rsgan", "wgan_gp", "ganqp", "energy")


def mlp(in_features: int, width: int, out_features: int, depth: int = 3, bias: bool = True,
        slope: float = 0.0, init: str = "glorot",
        generator: Generator | None = None) -> nn.Sequential:
    """``depth`` hidden layers Linear(width) → ReLU (LeakyReLU(``slope``) if slope > 0), then
    a linear output layer (the WGAN-GP toy architecture is depth 3, width 512, ReLU).

    Weights are Glorot-uniform (Keras' default; Var = 2/(fan_in + fan_out)), or with
    ``init="he"`` He-uniform in the hidden layers (Var = 2/fan_in, which keeps the signal's
    scale through ReLUs; Glorot shrinks the signal of a 2-input first layer, so a fresh
    generator starts with its points near the origin). Biases start at zero.
    """
    if depth < 1 or width < 1:
        raise ValueError(f"mlp: depth and width must be positive, got {depth} and {width}")
    if init not in ("glorot", "he"):
        raise ValueError(f"mlp: init must be 'glorot' or 'he', got {init!r}")
    layers: list[nn.Module] = []
    d = in_features
    for _ in range(depth):
        linear = nn.Linear(d, width, bias=bias, generator=generator)
        if init == "he":
            nn_init.he_uniform_(linear.weight, generator=generator)
        layers += [linear, nn.LeakyReLU(slope) if slope > 0 else nn.ReLU()]
        d = width
    layers.append(nn.Linear(d, out_features, bias=bias, generator=generator))
    return nn.Sequential(*layers)


def fusable_layers(net: nn.Module) -> list[tuple[nn.Linear, str, float]] | None:
    """``net`` as (Linear, activation after it, LeakyReLU slope) per layer, activation one of
    "identity", "relu", "leaky_relu", if it is a flat ``nn.Sequential`` of Linear layers each
    optionally followed by ReLU or LeakyReLU (slope ≥ 0), without hooks (what :func:`mlp`
    builds); otherwise None."""
    if type(net) is not nn.Sequential or net._forward_hooks:
        return None
    layers: list[list] = []
    for m in net._modules.values():
        if m is None:
            continue
        if m._forward_hooks:
            return None
        if type(m) is nn.Linear:
            layers.append([m, "identity", 0.0])
        elif type(m) in (nn.ReLU, nn.LeakyReLU) and layers and layers[-1][1] == "identity":
            layers[-1][1] = "relu" if type(m) is nn.ReLU else "leaky_relu"
            layers[-1][2] = float(getattr(m, "negative_slope", 0.0))
            if layers[-1][2] < 0:  # then y > 0 is no longer x > 0: leave it to the module
                return None
        else:
            return None
    return [(lin, act, slope) for lin, act, slope in layers] if layers else None


def fused_mlp(net: nn.Sequential, x: Tensor,
              layers: list[tuple[nn.Linear, str, float]] | None = None) -> Tensor:
    """``net(x)`` for an MLP of Linear layers with ReLU or LeakyReLU (slope ≥ 0) between them,
    as **one graph node** instead of two per layer, with a NumPy backward pass. A toy-GAN step
    is a few hundred small ops, so the engine's per-op cost (a node, a Tensor, the checks) is
    a large part of it; this node does the same array operations as the composed ops, in
    the same order, so its values and gradients are *bitwise* those of ``net(x)``.

    ``layers`` is :func:`fusable_layers` of ``net`` (pass it to skip parsing ``net`` on every
    call). Anything else (another module, a negative slope, mixed dtypes, arrays that are
    not NumPy's, an input that is not a 2-D batch) takes ``net(x)``. A backward pass with
    ``create_graph=True`` differentiates ``net(x)``, the composed twin, instead, so higher
    orders work (the generic gradient penalty through a fused critic)."""
    layers = fusable_layers(net) if layers is None else layers
    if layers is None or not isinstance(x, Tensor):
        return net(x)
    h = x.data
    dtype = h.dtype
    ws = [lin.weight for lin, _, _ in layers]
    bs = [lin.bias for lin, _, _ in layers]
    if (type(h) is not np.ndarray or h.ndim != 2 or h.shape[1] != ws[0].data.shape[0]
            or dtype.kind != "f" or any(type(w.data) is not np.ndarray for w in ws)
            or any(w.data.dtype != dtype for w in ws)
            or any(b is not None and b.data.dtype != dtype for b in bs)):
        return net(x)
    inputs, outputs = [], []
    for (_, act, slope), w, b in zip(layers, ws, bs):  # ops.linear, relu and leaky_relu
        inputs.append(h)
        y = h @ w.data
        if b is not None:
            y += b.data
        if act == "relu":
            y = np.maximum(y, 0)
        elif act == "leaky_relu":
            y = np.where(y > 0, y, y * dtype.type(slope))
        outputs.append(y)
        h = y
    # the inputs that get a gradient are fixed now, as the engine fixes a node's parents
    parents = [t for t in [x, *(t for pair in zip(ws, bs) for t in pair)]
               if t is not None and t.requires_grad]
    if not (parents and is_grad_enabled()):
        return Tensor(h)
    wanted = {id(t) for t in parents}
    grads: dict[int, np.ndarray] = {}
    seen: list[Tensor] = []  # the upstream gradient the cached ones belong to

    def backward(g: Tensor) -> None:
        """Every wanted gradient at once, top layer first, with the composed VJPs' arrays:
        rectified_grad (g·[y > 0], or g·(slope + (1 − slope)·[y > 0])), then linear's
        gᵀ-products and its bias sum."""
        grads.clear()
        seen[:] = [g]
        d = g.data
        for i in range(len(layers) - 1, -1, -1):
            _, act, slope = layers[i]
            if act == "relu" or (act == "leaky_relu" and slope == 0):
                d = d * (outputs[i] > 0)
            elif act == "leaky_relu":
                factor = (outputs[i] > 0).astype(d.dtype)
                factor *= d.dtype.type(1 - slope)
                factor += d.dtype.type(slope)
                d = d * factor
            if id(ws[i]) in wanted:
                grads[id(ws[i])] = inputs[i].swapaxes(-2, -1) @ d
            if bs[i] is not None and id(bs[i]) in wanted:
                grads[id(bs[i])] = d.sum(axis=(0,))
            if i == 0 and id(x) not in wanted:
                break
            w = ws[i].data
            # one output (a critic's head): the product has one term per entry, so the
            # broadcast multiply gives the very same numbers without the slow K = 1 GEMM
            d = d * w.swapaxes(-2, -1) if w.shape[1] == 1 else d @ w.swapaxes(-2, -1)
        grads[id(x)] = d

    def vjp_of(t: Tensor):
        def vjp(g: Tensor, out: Tensor) -> Tensor:
            if is_grad_enabled():  # to be differentiated again: through the modules' ops
                return grad(net(x), t, grad_outputs=g, create_graph=True)
            if not seen or seen[0] is not g:  # the first VJP of this backward pass
                backward(g)
            return Tensor(grads[id(t)])
        return vjp

    return apply("fused_mlp", h, [(t, vjp_of(t)) for t in parents])


def cosine_tail(start: float = 0.5, final: float = 0.01) -> Callable[[float], float]:
    """A learning-rate factor of the training progress p ∈ [0, 1]: 1 until ``start``, then
    half a cosine down to ``final``: f(p) = final + (1 − final)·½(1 + cos(π·(p − s)/(1 − s)))."""
    if not 0 <= start < 1 or not 0 <= final <= 1:
        raise ValueError(f"cosine_tail: need 0 <= start < 1 and 0 <= final <= 1, got "
                         f"{start}, {final}")

    def factor(p: float) -> float:
        if p <= start:
            return 1.0
        u = min(1.0, (p - start) / (1 - start))
        return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * u))

    return factor


class ToyGAN:
    """A generator, a critic, their optimizers and one adversarial loss (see the module
    docstring for the table of losses).

    ``width`` is the hidden width of both networks, ``g_width`` (if given) the generator's.
    ``lam`` is λ of the loss (WGAN-GP and energy: the penalty weight; GAN-QP: the λ of
    ΔT²/(2λd)); ``distance`` is GAN-QP's d ("l1" or "l2"); ``ema`` is the EMA decay α of
    G's weights (None: no EMA); ``critic_bias=False`` drops the critic's biases (GAN-QP's
    reference critic has none). ``fused`` (CPU) runs each call of G and D as one
    :func:`fused_mlp` node, bitwise the numbers of the modules' own ops at a fraction of
    the per-op cost; ``fused=False`` calls the modules. ``seed`` fixes the weights and
    every random draw (z, the interpolation ε; the real batches handed to :meth:`step` are
    the caller's).
    """

    def __init__(self, loss: str, *, latent: int = 2, width: int = 128, depth: int = 3,
                 g_width: int | None = None,
                 lr_g: float = 1e-4, lr_d: float = 1e-4, betas: tuple[float, float] = (0.5, 0.9),
                 n_critic: int = 1, lam: float = 10.0, distance: str = "l2",
                 critic_bias: bool = True, slope: float = 0.0, init: str = "glorot",
                 ema: float | None = None,
                 penalty: str = "fused", fused: bool = True,
                 seed: int = 0, device: str = "cpu"):
        if loss not in LOSSES:
            raise ValueError(f"ToyGAN: loss must be one of {LOSSES}, got {loss!r}")
        if penalty not in ("fused", "generic"):
            raise ValueError(f"ToyGAN: penalty must be 'fused' or 'generic', got {penalty!r}")
        if n_critic < 1:
            raise ValueError(f"ToyGAN: n_critic must be >= 1, got {n_critic}")
        self.loss, self.latent, self.n_critic, self.lam = loss, latent, n_critic, lam
        self.distance, self.penalty, self.device = distance, penalty, device
        self.fused = fused and device == "cpu"
        self._parsed: dict[int, tuple[nn.Module, list]] = {}
        self.rng = Generator(seed, device)
        self.G = mlp(latent, width if g_width is None else g_width, 2, depth, slope=slope,
                     init=init, generator=self.rng).to(device)
        self.D = mlp(2, width, 1, depth, bias=critic_bias, slope=slope, init=init,
                     generator=self.rng).to(device)
        self.opt_g = Adam(self.G.parameters(), lr=lr_g, betas=betas)
        self.opt_d = Adam(self.D.parameters(), lr=lr_d, betas=betas)
        self.base_lrs = (lr_g, lr_d)
        self.ema = EMA(self.G, alpha=ema) if ema is not None else None

    # -- the networks ---------------------------------------------------------------------

    def _run(self, net: nn.Sequential, x: Tensor) -> Tensor:
        """``net(x)``, as one :func:`fused_mlp` node when ``fused`` (the same numbers)."""
        if not self.fused:
            return net(x)
        cached = self._parsed.get(id(net))
        if cached is None or cached[0] is not net:
            cached = self._parsed[id(net)] = (net, fusable_layers(net))
        return net(x) if cached[1] is None else fused_mlp(net, x, cached[1])

    # -- the losses -----------------------------------------------------------------------

    def _penalty(self, real: Tensor, fake: Tensor, kind: str) -> Tensor:
        fn = fused_gradient_penalty if self.penalty == "fused" else gan.gradient_penalty
        return fn(self.D, real, fake, kind=kind, generator=self.rng)

    def critic_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        """The critic's loss on a real batch and a (detached) fake batch."""
        d_real, d_fake = self._run(self.D, real), self._run(self.D, fake)
        if self.loss == "sgan":
            return gan.sgan_d_loss(d_real, d_fake)
        if self.loss == "rsgan":
            return gan.rsgan_d_loss(d_real, d_fake)
        if self.loss == "ganqp":
            return gan.ganqp_d_loss(d_real, d_fake, real, fake, self.lam, self.distance)
        # WGAN-GP and the energy view share E_p U − E_q U = E D(x_f) − E D(x_r); only the
        # penalty differs: two-sided at interpolates vs zero-centred at the real samples
        # (‖∇U‖ = ‖∇D‖, so the sign of U = −D does not matter to it).
        kind = "two_sided" if self.loss == "wgan_gp" else "zero_centred"
        return gan.wgan_d_loss(d_real, d_fake) + self.lam * self._penalty(real, fake, kind)

    def generator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        """The generator's loss; ``fake`` = G(z) carries the graph back to G."""
        d_fake = self._run(self.D, fake)
        if self.loss == "sgan":
            return gan.sgan_g_loss(d_fake)  # non-saturating
        if self.loss in ("wgan_gp", "energy"):
            return gan.wgan_g_loss(d_fake)
        with no_grad():
            d_real = self._run(self.D, real)
        if self.loss == "rsgan":
            return gan.rsgan_g_loss(d_real, d_fake)
        return gan.ganqp_g_loss(d_real, d_fake)

    # -- training -------------------------------------------------------------------------

    def noise(self, n: int) -> Tensor:
        """z ~ N(0, I) of shape (n, latent) from this GAN's generator."""
        return self.rng.normal(n, self.latent)

    def set_lr_factor(self, factor: float) -> None:
        """Scale both learning rates to ``factor`` times their initial values."""
        for opt, base in zip((self.opt_g, self.opt_d), self.base_lrs):
            for group in opt.param_groups:
                group["lr"] = base * factor

    def _as_tensor(self, x) -> Tensor:
        return x if isinstance(x, Tensor) else tensor(x, device=self.device)

    def critic_step(self, real) -> float:
        """One critic update on a real batch (array or Tensor) and as many fresh fakes."""
        real = self._as_tensor(real)
        with no_grad():
            fake = self._run(self.G, self.noise(real.shape[0]))
        loss = self.critic_loss(real, fake)
        self.opt_d.zero_grad()
        loss.backward()
        self.opt_d.step()
        return loss.item()

    def generator_step(self, real) -> float:
        """One generator update (the critic frozen); then the EMA of G, if any."""
        real = self._as_tensor(real)
        critic = [p for group in self.opt_d.param_groups for p in group["params"]]
        for p in critic:  # D.requires_grad_(False) without walking the module tree
            p.requires_grad = False
        try:
            loss = self.generator_loss(real, self._run(self.G, self.noise(real.shape[0])))
            self.opt_g.zero_grad()
            loss.backward()
            self.opt_g.step()
        finally:
            for p in critic:
                p.requires_grad = True
        if self.ema is not None:
            self.ema.update()
        return loss.item()

    def step(self, real_batch: Callable[[], np.ndarray]) -> tuple[float, float]:
        """``n_critic`` critic updates, then one generator update; ``real_batch()`` returns a
        fresh (B, 2) batch of data each time it is called. Returns the last two losses."""
        for _ in range(self.n_critic):
            d_loss = self.critic_step(real_batch())
        return d_loss, self.generator_step(real_batch())

    def train(self, real_batch: Callable[[], np.ndarray], steps: int,
              lr_factor: Callable[[float], float] | None = None,
              callback: Callable[[int, ToyGAN], None] | None = None) -> list[tuple[float, float]]:
        """``steps`` calls of :meth:`step`; before each, both learning rates are set to
        ``lr_factor(t / steps)`` times their initial values (None: constant).
        ``callback(t, self)`` runs after step t (1-based). Returns the losses per step."""
        history = []
        for t in range(steps):
            if lr_factor is not None:
                self.set_lr_factor(lr_factor(t / steps))
            history.append(self.step(real_batch))
            if callback is not None:
                callback(t + 1, self)
        return history

    # -- using it -------------------------------------------------------------------------

    def sample(self, n: int, averaged: bool = True, batch: int = 2500) -> np.ndarray:
        """``n`` generated points (n, 2) as float64 NumPy, with the EMA weights when there
        are some and ``averaged``."""
        def draw() -> np.ndarray:
            with no_grad():
                return np.concatenate([self._run(self.G, self.noise(min(batch, n - i))).numpy()
                                       for i in range(0, n, batch)]).astype(np.float64)
        if self.ema is not None and averaged:
            with self.ema.averaged():
                return draw()
        return draw()

    def critic(self, points: np.ndarray) -> np.ndarray:
        """The critic's score D(x) at ``points`` (N, 2), as NumPy (N,)."""
        with no_grad():
            x = tensor(np.asarray(points, dtype=self.D[0].weight.dtype), device=self.device)
            return self._run(self.D, x).numpy().reshape(-1)


def fit_toy_gan(gan: dict, sampler: Callable[..., np.ndarray], steps: int, seed: int,
                data_seed: int, *, scale: float = 1.0, batch: int = 256,
                schedule: dict | None = None, samples: int = 2500, modes=None) -> dict:
    """Train ``ToyGAN(**gan, seed=seed)`` for ``steps`` generator steps on fresh batches
    ``sampler(batch, Generator(data_seed)) / scale`` (e.g. ``tinygen.data.toys.ring``), with
    the learning rates scaled by ``cosine_tail(**schedule)`` (None: constant); then draw
    ``samples`` points, multiplied back by ``scale``. A job for
    :func:`tinygen.parallel.map_jobs`: plain arguments in, plain data out, determined by its
    arguments alone. Returns ``{"samples": (samples, 2) float64, "seconds": training and
    scoring time}`` and, when ``modes`` (a :class:`tinygen.data.toys.Modes`) is given, the
    PacGAN score of the samples, ``"modes"`` (covered) and ``"hq"`` (high-quality
    fraction), from :func:`tinygen.metrics.mode_coverage`."""
    from ..metrics import mode_coverage

    t0 = time.perf_counter()
    toy = ToyGAN(**gan, seed=seed)
    data = Generator(data_seed)
    toy.train(lambda: sampler(batch, data) / scale, steps,
              lr_factor=None if schedule is None else cosine_tail(**schedule))
    out: dict = {"samples": scale * toy.sample(samples)}
    if modes is not None:
        score = mode_coverage(out["samples"], modes)
        out.update(modes=score["modes"], hq=score["high_quality"])
    out["seconds"] = time.perf_counter() - t0
    return out
