r"""LAPGAN (Denton, Chintala, Szlam & Fergus 2015), from the GAN survey post: a Laplacian
pyramid of conditional GANs that draws an image coarse to fine.

**The pyramid.** With d = 2×2 block means (side s → s/2) and u = nearest-neighbour
upsampling (s/2 → s), an image I₀ of side s splits into a coarse image I_K = d^K(I₀) and K
residuals h_k = I_k − u(I_{k+1}), k = K−1 … 0. It is rebuilt exactly by

    I_k = u(I_{k+1}) + h_k        (k = K−1, …, 0),

and since d(u(x)) = x, every real residual has zero 2×2 block means: it holds only the
detail the coarser level cannot. :func:`laplacian_pyramid` and :func:`reconstruct` do both in
NumPy.

**The generators.** Level K is an ordinary GAN on the coarse images (:class:`CoarseGenerator`,
an MLP). Every finer level k is a conditional GAN: :class:`ResidualGenerator` gets the
upsampled coarser image u(I_{k+1}) and a plane of noise as two input channels and returns
a residual h̃_k; :class:`ResidualCritic` judges the pair (h, u(I_{k+1})). Each level is
trained on its own, conditioned on *real* coarser images (:func:`train_level`); to sample,
:meth:`LapGAN.sample` chains them: Ĩ_K = G_K(z_K), Ĩ_k = clip(u(Ĩ_{k+1}) + G_k(u(Ĩ_{k+1}), z_k)).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from .. import nn, ops
from ..autograd import Tensor, as_tensor, no_grad
from ..creation import tensor
from ..data import load_digits, load_mnist5k
from ..errors import ArgumentError, ShapeError
from ..random import manual_seed
from .cond_gans import gan_rounds
from .gan import gradient_penalty, sgan_d_loss, sgan_g_loss
from .image_gans import Generator, gan_images, make_critic, train_gan

__all__ = ["CoarseGenerator", "LapGAN", "ResidualCritic", "ResidualGenerator", "build_part",
           "downsample", "fit_part", "laplacian_pyramid", "lesson_images", "reconstruct",
           "train_level", "upsample"]


def _images(name: str, x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[2] != x.shape[3]:
        raise ShapeError(f"{name}: expects square images (N, C, s, s), got shape {x.shape}")
    return x


def downsample(x: np.ndarray) -> np.ndarray:
    """2×2 block means: (N, C, s, s) → (N, C, s/2, s/2); s must be even."""
    x = _images("downsample", x)
    n, c, s, _ = x.shape
    if s % 2:
        raise ShapeError(f"downsample: the side must be even, got {s}")
    return x.reshape(n, c, s // 2, 2, s // 2, 2).mean(axis=(3, 5))


def upsample(x: np.ndarray) -> np.ndarray:
    """Nearest-neighbour doubling: (N, C, s, s) → (N, C, 2s, 2s), each pixel a 2×2 block
    (so ``downsample(upsample(x)) == x``)."""
    x = _images("upsample", x)
    return x.repeat(2, axis=2).repeat(2, axis=3)


def laplacian_pyramid(images: np.ndarray, levels: int) -> list[np.ndarray]:
    """[I_K, h_{K−1}, …, h_0] for images (N, C, s, s) and K = ``levels``: the coarse image of
    side s/2^K first, then the residuals from coarse to fine (side s/2^(k), k = K−1 … 0)."""
    images = _images("laplacian_pyramid", images)
    side = images.shape[-1]
    if levels < 1 or side % 2 ** levels:
        raise ShapeError(f"laplacian_pyramid: the side {side} must be divisible by 2^levels "
                         f"with levels ≥ 1, got levels = {levels}")
    residuals, current = [], images
    for _ in range(levels):
        coarse = downsample(current)
        residuals.append(current - upsample(coarse))
        current = coarse
    return [current] + residuals[::-1]


def reconstruct(pyramid: Sequence[np.ndarray]) -> np.ndarray:
    """The image of a pyramid [I_K, h_{K−1}, …, h_0]: I_k = u(I_{k+1}) + h_k."""
    if len(pyramid) < 2:
        raise ShapeError(f"reconstruct: needs a coarse image and at least one residual, got "
                         f"{len(pyramid)} array(s)")
    image = _images("reconstruct", pyramid[0])
    for residual in pyramid[1:]:
        up = upsample(image)
        if np.shape(residual) != up.shape:
            raise ShapeError(f"reconstruct: a residual of shape {np.shape(residual)} does not "
                             f"match the upsampled coarser image {up.shape}")
        image = up + residual
    return image


class CoarseGenerator(nn.Module):
    """The coarsest level: z (B, z_dim) → images (B, 1, side, side) in [−1, 1] by an MLP
    (Linear → ReLU → Linear → ReLU → Linear → tanh)."""

    def __init__(self, z_dim: int, side: int, hidden: int = 128):
        super().__init__()
        self.z_dim, self.side = z_dim, side
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, side * side))

    def forward(self, z) -> Tensor:
        return ops.reshape(ops.tanh(self.net(z)), (-1, 1, self.side, self.side))


def coarse_critic(side: int, hidden: int = 128) -> nn.Sequential:
    """The coarsest level's critic: images (B, 1, side, side) → scores (B, 1) by an MLP."""
    return nn.Sequential(nn.Flatten(), nn.Linear(side * side, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))


