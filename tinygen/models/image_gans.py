"""Small DCGAN-style image GANs for the lessons: data, networks, a training loop, a
sample-quality score and a sample-grid figure.

Everything is built from :mod:`tinygen.nn` layers and the losses of
:mod:`tinygen.models.gan`; the lessons pass in the loss they are about.

* :func:`gan_images` turns (N, H, W) images in [0, 1] into (N, 1, s, s) in [−1, 1]
  (block means shrink 28×28 MNIST to 14×14, which a 2-core CPU can train in minutes).
* :class:`Generator`: z → Linear → (C₀, s/2ᵏ, s/2ᵏ) → k × [BatchNorm, ReLU, ConvTranspose
  4×4 stride 2] → BatchNorm, ReLU → Conv 3×3 → tanh.
* :func:`make_critic`: k × [Conv 4×4 stride 2, LeakyReLU 0.2] → Flatten → Linear → one score
  per image; optionally without biases and/or spectrally normalised
  (:class:`~tinygen.nn.SpectralNorm`).
* :func:`train_gan`: alternating critic and generator steps with Adam, sample snapshots from
  a fixed z at checkpoints, loss curves.
* :class:`DigitScorer`: a small CNN trained on the real digits, used to score samples by its
  confidence, the classes it sees and the "classifier score" exp(E KL(p(y|x) ‖ p(y))).
* :func:`plot_sample_rows`: a figure whose rows are sample grids (e.g. training checkpoints).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence

import numpy as np

from .. import functional as F
from .. import nn, ops
from ..autograd import Tensor, no_grad
from ..creation import tensor
from ..data import load_digits, load_fashion_mnist, load_mnist5k, load_mnist10k
from ..data.sources import cache_dir, sha256_of
from ..errors import ArgumentError
from ..fileio import atomic_write, atomic_write_text
from ..metrics import frechet_feature_distance
from ..optim import Adam
from ..random import manual_seed
from . import gan

__all__ = ["digit_data", "digit_feature_net", "DigitScorer", "FEATURE_NETS", "Generator",
           "gan_images", "make_critic", "plot_sample_rows", "sample", "train_gan"]


def gan_images(images: np.ndarray, size: int | None = None) -> np.ndarray:
    """(N, H, W) in [0, 1] → (N, 1, size, size) float32 in [−1, 1] (a tanh generator's range).

    ``size`` must divide H (and W): each output pixel is the mean of an (H/size)² block,
    e.g. 28 → 14 averages 2×2 blocks. ``None`` keeps the size.
    """
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape
    size = h if size is None else size
    if h % size or w % size or h != w:
        raise ValueError(f"gan_images: size {size} must divide square images, got {h}×{w}")
    f = h // size
    small = images.reshape(n, size, f, size, f).mean(axis=(2, 4))
    return (2.0 * small - 1.0)[:, None].astype(np.float32)


def digit_data(quick: bool, data: str = "mnist"
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """The image lessons' data, through :func:`gan_images`: (training images, their labels,
    test images, their labels, side). ``quick``: the bundled 8×8 digits; otherwise MNIST-5k
    averaged down to 14×14 (``data="mnist10k"``: the 10k set's 8,000 and 1,000), or with
    ``data="fashion"`` Fashion-MNIST at 14×14 (the first 10,000 training images, the set its
    Fréchet feature net was trained on, and the first 2,000 test images)."""
    if data not in ("mnist", "mnist10k", "fashion"):
        raise ArgumentError(f"digit_data: data must be 'mnist', 'mnist10k' or 'fashion', got "
                            f"{data!r}")
    if quick:
        (x_train, y_train), _, (x_test, y_test) = load_digits()
        return gan_images(x_train, 8), y_train, gan_images(x_test, 8), y_test, 8
    if data == "fashion":
        (x_train, y_train), _, (x_test, y_test) = load_fashion_mnist()
        x_train, y_train, x_test, y_test = x_train[:10_000], y_train[:10_000], \
            x_test[:2_000], y_test[:2_000]
    elif data == "mnist10k":
        (x_train, y_train), _, (x_test, y_test) = load_mnist10k()
    else:
        (x_train, y_train), _, (x_test, y_test) = load_mnist5k()
    return gan_images(x_train, 14), y_train, gan_images(x_test, 14), y_test, 14


class Generator(nn.Module):
    """DCGAN-style generator: z (B, z_dim) → images (B, 1, size, size) in [−1, 1].

    ``channels`` = (C₀, C₁, ..., C_k): a Linear layer makes C₀ maps of side size/2ᵏ, then each
    of the k ConvTranspose2d(4, stride 2, padding 1) doubles the side,
    (H − 1)·2 − 2 + 4 = 2H, going C_{i−1} → C_i channels; a 3×3 conv maps C_k to one channel.
    BatchNorm2d + ReLU come before every convolution, tanh at the end (``batchnorm=False``:
    ReLU alone).
    """

    def __init__(self, z_dim: int, size: int, channels: Sequence[int] = (64, 32),
                 upsample: str = "transpose", batchnorm: bool = True):
        super().__init__()
        k = len(channels) - 1
        if k < 1 or size % 2 ** k:
            raise ValueError(f"Generator: size {size} must be divisible by 2^{k} "
                             f"({len(channels)} channel counts give {k} upsamplings)")
        self.z_dim, self.size, self.channels = z_dim, size, tuple(channels)
        self.base = size // 2 ** k
        self.project = nn.Linear(z_dim, channels[0] * self.base ** 2)
        layers = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [nn.BatchNorm2d(c_in), nn.ReLU()] if batchnorm else [nn.ReLU()]
            if upsample == "transpose":
                layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
            else:
                layers += [nn.Upsample(2), nn.Conv2d(c_in, c_out, 3, padding="same")]
        layers += [nn.BatchNorm2d(channels[-1])] if batchnorm else []
        layers += [nn.ReLU(), nn.Conv2d(channels[-1], 1, 3, padding="same")]
        self.body = nn.Sequential(*layers)

    def forward(self, z) -> Tensor:
        h = ops.reshape(self.project(z), (-1, self.channels[0], self.base, self.base))
        return ops.tanh(self.body(h))


def make_critic(size: int, channels: Sequence[int] = (32, 64), bias: bool = True,
                spectral: bool = False, batchnorm: bool = False) -> nn.Sequential:
    """Conv critic: images (B, 1, size, size) → scores (B, 1).

    Each Conv2d(4, stride 2, padding 1) maps side H to ⌊H/2⌋ (C_{i−1} → C_i channels, C₋₁ = 1),
    followed by LeakyReLU(0.2); then Flatten and Linear(·, 1). No BatchNorm by default: a critic
    that compares pairs should score each image on its own. ``bias=False`` drops every bias (the
    GAN-QP critic's; the output bias cancels in T(x_r) − T(x_f) anyway); ``spectral=True``
    wraps every layer in spectral normalisation (:class:`~tinygen.nn.SpectralNorm`, which
    reads a conv weight as the matrix (C_out, C_in·kH·kW)). ``batchnorm=True`` makes it DCGAN's
    discriminator: BatchNorm2d after every convolution but the first.
    """
    layers, c_in, side = [], 1, size
    for i, c_out in enumerate(channels):
        conv = nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=bias)
        layers.append(nn.SpectralNorm(conv) if spectral else conv)
        layers += [nn.BatchNorm2d(c_out)] if batchnorm and i > 0 else []
        layers.append(nn.LeakyReLU(0.2))
        c_in, side = c_out, (side + 2 - 4) // 2 + 1
    head = nn.Linear(c_in * side * side, 1, bias=bias)
    return nn.Sequential(*layers, nn.Flatten(), nn.SpectralNorm(head) if spectral else head)


def sample(generator: Generator, z: np.ndarray, device: str = "cpu",
           batch: int = 500) -> np.ndarray:
    """Images G(z) as a NumPy array (B, 1, s, s), with BatchNorm in eval mode (running
    statistics), ``batch`` at a time; the generator's mode is restored afterwards."""
    was = generator.training
    generator.eval()
    with no_grad():
        out = np.concatenate([generator(tensor(z[i:i + batch], device=device)).numpy()
                              for i in range(0, len(z), batch)])
    generator.train(was)
    return out


def train_gan(generator: Generator, critic: nn.Module, real: np.ndarray,
              d_loss: Callable, g_loss: Callable, steps: int, *, d_steps: int = 1,
              g_steps: int = 1, batch: int = 64, lr: float = 2e-4,
              betas: tuple[float, float] = (0.5, 0.999), checkpoints: Sequence[int] = (),
              z_fixed: np.ndarray | None = None, on_checkpoint: Callable | None = None,
              seed: int = 0, device: str = "cpu", log_every: int = 0) -> dict:
    """Train a GAN for ``steps`` rounds; each round is ``d_steps`` critic updates followed by
    ``g_steps`` generator updates, each on a fresh real batch and fresh z ~ N(0, I).

    ``d_loss(critic, x_real, x_fake)`` and ``g_loss(critic, x_real, x_fake)`` return the
    losses to minimise (x_fake is detached for the critic, differentiable for the
    generator). Adam(lr, betas) for both players. After the rounds listed in ``checkpoints``
    (0 = before training) the samples G(z_fixed) are stored and ``on_checkpoint(round)``
    is called. Returns {"d_loss": [...], "g_loss": [...] (one mean per round),
    "snapshots": {round: images}, "seconds": wall time}.
    """
    rng = np.random.default_rng(seed)
    opt_d = Adam(critic.parameters(), lr=lr, betas=betas)
    opt_g = Adam(generator.parameters(), lr=lr, betas=betas)
    history = {"d_loss": [], "g_loss": [], "snapshots": {}}
    z_dim = generator.z_dim

    def batch_of_real() -> Tensor:
        return tensor(real[rng.integers(0, len(real), batch)], device=device)

    def z_batch() -> Tensor:
        return tensor(rng.standard_normal((batch, z_dim)).astype(np.float32), device=device)

    def checkpoint(step: int) -> None:
        if step in checkpoints:
            if z_fixed is not None:
                history["snapshots"][step] = sample(generator, z_fixed, device)
            if on_checkpoint is not None:
                on_checkpoint(step)

    generator.train(), critic.train()
    started = time.perf_counter()
    checkpoint(0)
    for step in range(1, steps + 1):
        losses = []
        for _ in range(d_steps):
            with no_grad():
                x_fake = generator(z_batch())
            loss = d_loss(critic, batch_of_real(), x_fake)
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
            losses.append(float(loss))
        history["d_loss"].append(float(np.mean(losses)))
        losses = []
        for _ in range(g_steps):
            loss = g_loss(critic, batch_of_real(), generator(z_batch()))
            opt_g.zero_grad()
            loss.backward()
            opt_g.step()
            losses.append(float(loss))
        history["g_loss"].append(float(np.mean(losses)))
        if log_every and step % log_every == 0:
            print(f"  round {step:>5}/{steps}: critic loss {history['d_loss'][-1]:+.4f}, "
                  f"generator loss {history['g_loss'][-1]:+.4f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        checkpoint(step)
    history["seconds"] = time.perf_counter() - started
    return history


def fit_gan(generator: dict, critic: dict, losses: tuple[Callable, Callable],
            real: np.ndarray, steps: int, *, seed: int = 0, checkpoints: Sequence[int] = (),
            device: str = "cpu", generator_class: type = Generator, **train) -> dict:
    """:func:`train_gan` as a job for :func:`tinygen.parallel.run_jobs`, so that two runs
    train side by side in two worker processes.

    Seeds the engine with ``seed``, builds ``generator_class(**generator)`` (:class:`Generator`
    or another importable class with a ``z_dim``), then ``make_critic(**critic)``, and trains
    them with ``losses`` = (d_loss, g_loss) (module-level functions or ``functools.partial``
    of them, so that they travel to a worker; see :func:`gan_losses`) and the other settings
    of :func:`train_gan`. Returns its history plus ``"states"``: {round: (generator state,
    critic state)} as NumPy arrays at every checkpoint. The caller rebuilds both players
    there (:func:`players_at`) and measures them, which gives the numbers an
    ``on_checkpoint`` in the training loop would: measuring in eval mode changes nothing
    (BatchNorm's statistics and spectral norm's vector move only in train mode)."""
    manual_seed(seed)
    g = generator_class(**generator).to(device)
    d = make_critic(**critic).to(device)
    states = {}

    def keep(step: int) -> None:
        states[step] = (numpy_state(g), numpy_state(d))

    history = train_gan(g, d, real, losses[0], losses[1], steps, checkpoints=checkpoints,
                        on_checkpoint=keep, seed=seed, device=device, **train)
    history["states"] = states
    return history


def numpy_state(module: nn.Module) -> dict[str, np.ndarray]:
    """The module's parameters and buffers by name as NumPy copies: what a worker process
    sends back (``load_state_dict`` takes it)."""
    return {k: t.numpy() for k, t in module.state_dict().items()}


def players_at(run: dict, step: int, generator: dict, critic: dict, device: str = "cpu",
               generator_class: type = Generator) -> tuple[nn.Module, nn.Sequential]:
    """The generator and critic of a :func:`fit_gan` run as they were after round ``step``
    (built from the same settings, then loaded; in train mode, as during training)."""
    g, d = generator_class(**generator).to(device), make_critic(**critic).to(device)
    for module, state in zip((g, d), run["states"][step]):
        module.load_state_dict(state)
    return g, d


def _sgan_critic(critic, x_real, x_fake):
    return gan.sgan_d_loss(critic(x_real), critic(x_fake))


def _sgan_generator(critic, x_real, x_fake):
    return gan.sgan_g_loss(critic(x_fake))


def _rsgan_critic(critic, x_real, x_fake):
    return gan.rsgan_d_loss(critic(x_real), critic(x_fake))


def _rsgan_generator(critic, x_real, x_fake):
    return gan.rsgan_g_loss(critic(x_real), critic(x_fake))


def _ganqp_critic(critic, x_real, x_fake, *, lam: float, distance: str):
    return gan.ganqp_d_loss(critic(x_real), critic(x_fake), x_real, x_fake, lam=lam,
                            distance=distance)


def _ganqp_generator(critic, x_real, x_fake):
    return gan.ganqp_g_loss(critic(x_real), critic(x_fake))


def _fgan_critic(critic, x_real, x_fake, *, divergence: str):
    return gan.fgan_d_loss(critic(x_real), critic(x_fake), divergence)


def _fgan_generator(critic, x_real, x_fake, *, divergence: str):
    return gan.fgan_g_loss(critic(x_fake), divergence)


def gan_losses(kind: str, **settings) -> tuple[Callable, Callable]:
    """(d_loss, g_loss) for :func:`train_gan` / :func:`fit_gan`, each ``loss(critic, x_real,
    x_fake)``: ``"sgan"`` (non-saturating), ``"rsgan"`` (relativistic), ``"gan-qp"``
    (``lam`` and ``distance`` passed on to :func:`tinygen.models.gan.ganqp_d_loss`) or
    ``"f-gan"`` (``divergence``, see :func:`tinygen.models.gan.fgan_d_loss`). They are the
    formulas of :mod:`tinygen.models.gan` applied to the critic's scores."""
    kinds = {"sgan": (_sgan_critic, _sgan_generator, ()),
             "rsgan": (_rsgan_critic, _rsgan_generator, ()),
             "gan-qp": (_ganqp_critic, _ganqp_generator, ("distance", "lam")),
             "f-gan": (_fgan_critic, _fgan_generator, ("divergence",))}
    if kind not in kinds:
        raise ArgumentError(f"gan_losses: kind must be one of {sorted(kinds)}, got {kind!r}")
    d_loss, g_loss, names = kinds[kind]
    if set(settings) - set(names):
        raise ArgumentError(f"gan_losses: {kind!r} takes the settings {list(names)}, got "
                            f"{sorted(settings)}")
    d_loss = functools.partial(d_loss, **settings) if settings else d_loss
    takes = {"divergence"} & set(settings)  # the generator's loss needs only these
    g_loss = functools.partial(g_loss, **{k: settings[k] for k in takes}) if takes else g_loss
    return d_loss, g_loss


class DigitScorer:
    """A small CNN classifier of real digits, used to score generated ones.

    For samples x with class probabilities p(y|x) it reports

    * ``confidence``: mean over samples of max_y p(y|x) (near 1 for clear digits);
    * ``coverage``: how many of the 10 classes are the argmax of at least ``min_share`` of the
      samples (10 when all digits are generated);
    * ``score``: exp(E_x KL(p(y|x) ‖ p(y))), p(y) = E_x p(y|x), the Inception score with this
      classifier: 1 when every sample looks the same to it, 10 at most (confident *and* all
      classes equally often). Real held-out digits give the reference value.

    The network is Conv 16 3×3 → ReLU → MaxPool 2 → Conv 32 3×3 → ReLU → MaxPool 2 →
    Flatten → Linear 10, trained with Adam on images of :func:`gan_images` ([−1, 1]).
    ``hidden`` > 0 puts Linear(·, hidden) → ReLU before the last layer; :meth:`features`
    returns what the last layer reads (the penultimate features a Fréchet distance uses).
    """

    def __init__(self, size: int, device: str = "cpu", hidden: int = 0):
        side = size // 4
        self.device, self.size, self.hidden = device, size, hidden
        width = 32 * side * side
        head = [nn.Linear(width, hidden), nn.ReLU()] if hidden else []
        self.model = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), *head, nn.Linear(hidden or width, 10)).to(device)

    def fit(self, images: np.ndarray, labels: np.ndarray, epochs: int = 5, batch: int = 64,
            seed: int = 0) -> DigitScorer:
        """Train on real (images, labels) with Adam(1e-3), shuffled batches."""
        rng = np.random.default_rng(seed)
        opt = Adam(self.model.parameters(), lr=1e-3)
        self.model.train()
        for _ in range(epochs):
            order = rng.permutation(len(images))
            for i in range(0, len(images), batch):
                idx = order[i:i + batch]
                logits = self.model(tensor(images[idx], device=self.device))
                loss = F.cross_entropy(logits, tensor(labels[idx], device=self.device))
                opt.zero_grad()
                loss.backward()
                opt.step()
        return self

    def probabilities(self, images: np.ndarray, batch: int = 500) -> np.ndarray:
        """p(y|x) for images (N, 1, s, s), shape (N, 10)."""
        self.model.eval()
        with no_grad():
            return np.concatenate([F.softmax(self.model(tensor(images[i:i + batch],
                                                               device=self.device))).numpy()
                                   for i in range(0, len(images), batch)]).astype(np.float64)

    def features(self, images: np.ndarray, batch: int = 500) -> np.ndarray:
        """The penultimate activations (N, hidden or 32·(s/4)²) of images (N, 1, s, s): the
        input of the last Linear layer, float64."""
        self.model.eval()
        layers = list(self.model)[:-1]
        out = []
        with no_grad():
            for i in range(0, len(images), batch):
                h = tensor(images[i:i + batch], device=self.device)
                for layer in layers:
                    h = layer(h)
                out.append(h.numpy())
        return np.concatenate(out).astype(np.float64)

    def frechet(self, images: np.ndarray, reference: np.ndarray) -> float:
        """The Fréchet digit distance: :func:`tinygen.metrics.frechet_feature_distance` of
        the penultimate features of ``images`` and of ``reference`` (e.g. real test digits)."""
        return frechet_feature_distance(self.features(images), self.features(reference))

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float((self.probabilities(images).argmax(1) == labels).mean())

    def score(self, images: np.ndarray, min_share: float = 0.02) -> dict:
        """{"confidence", "coverage", "score", "class_share"} of a set of images (see the
        class docstring)."""
        p = self.probabilities(images)
        marginal = p.mean(axis=0)
        kl = (p * (np.log(p + 1e-12) - np.log(marginal + 1e-12))).sum(axis=1)
        share = np.bincount(p.argmax(axis=1), minlength=10) / len(p)
        return {"confidence": float(p.max(axis=1).mean()),
                "coverage": int((share >= min_share).sum()),
                "score": float(np.exp(kl.mean())),
                "class_share": [round(float(s), 4) for s in share]}


# name: (loader, side, training images used, epochs). The nets behind the Fréchet digit
# distance; "digits" is the quick lessons' 8×8 set.
FEATURE_NETS = {"digits": (load_digits, 8, None, 10), "mnist": (load_mnist5k, 14, None, 15),
                "fashion": (load_fashion_mnist, 14, 10_000, 4)}
FEATURE_WIDTH = 64


def digit_feature_net(data: str = "mnist", seed: int = 0, device: str = "cpu",
                      retrain: bool = False) -> DigitScorer:
    """The classifier behind the Fréchet digit distance for ``data`` ("mnist": MNIST-5k at
    14×14, "fashion": the first 10,000 Fashion-MNIST training images at 14×14, "digits":
    scikit-learn's 8×8), with a ``FEATURE_WIDTH``-wide penultimate layer
    (``DigitScorer(side, hidden=64)``), trained on the training split from ``seed``.

    Nothing is downloaded but the data: the first call trains it (seconds for "digits",
    about half a minute for "mnist" on one core) and caches the weights as safetensors in
    ``$TINYGEN_DATA/feature-nets/`` with their sha256 in a JSON file beside them; later calls
    load it after checking that sha256 (a mismatch, or ``retrain=True``, trains it again:
    ``python -c "from tinygen.models.image_gans import digit_feature_net as f;
    f('mnist', retrain=True)"``). Training is seeded, so a retrained net is the same net up to
    floating-point summation order.
    """
    import safetensors.numpy

    if data not in FEATURE_NETS:
        raise ValueError(f"digit_feature_net: data must be one of {sorted(FEATURE_NETS)}, "
                         f"got {data!r}")
    loader, side, n_train, epochs = FEATURE_NETS[data]
    net = DigitScorer(side, device, hidden=FEATURE_WIDTH)
    path = cache_dir() / "feature-nets" / f"{data}-{side}-seed{seed}.safetensors"
    record = path.with_suffix(".json")
    if not retrain and path.is_file() and record.is_file():
        if json.loads(record.read_text()).get("sha256") == sha256_of(path):
            state = safetensors.numpy.load(path.read_bytes())
            net.model.load_state_dict({k: tensor(v) for k, v in state.items()})
            return net
    (x_train, y_train), _, _ = loader()
    images = gan_images(x_train[:n_train], side)
    manual_seed(seed)
    net = DigitScorer(side, device, hidden=FEATURE_WIDTH)
    net.fit(images, y_train[:n_train], epochs=epochs, seed=seed)
    state = {k: np.ascontiguousarray(v.numpy()) for k, v in net.model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, safetensors.numpy.save(state))
    atomic_write_text(record, json.dumps({"data": data, "side": side, "seed": seed,
                                          "sha256": sha256_of(path)}) + "\n")
    return net


def plot_sample_rows(rows: Sequence[np.ndarray], labels: Sequence[str], title: str = "",
                     per_row: int | None = None):
    """A matplotlib figure with one horizontal strip of images per entry of ``rows``
    ((n, 1, s, s) arrays in [−1, 1], shown dark on light), labelled on the left."""
    import matplotlib.pyplot as plt

    n = per_row or min(len(r) for r in rows)
    side = rows[0].shape[-1]
    fig, axes = plt.subplots(len(rows), 1, figsize=(0.55 * n + 1.6, 0.62 * len(rows) + 0.6),
                             squeeze=False)
    for ax, images, label in zip(axes[:, 0], rows, labels):
        tiles = [np.pad((images[i, 0] + 1) / 2, 1, constant_values=0.0) for i in range(n)]
        ax.imshow(np.concatenate(tiles, axis=1), cmap="gray_r", vmin=0, vmax=1,
                  interpolation="nearest", extent=(0, n * (side + 2), side + 2, 0))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
