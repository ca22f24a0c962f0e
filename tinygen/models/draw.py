r"""DRAW (Gregor et al. 2015, "DRAW: A Recurrent Neural Network For Image Generation"), from the
GAN survey post: a recurrent VAE that builds an image on a canvas over T steps, reading and
writing through a grid of Gaussian filters (attention).

At each step t, with σ the logistic function and c the canvas (logits):

    x̂ = x − σ(c_{t−1});  r = read(x, x̂, h_dec);  h_enc = LSTM_enc([r, h_dec])
    z ~ Q(z | h_enc) = N(μ, diag e^{log σ²});  h_dec = LSTM_dec(z);  c_t = c_{t−1} + write(h_dec)

and −ELBO = −log p(x | σ(c_T)) (Bernoulli) + Σ_t KL(Q(z_t | h_enc) ‖ N(0, I)).

**The filterbank** (:func:`filterbank`): a linear layer of h_dec gives g̃_X, g̃_Y, log σ²,
log δ̃, log γ; on an A×B image an N×N grid of Gaussian filters is centred at
g_X = (A + 1)/2·(g̃_X + 1), g_Y = (B + 1)/2·(g̃_Y + 1), spaced δ = (max(A, B) − 1)/(N − 1)·δ̃,
filter i at μ_X^i = g_X + (i − N/2 − 0.5)·δ (i = 1 … N), and

    F_X[i, a] = exp(−(a − μ_X^i)²/(2σ²)) / Z_X      (a = 1 … A, each row summing to 1),

so read(x) = γ·F_Y x F_Xᵀ (N×N glimpses of x and x̂) and write(w) = (1/γ̂)·F̂_Yᵀ w F̂_X (an
N×N patch w pasted onto the canvas). Without attention, read is [x, x̂] and write a linear
layer to the whole canvas. Everything is built from differentiable ops.
"""

from __future__ import annotations

import time

import numpy as np

from .. import functional as F
from .. import nn, ops
from ..autograd import Tensor
from ..creation import tensor, zeros
from ..autograd import no_grad
from ..errors import ArgumentError, ShapeError
from ..optim import Adam, clip_grad_norm
from ..random import Generator

__all__ = ["DRAW", "binarised_digits", "filterbank", "fit_draw", "read", "write"]


def filterbank(params: Tensor, n: int, size: int, eps: float = 1e-8
               ) -> tuple[Tensor, Tensor, Tensor]:
    """(F_X, F_Y, γ) from attention parameters ``params`` (B, 5) = (g̃_X, g̃_Y, log σ², log δ̃,
    log γ) for N = ``n`` filters on a square image of side ``size``: F_X and F_Y (B, n, size),
    γ (B, 1, 1)."""
    if params.ndim != 2 or params.shape[1] != 5:
        raise ShapeError(f"filterbank: params must be (B, 5) = (g̃x, g̃y, log σ², log δ̃, "
                         f"log γ), got shape {params.shape}")
    if n < 1 or size < 1:
        raise ShapeError(f"filterbank: n and size must be positive, got {n} and {size}")
    gx_, gy_, log_s2, log_d, log_gamma = (params[:, k:k + 1] for k in range(5))
    gx = (size + 1) / 2 * (gx_ + 1)
    gy = (size + 1) / 2 * (gy_ + 1)
    delta = (size - 1) / max(n - 1, 1) * ops.exp(log_d)
    offsets = Tensor((np.arange(1, n + 1) - n / 2 - 0.5).astype(params.dtype))
    pixels = Tensor(np.arange(1, size + 1).astype(params.dtype)).reshape(1, 1, size)
    s2 = ops.exp(log_s2).reshape(-1, 1, 1)

    def bank(g):
        mu = (g + offsets * delta).reshape(-1, n, 1)
        f = ops.exp(-(pixels - mu) ** 2 / (2 * s2))
        return f / (f.sum(axis=2, keepdims=True) + eps)

    return bank(gx), bank(gy), ops.exp(log_gamma).reshape(-1, 1, 1)


def read(images: Tensor, fx: Tensor, fy: Tensor, gamma: Tensor) -> Tensor:
    """γ·F_Y x F_Xᵀ: an N×N glimpse of each image (B, size, size) → (B, N, N)."""
    return gamma * (fy @ images @ ops.transpose(fx, 1, 2))


def write(patch: Tensor, fx: Tensor, fy: Tensor, gamma: Tensor) -> Tensor:
    """(1/γ)·F_Yᵀ w F_X: an N×N patch (B, N, N) spread onto the canvas (B, size, size)."""
    return (ops.transpose(fy, 1, 2) @ patch @ fx) / gamma