class ResidualGenerator(nn.Module):
    """A finer level: (u(coarser) (B, 1, s, s), noise (B, 1, s, s)) → residual (B, 1, s, s).

    The two are stacked as channels and pass through ``layers`` 3×3 convolutions of
    ``channels`` maps (BatchNorm and ReLU between them) and a last 3×3 convolution to one
    map, scaled by tanh to (−``scale``, ``scale``): a residual is a difference of two
    images in [−1, 1]. ``zero_mean=True`` then subtracts u(d(h)), the residual's 2×2 block
    means, which every real residual has at zero: the level can then add detail only, never
    shift the coarser image it was given. ``bounded=True`` multiplies h by 1 − |u(coarser)|:
    a 2×2 block of pixels in [−1, 1] with mean l deviates from l by at most 3(1 − |l|) (the
    other three pixels must make up the mean), so a real residual is exactly zero wherever
    the coarser pixel is ±1 (blank background, solid ink) and small near it; with
    ``scale`` = 1.5 and ``zero_mean`` the generated residual obeys the same bound. Both
    factors are constant on each 2×2 block, so zero block means stay zero."""

    def __init__(self, channels: int = 32, layers: int = 3, scale: float = 2.0,
                 zero_mean: bool = False, bounded: bool = False):
        super().__init__()
        if layers < 1:
            raise ShapeError(f"ResidualGenerator: layers must be at least 1, got {layers}")
        self.scale, self.zero_mean, self.bounded = scale, zero_mean, bounded
        body, c_in = [], 2
        for _ in range(layers):
            body += [nn.Conv2d(c_in, channels, 3, padding="same"), nn.BatchNorm2d(channels),
                     nn.ReLU()]
            c_in = channels
        body.append(nn.Conv2d(c_in, 1, 3, padding="same"))
        self.body = nn.Sequential(*body)

    def forward(self, coarse_up, noise) -> Tensor:
        coarse_up, noise = as_tensor(coarse_up), as_tensor(noise)
        if coarse_up.ndim != 4 or coarse_up.shape[1] != 1 or noise.shape != coarse_up.shape:
            raise ShapeError(f"ResidualGenerator: expects an upsampled image (B, 1, s, s) and "
                             f"noise of the same shape, got {coarse_up.shape} and {noise.shape}")
        h = ops.tanh(self.body(ops.concat([coarse_up, noise], axis=1))) * self.scale
        if self.zero_mean:
            h = h - ops.upsample(ops.avg_pool2d(h, 2), 2)
        if self.bounded:
            h = h * (1.0 - ops.abs(coarse_up.detach()))
        return h


class ResidualCritic(nn.Module):
    """A finer level's critic: (residual, u(coarser)) → scores (B, 1). The pair is stacked as
    two channels: k × [Conv 4×4 stride 2, LeakyReLU 0.2] → Flatten → Linear."""

    def __init__(self, side: int, channels: Sequence[int] = (32, 64)):
        super().__init__()
        layers, c_in = [], 2
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c_in, side = c_out, (side + 2 - 4) // 2 + 1
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * side * side, 1))

    def forward(self, residual, coarse_up) -> Tensor:
        return self.net(ops.concat([as_tensor(residual), as_tensor(coarse_up)], axis=1))


