r"""One-step clustering with a VAE (the post "变分自编码器（四）：一步到位的聚类方案", VAE part 4).

**The model.** A class y ∈ {1 … K} and a code z: p(z | y) = N(μ_y, I) with learned means
(started at zero), p(y) uniform. The encoder gives q(z | x) = N(μ(x), diag σ²(x)) as in a VAE,
a small network gives the posterior class p(y | z) = softmax(Dense 256 ReLU → K), and the
decoder maps z back to the image. Per image, with z = μ(x) + σ(x)·ε,

    loss = λ·Σ_pixels ½(x − x̂(z))²
           + Σ_y p(y|z)·Σ_i −½(log σ_i² − (z_i − μ_{y,i})²)
           + Σ_y p(y|z)·log p(y|z),                      λ = 2.5,

the reconstruction, the KL to the class-conditional prior averaged over the predicted class
(constants dropped), and the KL of p(y|z) to the uniform class prior (minus log K). At test
time the cluster of x is argmax_y p(y | μ(x)); samples of cluster y decode μ_y + ε.

**The networks** (the post's): encoder 2 × [Conv 3×3 stride 2, LeakyReLU 0.2, Conv 3×3,
LeakyReLU 0.2] with 32 then 64 filters, Flatten, Dense heads for μ and log σ² (z ∈ R²⁰);
the decoder mirrors it with transposed convolutions and ends in a sigmoid.

**Accuracy** of an unsupervised clustering: :func:`cluster_accuracy` maps each cluster to its
majority label (the post's measure; several clusters may share a label) or matches clusters
to labels one to one (the Hungarian method, ``scipy.optimize.linear_sum_assignment``; SciPy
comes with scikit-learn).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ... import distributions as D
from ... import nn, ops
from ...autograd import Tensor, as_tensor, no_grad
from ...errors import ShapeError
from ...random import Generator, default_generator
from .vae import GaussianEncoder

__all__ = ["ClusterVAE", "cluster_accuracy", "confusion", "conv_decoder", "conv_encoder_body"]


def conv_encoder_body(filters: Sequence[int] = (32, 64)) -> nn.Sequential:
    """The post's encoder body: per entry f of ``filters``, Conv 3×3 stride 2 (halves the
    side) and Conv 3×3, each followed by LeakyReLU(0.2); then Flatten."""
    layers, c_in = [], 1
    for f in filters:
        layers += [nn.Conv2d(c_in, f, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                   nn.Conv2d(f, f, 3, padding="same"), nn.LeakyReLU(0.2)]
        c_in = f
    return nn.Sequential(*layers, nn.Flatten())


class _Unflatten(nn.Module):
    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = shape

    def forward(self, x) -> Tensor:
        return ops.reshape(x, (-1, *self.shape))


def conv_decoder(latent: int, side: int, filters: Sequence[int] = (32, 64)) -> nn.Sequential:
    """The mirror image: Dense to (filters[-1], side/2ᵏ, side/2ᵏ), then per filter count in
    reverse, ConvTranspose 3×3 and ConvTranspose 3×3 stride 2 (doubles the side), each with
    LeakyReLU(0.2); a last ConvTranspose 3×3 to one channel and a sigmoid."""
    k = len(filters)
    if side % 2 ** k:
        raise ShapeError(f"conv_decoder: side {side} must be divisible by 2^{k} for {k} "
                         "stride-2 stages")
    base = side // 2 ** k
    layers: list[nn.Module] = [nn.Linear(latent, filters[-1] * base * base),
                               _Unflatten((filters[-1], base, base))]
    c_in = filters[-1]
    for f in reversed(filters):
        layers += [nn.ConvTranspose2d(c_in, f, 3, padding=1), nn.LeakyReLU(0.2),
                   nn.ConvTranspose2d(f, f, 3, stride=2, padding=1, output_padding=1),
                   nn.LeakyReLU(0.2)]
        c_in = f
    return nn.Sequential(*layers, nn.ConvTranspose2d(c_in, 1, 3, padding=1), nn.Sigmoid())


class ClusterVAE(nn.Module):
    """The post's clustering VAE on (N, 1, side, side) images in [0, 1]; see the module
    docstring for the loss. The class means start at zero (the post) or, with
    ``means_std`` > 0, at N(0, means_std²) draws: all-equal means are a symmetric point where
    p(y|z) is uniform and every mean gets the same gradient, which a short run may not leave."""

    def __init__(self, side: int, latent: int = 20, classes: int = 10,
                 filters: Sequence[int] = (32, 64), hidden: int = 256,
                 means_std: float = 0.0, generator: Generator | None = None):
        super().__init__()
        self.side, self.latent, self.classes = side, latent, classes
        body = conv_encoder_body(filters)
        features = filters[-1] * (side // 2 ** len(filters)) ** 2
        self.encoder = GaussianEncoder(body, features, latent)
        self.decoder = conv_decoder(latent, side, filters)
        self.classifier = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(),
                                        nn.Linear(hidden, classes))
        means = (generator or default_generator()).normal(classes, latent).numpy()
        self.means = nn.Parameter((means_std * means).astype(np.float32))

    def loss_terms(self, x, generator: Generator | None = None,
                   lam: float = 2.5) -> dict[str, Tensor]:
        """Batch means of the three terms and their weighted total (``loss``)."""
        x = as_tensor(x)
        mu, logvar = self.encoder(x)
        z = D.reparameterize(mu, logvar, generator)
        recon = self.decoder(z)
        d = x - recon
        rec = 0.5 * ops.sum(d * d, axis=(1, 2, 3))
        logp_y = ops.log_softmax(self.classifier(z), 1)
        p_y = ops.exp(logp_y)
        diff = ops.unsqueeze(z, 1) - ops.unsqueeze(self.means, 0)          # (B, K, latent)
        per_class = -0.5 * ops.sum(ops.unsqueeze(logvar, 1) - diff * diff, axis=2)  # (B, K)
        kl = ops.sum(p_y * per_class, axis=1)
        cat = ops.sum(p_y * logp_y, axis=1)
        terms = {"rec": ops.mean(rec), "kl": ops.mean(kl), "cat": ops.mean(cat)}
        terms["loss"] = lam * terms["rec"] + terms["kl"] + terms["cat"]
        return terms

    def init_means(self, x, seed: int = 0) -> np.ndarray:
        """Move the class means, in place, to the k-means centres of the codes μ(x) (the
        initialisation of VaDE, Jiang et al. 2017): from all-equal means the model sits at a
        symmetric point (uniform p(y|z), one shared Gaussian) that a short run does not leave,
        and from random means one cluster takes every code. Returns the centres."""
        from sklearn.cluster import KMeans

        km = KMeans(self.classes, n_init=10, random_state=seed).fit(self.codes(x))
        self.means.data[...] = self.means.xp.asarray(km.cluster_centers_, self.means.dtype)
        return km.cluster_centers_

    def cluster(self, x, batch: int = 500) -> np.ndarray:
        """argmax_y p(y | μ(x)) for every image."""
        x = as_tensor(x)
        out = []
        with no_grad():
            for lo in range(0, x.shape[0], batch):
                mu, _ = self.encoder(x[lo:lo + batch])
                out.append(self.classifier(mu).numpy().argmax(axis=1))
        return np.concatenate(out)

    def codes(self, x, batch: int = 500) -> np.ndarray:
        """Posterior means μ(x)."""
        x = as_tensor(x)
        with no_grad():
            return np.concatenate([self.encoder(x[lo:lo + batch])[0].numpy()
                                   for lo in range(0, x.shape[0], batch)])

    def sample_cluster(self, y: int, n: int, generator: Generator | None = None) -> np.ndarray:
        """n images decoded from z = μ_y + ε, ε ~ N(0, I): the post's samples per cluster."""
        gen = generator or default_generator()
        with no_grad():
            z = self.means[y] + gen.normal(n, self.latent)
            return self.decoder(z).numpy()