class DRAW(nn.Module):
    """DRAW on binary images of side ``size``: T steps, latent ``z_dim`` per step, LSTMs of
    ``hidden`` units, read and write attention with N = ``read_n`` and ``write_n`` filters
    (``attention=False``: the whole image is read and written). ``tiled_init=False`` starts
    the attention grids at the formulas' zero point (all parameters 0) instead."""

    def __init__(self, size: int, steps: int = 8, z_dim: int = 10, hidden: int = 64,
                 read_n: int = 3, write_n: int = 4, attention: bool = True,
                 tiled_init: bool = True, generator: Generator | None = None):
        super().__init__()
        self.size, self.steps, self.z_dim, self.hidden = size, steps, z_dim, hidden
        self.attention, self.read_n, self.write_n = attention, read_n, write_n
        self.tiled_init = tiled_init
        read_dim = 2 * (read_n * read_n if attention else size * size)
        self.encoder = nn.LSTMCell(read_dim + hidden, hidden, generator=generator)
        self.decoder = nn.LSTMCell(z_dim, hidden, generator=generator)
        self.q = nn.Linear(hidden, 2 * z_dim, generator=generator)
        patch = write_n * write_n if attention else size * size
        self.write_patch = nn.Linear(hidden, patch, generator=generator)
        if attention:
            self.read_params = self._attention_layer(read_n, generator)
            self.write_params = self._attention_layer(write_n, generator, write=True)

    def _attention_layer(self, n: int, generator: Generator | None, write: bool = False
                         ) -> nn.Linear:
        """The linear map h_dec → (g̃_X, g̃_Y, log σ², log δ̃, log γ), its bias set so that
        the grid starts centred and tiling the image: stride δ = size/N, width σ = δ/2. With
        zero bias (δ = (size − 1)/(N − 1), σ = 1) the outer filters sit on the border, which
        is blank in digits, and the thin filters leave gaps between them. Reading, γ = 1 (a
        glimpse is a local mean, in [0, 1]); writing, γ = 1/δ²: each filter spreads its patch
        value over about δ² pixels (its row sums to 1), so with γ = 1 a write would reach the
        canvas ~δ² times weaker than the no-attention model's, and the model sits at the mean
        image while its weights grow."""
        layer = nn.Linear(self.hidden, 5, generator=generator)
        if not self.tiled_init:
            return layer
        delta = self.size / n
        log_gamma = -2 * np.log(delta) if write else 0.0
        layer.bias.data = np.array(
            [0.0, 0.0, 2 * np.log(delta / 2),
             np.log(delta * max(n - 1, 1) / max(self.size - 1, 1)), log_gamma],
            dtype=layer.bias.data.dtype)
        return layer

    def _read(self, x: Tensor, x_hat: Tensor, h_dec: Tensor) -> Tensor:
        b = x.shape[0]
        if not self.attention:
            return ops.concat([x.reshape(b, -1), x_hat.reshape(b, -1)], axis=1)
        fx, fy, gamma = filterbank(self.read_params(h_dec), self.read_n, self.size)
        glimpses = [read(v, fx, fy, gamma).reshape(b, -1) for v in (x, x_hat)]
        return ops.concat(glimpses, axis=1)

    def _write(self, h_dec: Tensor) -> Tensor:
        b = h_dec.shape[0]
        w = self.write_patch(h_dec)
        if not self.attention:
            return w.reshape(b, self.size, self.size)
        fx, fy, gamma = filterbank(self.write_params(h_dec), self.write_n, self.size)
        return write(w.reshape(b, self.write_n, self.write_n), fx, fy, gamma)

    def forward(self, x: Tensor, generator: Generator) -> tuple[Tensor, Tensor, list[Tensor]]:
        """Per-image (reconstruction −log p(x|c_T), Σ_t KL) and the canvases c_1 … c_T for
        binary images x (B, size, size)."""
        if x.ndim != 3 or x.shape[1:] != (self.size, self.size):
            raise ShapeError(f"DRAW: images must be (B, {self.size}, {self.size}), got "
                             f"{x.shape}")
        b = x.shape[0]
        canvas = zeros(b, self.size, self.size, dtype=x.dtype)
        h_dec = zeros(b, self.hidden, dtype=x.dtype)
        enc_state = dec_state = None
        kl, canvases = 0.0, []
        for _ in range(self.steps):
            x_hat = x - ops.sigmoid(canvas)
            r = self._read(x, x_hat, h_dec)
            enc_state = self.encoder(ops.concat([r, h_dec], axis=1), enc_state)
            mu, log_var = ops.split(self.q(enc_state[0]), 2, axis=1)
            z = mu + ops.exp(0.5 * log_var) * generator.normal(b, self.z_dim, dtype=x.dtype)
            kl = kl + 0.5 * (mu * mu + ops.exp(log_var) - log_var - 1).sum(axis=1)
            dec_state = self.decoder(z, dec_state)
            h_dec = dec_state[0]
            canvas = canvas + self._write(h_dec)
            canvases.append(canvas)
        recon = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").sum(axis=(1, 2))
        return recon, kl, canvases

    def sample(self, n: int, generator: Generator) -> list[np.ndarray]:
        """σ(c_t) for t = 1 … T of n images generated from z ~ N(0, I) at each step."""
        canvas = zeros(n, self.size, self.size)
        state, out = None, []
        for _ in range(self.steps):
            state = self.decoder(generator.normal(n, self.z_dim), state)
            canvas = canvas + self._write(state[0])
            out.append(ops.sigmoid(canvas).numpy())
        return out