def train_level(generator: nn.Module, critic: nn.Module, targets: np.ndarray,
                conditions: np.ndarray | None, d_loss: Callable, g_loss: Callable, steps: int, *,
                batch: int = 64, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999),
                r1: float = 0.0, seed: int = 0, device: str = "cpu", log_every: int = 0) -> dict:
    """Train one pyramid level for ``steps`` rounds of one critic and one generator step
    (Adam for both). ``conditions`` None: the coarsest level, an ordinary GAN on ``targets``
    (the coarse images), G(z) with z ~ N(0, I). Otherwise ``targets`` are real residuals and
    ``conditions`` the matching upsampled real coarser images; fakes are G(c, noise) for real
    conditions c, and the critic scores (residual, c) pairs. ``d_loss(d_real, d_fake)`` and
    ``g_loss(d_fake)`` get the scores. ``r1`` > 0 adds the zero-centred gradient penalty
    (r1/2)·E‖∇ₓD(x, c)‖² on the real batch to the critic's loss (R1 of Mescheder et al. 2018;
    the gradient with respect to the image or residual x, the condition c held fixed), which
    keeps the critic from growing steep around the data and the small GANs from oscillating.
    Returns {"d_loss", "g_loss" (per round; the critic's with the penalty), "seconds"}."""
    if conditions is not None and np.shape(conditions) != np.shape(targets):
        raise ShapeError(f"train_level: conditions {np.shape(conditions)} must match the "
                         f"targets {np.shape(targets)}")
    rng = np.random.default_rng(seed)

    def draw():
        idx = rng.integers(0, len(targets), batch)
        if conditions is None:
            z = rng.standard_normal((batch, generator.z_dim)).astype(np.float32)
            return tensor(targets[idx], device=device), None, (tensor(z, device=device),)
        c = tensor(conditions[idx], device=device)
        noise = tensor(rng.standard_normal(conditions[idx].shape).astype(np.float32),
                       device=device)
        return tensor(targets[idx], device=device), c, (c, noise)

    def score(x, c):
        return critic(x) if c is None else critic(x, c)

    def penalty(x, c):
        return 0.5 * r1 * gradient_penalty(lambda x: score(x, c), x, kind="zero_centred")

    return gan_rounds(generator, critic, draw, score, d_loss, g_loss, steps, lr=lr, betas=betas,
                      penalty=penalty if r1 else None, log_every=log_every)


class LapGAN:
    """A coarse generator and one residual generator per finer level, chained to sample.

    ``coarse``: a :class:`CoarseGenerator` of side s/2^K; ``levels``: K
    :class:`ResidualGenerator`\\ s, coarse to fine."""

    def __init__(self, coarse: CoarseGenerator, levels: Sequence[nn.Module]):
        if not levels:
            raise ShapeError("LapGAN: needs at least one residual level")
        self.coarse, self.levels = coarse, list(levels)

    @property
    def side(self) -> int:
        return self.coarse.side * 2 ** len(self.levels)

    def sample_pyramid(self, n: int, rng: np.random.Generator, device: str = "cpu",
                       upto: int | None = None) -> list[np.ndarray]:
        """The generated pyramid of n samples, [Ĩ_K, h̃_{K−1}, …] (BatchNorm in eval mode):
        ``reconstruct`` of it, clipped to [−1, 1] level by level, is :meth:`sample`. ``upto``
        stops after that many residual levels (0: the coarse images only)."""
        upto = len(self.levels) if upto is None else upto
        nets = [self.coarse, *self.levels]
        modes = [m.training for m in nets]
        for m in nets:
            m.eval()
        with no_grad():
            z = rng.standard_normal((n, self.coarse.z_dim)).astype(np.float32)
            image = self.coarse(tensor(z, device=device)).numpy()
            pyramid = [image]
            for level in self.levels[:upto]:
                up = upsample(image)
                noise = rng.standard_normal(up.shape).astype(np.float32)
                residual = level(tensor(up, device=device), tensor(noise, device=device)).numpy()
                residual = np.clip(up + residual, -1.0, 1.0) - up
                pyramid.append(residual)
                image = up + residual
        for m, mode in zip(nets, modes):
            m.train(mode)
        return pyramid

    def sample(self, n: int, rng: np.random.Generator, device: str = "cpu",
               upto: int | None = None) -> np.ndarray:
        """n images (n, 1, side, side) in [−1, 1], drawn coarse to fine."""
        pyramid = self.sample_pyramid(n, rng, device, upto)
        return pyramid[0] if len(pyramid) == 1 else reconstruct(pyramid)

    def parameter_count(self) -> int:
        return sum(int(np.prod(p.shape)) for m in (self.coarse, *self.levels)
                   for p in m.parameters())


def lesson_images(data: str) -> tuple[np.ndarray, np.ndarray]:
    """Lesson 26's training and test images, (N, 1, s, s) float32 in [−1, 1] at full size:
    ``"digits 8x8"`` (scikit-learn's digits) or ``"mnist5k 28x28"``."""
    loaders = {"digits 8x8": load_digits, "mnist5k 28x28": load_mnist5k}
    if data not in loaders:
        raise ArgumentError(f"lesson_images: data must be one of {sorted(loaders)}, got "
                            f"{data!r}")
    (x_train, _), _, (x_test, _) = loaders[data]()
    return gan_images(x_train), gan_images(x_test)