def confusion(clusters: np.ndarray, labels: np.ndarray, k: int | None = None,
              classes: int | None = None) -> np.ndarray:
    """counts[c, y] = how many items of label y went to cluster c."""
    k = k or int(clusters.max()) + 1
    classes = classes or int(labels.max()) + 1
    counts = np.zeros((k, classes), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    return counts


def cluster_accuracy(clusters: np.ndarray, labels: np.ndarray,
                     method: str = "majority") -> float:
    """Accuracy of a clustering against labels: ``"majority"`` maps each cluster to its most
    common label (the post's measure); ``"hungarian"`` finds the one-to-one map of clusters
    to labels with the most agreements (linear_sum_assignment on the confusion matrix)."""
    clusters, labels = np.asarray(clusters), np.asarray(labels)
    if clusters.shape != labels.shape or clusters.ndim != 1:
        raise ShapeError(f"cluster_accuracy: clusters of shape {clusters.shape} and labels of "
                         f"shape {labels.shape}; expected two equal 1-d shapes")
    counts = confusion(clusters, labels)
    if method == "majority":
        return float(counts.max(axis=1).sum() / len(labels))
    if method == "hungarian":
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(-counts)
        return float(counts[rows, cols].sum() / len(labels))
    raise ShapeError(f"cluster_accuracy: method must be 'majority' or 'hungarian', got "
                     f"{method!r}")