def binarised_digits(data: str) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) binary images (N, side, side) float32 of ``data``: ``"digits 8x8"``
    (scikit-learn's digits) or ``"mnist5k 28x28"``, each pixel thresholded at ½."""
    from ..data.images import load_digits, load_mnist5k

    loaders = {"digits 8x8": load_digits, "mnist5k 28x28": load_mnist5k}
    if data not in loaders:
        raise ArgumentError(f"binarised_digits: data must be one of {sorted(loaders)}, got "
                            f"{data!r}")
    (train, _), _, (test, _) = loaders[data]()
    return ((np.asarray(train) > 0.5).astype(np.float32),
            (np.asarray(test) > 0.5).astype(np.float32))


def test_neg_elbo(model: DRAW, images: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-image (reconstruction, KL) of ``images`` with one z sample each, drawn from a
    generator seeded by ``seed`` (the same noise for every model and every evaluation)."""
    with no_grad():
        recon, kl, _ = model(tensor(images), Generator(seed))
    return recon.numpy(), kl.numpy()


def fit_draw(data: str, model: dict, train: dict, seed: int = 0, test_count: int = 1000,
             name: str = "") -> dict:
    """One model of the DRAW lesson, start to finish, with only plain values in and out (so
    that it can run in a worker process, :func:`tinygen.parallel.map_jobs`): the images of
    :func:`binarised_digits` (``data``; the first ``test_count`` test images), ``DRAW(side,
    **model)`` built from a generator seeded by ``seed``, trained with Adam (``train["lr"]``),
    the gradient norm clipped at ``train["clip"]``, for ``train["steps"]`` steps of
    ``train["batch"]`` images (batch indices from NumPy's generator ``seed + 2``, the model's
    noise from ``seed + 1``), the test −ELBO measured every ``train["every"]`` steps (noise
    ``seed + 5``). Models built from the same seed see the same batches.

    Returns ``reconstruction`` and ``kl`` (per test image, after training), ``untrained``
    (the mean test −ELBO before training), ``curve`` (training −ELBO per step),
    ``test_curve`` ([step, test −ELBO] pairs), ``state`` (the trained parameters as arrays,
    to load into ``DRAW(side, **model)``), ``params`` and ``cpu_seconds`` (this process's
    CPU time for the whole job). ``name`` only labels the progress lines it prints."""
    t0 = time.process_time()
    images, test = binarised_digits(data)
    test = test[:test_count]
    net = DRAW(images.shape[-1], **model, generator=Generator(seed))
    untrained = float(sum(test_neg_elbo(net, test, seed + 5)).mean())
    optimizer = Adam(net.parameters(), lr=train["lr"])
    noise, batches = Generator(seed + 1), np.random.default_rng(seed + 2)
    curve, test_curve = [], []
    for step in range(1, train["steps"] + 1):
        x = tensor(images[batches.integers(0, len(images), train["batch"])])
        recon, kl, _ = net(x, noise)
        loss = (recon + kl).mean()
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm(net.parameters(), train["clip"])
        optimizer.step()
        curve.append(loss.item())
        if step % train["every"] == 0:
            test_curve.append([step, float(sum(test_neg_elbo(net, test, seed + 5)).mean())])
            print(f"  {name} step {step}: test −ELBO {test_curve[-1][1]:.2f} "
                  f"({time.process_time() - t0:.0f} s CPU)", flush=True)
    recon, kl = test_neg_elbo(net, test, seed + 5)
    return {"reconstruction": recon, "kl": kl, "untrained": untrained,
            "curve": np.asarray(curve), "test_curve": test_curve,
            "state": {key: t.numpy() for key, t in net.state_dict().items()},
            "params": int(sum(p.size for p in net.parameters())),
            "cpu_seconds": time.process_time() - t0}
