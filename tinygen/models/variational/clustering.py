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

import time
from collections.abc import Sequence

import numpy as np

from ... import distributions as D
from ... import nn, ops
from ...autograd import Tensor, as_tensor, no_grad
from ...errors import ArgumentError, ShapeError
from ...random import Generator, default_generator
from .vae import GaussianEncoder

__all__ = ["ClusterVAE", "cluster_accuracy", "cluster_images", "confusion", "conv_decoder",
           "conv_encoder_body", "fit_cluster_vae", "kmeans_baselines"]


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
                 means_std: float = 0.0, generator: Generator | None = None,
                 learn_var: bool = False, arch: str = "conv"):
        super().__init__()
        self.side, self.latent, self.classes = side, latent, classes
        if arch == "conv":
            body = conv_encoder_body(filters)
            features = filters[-1] * (side // 2 ** len(filters)) ** 2
            self.encoder = GaussianEncoder(body, features, latent)
            self.decoder = conv_decoder(latent, side, filters)
        elif arch == "mlp":  # lesson 18's MLP VAE (the k-means baseline's), sigmoid means
            from .vae import mlp

            pixels = side * side
            self.encoder = GaussianEncoder(
                nn.Sequential(nn.Flatten(), mlp([pixels, hidden], final_activation=True)),
                hidden, latent)
            self.decoder = nn.Sequential(mlp([latent, hidden, pixels]), nn.Sigmoid(),
                                         _Unflatten((1, side, side)))
        else:
            raise ArgumentError(f"ClusterVAE: arch must be 'conv' or 'mlp', got {arch!r}")
        # learned per-class log-variances of p(z | y) (a departure from the post: N(μ_y, I))
        self.logvars = nn.Parameter(np.zeros((classes, latent), np.float32)) if learn_var \
            else None
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
        if self.logvars is None:
            per_class = -0.5 * ops.sum(ops.unsqueeze(logvar, 1) - diff * diff, axis=2)  # (B,K)
        else:  # log q − log N(z; μ_y, σ_y²) without q's ε² term, as above
            lv = ops.unsqueeze(self.logvars, 0)
            per_class = -0.5 * ops.sum(ops.unsqueeze(logvar, 1) - lv
                                       - diff * diff * ops.exp(-lv), axis=2)
        kl = ops.sum(p_y * per_class, axis=1)
        cat = ops.sum(p_y * logp_y, axis=1)
        terms = {"rec": ops.mean(rec), "kl": ops.mean(kl), "cat": ops.mean(cat)}
        terms["loss"] = lam * terms["rec"] + terms["kl"] + terms["cat"]
        return terms

    def init_means(self, x, seed: int = 0, n_init: int = 10) -> np.ndarray:
        """Move the class means, in place, to the k-means centres of the codes μ(x) (the
        initialisation of VaDE, Jiang et al. 2017): from all-equal means the model sits at a
        symmetric point (uniform p(y|z), one shared Gaussian) that a short run does not leave,
        and from random means one cluster takes every code. k-means++ with ``n_init``
        restarts, the lowest inertia kept. Returns the centres."""
        from sklearn.cluster import KMeans

        km = KMeans(self.classes, n_init=n_init, random_state=seed).fit(self.codes(x))
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
            eps = gen.normal(n, self.latent)
            if self.logvars is not None:
                eps = eps * ops.exp(0.5 * self.logvars[y])
            z = self.means[y] + eps
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
    raise ArgumentError(f"cluster_accuracy: method must be 'majority' or 'hungarian', got "
                        f"{method!r}")


#: the lesson's datasets by name → their loader in :mod:`tinygen.data`
CLUSTER_DATA = {"digits 8x8": "load_digits", "MNIST-10k": "load_mnist10k",
                "Fashion-MNIST": "load_fashion_mnist"}


def cluster_images(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y, x_test, y_test)`` of a :data:`CLUSTER_DATA` dataset, images as (N, 1, s, s)
    float32 in [0, 1]: 28 × 28 padded to 32 × 32 then 2 × 2 block means (16 × 16); the 8 × 8
    digits unchanged."""
    from ... import data

    if name not in CLUSTER_DATA:
        raise ArgumentError(f"cluster_images: unknown dataset {name!r}; expected one of "
                            f"{sorted(CLUSTER_DATA)}")
    (x, y), _, (xt, yt) = getattr(data, CLUSTER_DATA[name])()

    def images(a: np.ndarray) -> np.ndarray:
        if a.shape[1] == 28:
            a = np.pad(a, ((0, 0), (2, 2), (2, 2)))
            a = a.reshape(len(a), 16, 2, 16, 2).mean(axis=(2, 4))
        return a[:, None].astype(np.float32)

    return images(x), np.asarray(y), images(xt), np.asarray(yt)


def fit_cluster_vae(data: str, steps: int, warm: int, lam: float, eval_at: Sequence[int],
                    seed: int = 0, latent: int = 20, classes: int = 10,
                    filters: Sequence[int] = (32, 64), n_train_eval: int = 5000,
                    device: str = "cpu", log_every: int = 0, binary: bool = False,
                    learn_var: bool = False, pretrain: int = 0, kmeans_fit: int = 5000,
                    n_init: int = 10) -> dict:
    """One clustering VAE of lesson 19, start to finish, plain values in and out (a job for
    :func:`tinygen.parallel.map_jobs`): load ``data`` (:func:`cluster_images`), build the
    model after ``manual_seed(seed)``, train ``steps`` Adam steps (10⁻³) of 100 images drawn
    with replacement; at step ``warm`` move the class means to the k-means centres of the
    codes of the first ``kmeans_fit`` training images (:meth:`ClusterVAE.init_means`,
    ``n_init`` k-means restarts). With
    ``binary`` every batch is stochastically binarised (each pixel 1 with its grey value as
    the probability, as :func:`fit_vae` does for the plain VAE): the loss is the same and,
    for a given code, its expectation over the binarisation is the grey-level loss plus a
    constant, but the encoder learns from noisy silhouettes; codes, k-means and clusters are
    still computed from the grey images. ``learn_var`` learns a log-variance per class and
    latent axis for p(z | y) (a departure from the post's unit variances). ``pretrain`` > 0
    starts VaDE's way from the plain VAE of :func:`kmeans_baselines` (MLP, Bernoulli decoder,
    binarised batches) trained ``pretrain`` steps: the clustering VAE takes its architecture
    and weights (``filters`` unused) and the means start at k-means of its codes at step
    ``warm`` (use 0); ``steps`` then counts the clustering steps only.

    Returns ``log`` (per-step ``loss``/``rec``/``kl``/``cat`` arrays), ``curve`` (step → test
    accuracy, majority: at ``warm`` that of the k-means centres, each test code to its
    nearest, at the other steps of ``eval_at`` that of argmax p(y | μ(x))), ``test_clusters``,
    ``train_clusters`` (of the first ``n_train_eval`` training images), ``state`` (the trained
    weights as arrays, for a ``ClusterVAE(side, latent, classes, filters)``), ``side`` and
    ``cpu_seconds`` (this process's CPU time for the whole job)."""
    from ...random import manual_seed
    from ...optim import Adam

    t0 = time.process_time()
    x, _, xt, yt = cluster_images(data)
    side = x.shape[-1]
    manual_seed(seed)
    model = ClusterVAE(side, latent, classes, filters, learn_var=learn_var,
                       arch="mlp" if pretrain else "conv").to(device)
    if pretrain:
        from .vae import VAE, BernoulliDecoder, fit_vae, mlp

        pixels = side * side
        manual_seed(seed)
        plain = VAE(GaussianEncoder(mlp([pixels, 256], final_activation=True), 256, latent),
                    BernoulliDecoder(mlp([latent, 256, pixels]))).to(device)
        fit_vae(plain, x.reshape(len(x), -1), pretrain, seed=seed, device=device)
        pairs = [(model.encoder, plain.encoder), (model.decoder, plain.decoder)]
        for mine, theirs in pairs:
            for a, b in zip(mine.parameters(), theirs.parameters(), strict=True):
                a.data[...] = b.data
    opt = Adam(model.parameters(), lr=1e-3)
    rng, gen = np.random.default_rng(seed), Generator(seed, device)
    log = {k: [] for k in ("loss", "rec", "kl", "cat")}
    curve, test = {}, Tensor(xt).to(device)
    for step in range(steps + 1):
        if step in eval_at and step != warm:
            model.eval()
            curve[step] = cluster_accuracy(model.cluster(test), yt, "majority")
            model.train()
        if step == steps:
            break
        if step == warm:
            centres = model.init_means(Tensor(x[:kmeans_fit]).to(device), seed=seed,
                                       n_init=n_init)
            codes = model.codes(test)
            nearest = ((codes[:, None] - centres[None]) ** 2).sum(-1).argmin(axis=1)
            curve[step] = cluster_accuracy(nearest, yt, "majority")
        xb = x[rng.integers(0, len(x), 100)]
        if binary:
            xb = (rng.random(xb.shape) < xb).astype(np.float32)
        terms = model.loss_terms(Tensor(xb).to(device), gen, lam)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        for k in log:
            log[k].append(float(terms[k].numpy()))
        if log_every and (step + 1) % log_every == 0:
            print(f"  {data} step {step + 1}: " + ", ".join(
                f"{k} {np.mean(v[-100:]):.2f}" for k, v in log.items()), flush=True)
    model.eval()
    return {"log": {k: np.asarray(v) for k, v in log.items()}, "curve": curve,
            "test_clusters": model.cluster(test),
            "train_clusters": model.cluster(Tensor(x[:n_train_eval]).to(device)),
            "state": {name: t.numpy() for name, t in model.state_dict().items()},
            "side": int(side), "cpu_seconds": time.process_time() - t0}


def kmeans_baselines(data: str, steps: int, seed: int = 0, latent: int = 20,
                     classes: int = 10, hidden: int = 256, n_fit: int = 20000,
                     device: str = "cpu", n_init: int = 10) -> dict:
    """Lesson 19's two baselines on ``data`` (:func:`cluster_images`), plain values in and out
    (a job for :func:`tinygen.parallel.map_jobs`): k-means (``classes`` centres, k-means++
    with ``n_init`` restarts, the lowest inertia kept, ``random_state=seed``) fitted on the
    first ``n_fit`` training images' pixels, and on their codes (posterior means) under a
    plain VAE — an MLP (pixels → ``hidden`` → ``latent`` → ``hidden`` → pixels), Bernoulli
    decoder on dynamically binarised pixels, N(0, I) prior — trained :func:`fit_vae` for
    ``steps`` steps of 100 after ``manual_seed(seed)``. Returns the test images' clusters
    under each (``pixels``, ``vae_codes``) and ``cpu_seconds``."""
    from sklearn.cluster import KMeans

    from ...random import manual_seed
    from .vae import VAE, BernoulliDecoder, fit_vae, mlp

    def kmeans(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        return KMeans(classes, n_init=n_init, random_state=seed).fit(train).predict(test)

    t0 = time.process_time()
    x, _, xt, _ = cluster_images(data)
    flat, flat_t = x.reshape(len(x), -1), xt.reshape(len(xt), -1)
    pixel = kmeans(flat[:n_fit], flat_t)
    manual_seed(seed)
    pixels = flat.shape[1]
    plain = VAE(GaussianEncoder(mlp([pixels, hidden], final_activation=True), hidden, latent),
                BernoulliDecoder(mlp([latent, hidden, pixels]))).to(device)
    fit_vae(plain, flat, steps, seed=seed, device=device)
    with no_grad():
        codes = plain.encoder(Tensor(flat[:n_fit]).to(device))[0].numpy()
        codes_t = plain.encoder(Tensor(flat_t).to(device))[0].numpy()
    return {"pixels": pixel, "vae_codes": kmeans(codes, codes_t),
            "cpu_seconds": time.process_time() - t0}