def build_part(part: str, nets: dict, sides: Sequence[int]) -> tuple[nn.Module, nn.Module]:
    """The (generator, critic) of one part of lesson 26, from the current global seed:
    ``"coarse"`` (:class:`CoarseGenerator` and :func:`coarse_critic` of side ``sides[0]``),
    ``"level k"`` (:class:`ResidualGenerator` ``(**nets["levels"][k − 1])`` and a
    :class:`ResidualCritic` of side ``sides[k]``), or ``"DCGAN"``, the single-scale baseline
    (:class:`~tinygen.models.image_gans.Generator` ``(z_dim, sides[-1], nets["dcgan"])`` and
    DCGAN's BatchNorm critic). ``nets``: ``z_dim``, ``levels`` (one dict per residual level,
    coarse to fine), ``critic`` (the critics' channels) and ``dcgan`` (the baseline's)."""
    if part == "coarse":
        return CoarseGenerator(nets["z_dim"], sides[0]), coarse_critic(sides[0])
    if part == "DCGAN":
        return (Generator(nets["z_dim"], sides[-1], nets["dcgan"]),
                make_critic(sides[-1], nets["critic"], batchnorm=True))
    k = int(part.split()[-1]) if part.startswith("level ") and part[6:].isdigit() else 0
    if not 1 <= k <= len(nets["levels"]) or len(sides) != len(nets["levels"]) + 1:
        raise ArgumentError(f"build_part: part must be 'coarse', 'DCGAN' or 'level k' with "
                            f"1 ≤ k ≤ {len(nets['levels'])} and one side per level, got "
                            f"{part!r} and sides {list(sides)}")
    return ResidualGenerator(**nets["levels"][k - 1]), ResidualCritic(sides[k], nets["critic"])


def fit_part(part: str, data: str, nets: dict, train: dict, seed: int = 0,
             log_every: int = 0) -> dict:
    """Train one part of lesson 26 from start to finish with only plain values in and out, so
    that the parts can run side by side in worker processes
    (:func:`tinygen.parallel.map_jobs`): the pyramid levels are independent, each trained on
    real images (the coarse level on the real coarse images, level k on the real residuals
    given the real upsampled coarser images), and so is the single-scale DCGAN.

    The images come from :func:`lesson_images` (``data``), the networks from
    :func:`build_part` after ``manual_seed(seed)``; ``train``: ``rounds`` (of one critic and
    one generator step), ``lr``, ``batch`` and ``r1`` (the zero-centred gradient penalty's
    weight, for every critic alike), the non-saturating GAN loss and Adam (β₁ = 0.5) for all.
    Returns ``state`` (the trained generator's parameters and buffers as arrays), ``d_loss``
    and ``g_loss`` (per round), ``params`` (the generator's) and ``cpu_seconds`` (this
    process's CPU time for the whole job)."""
    started = time.process_time()
    real, _ = lesson_images(data)
    levels = len(nets["levels"])
    pyramid = laplacian_pyramid(real, levels)
    manual_seed(seed)
    generator, critic = build_part(part, nets, [p.shape[-1] for p in pyramid])
    common = dict(batch=train["batch"], lr=train["lr"], seed=seed, log_every=log_every)
    if part == "DCGAN":
        r1 = train["r1"]

        def d_loss(d, x_r, x_f):
            loss = sgan_d_loss(d(x_r), d(x_f))
            return loss + 0.5 * r1 * gradient_penalty(d, x_r, kind="zero_centred") if r1 else loss

        history = train_gan(generator, critic, real, d_loss,
                            lambda d, x_r, x_f: sgan_g_loss(d(x_f)), train["rounds"], **common)
    elif part == "coarse":
        history = train_level(generator, critic, pyramid[0], None, sgan_d_loss, sgan_g_loss,
                              train["rounds"], r1=train["r1"], **common)
    else:
        k = int(part.split()[-1])
        condition = upsample(reconstruct(pyramid[:k]) if k > 1 else pyramid[0])
        history = train_level(generator, critic, pyramid[k], condition, sgan_d_loss,
                              sgan_g_loss, train["rounds"], r1=train["r1"], **common)
    return {"state": {key: t.numpy() for key, t in generator.state_dict().items()},
            "d_loss": np.asarray(history["d_loss"]), "g_loss": np.asarray(history["g_loss"]),
            "params": int(sum(p.size for p in generator.parameters())),
            "cpu_seconds": time.process_time() - started}
