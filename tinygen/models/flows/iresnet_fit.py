r"""The i-ResNet lesson's trainings and measurements (lesson 15), as functions of plain values,
so that its independent parts — one flow per 2-D toy, the baselines of each toy, the digits
model — can run as jobs in worker processes (:func:`tinygen.parallel.run_jobs`).

Every job is fully determined by its arguments: it seeds its own generators from ``seed``
(the same offsets the lesson always used), so a job gives the same numbers in a worker as in
the lesson's process, whatever ran before it.

**Toys** (:data:`TOYS`): FFJORD's 8 Gaussians (centres 4·(unit vectors at multiples of 45°),
std 0.5, all divided by 1.414), the checkerboard and two moons, in float64.
:func:`fit_toy` trains an :class:`~.iresnet.IResNet` by maximum likelihood on the series of
exact traces (basis probes) and measures, every few steps, the bias and spread of the
truncated series (n = 5) and the Russian roulette against the exact log-det
(:func:`estimator_spread`); :func:`toy_baselines` fits the single Gaussian and EM mixtures
(K chosen on a validation fifth) and scores the generating density.

**Digits** (:func:`fit_digits`): 8-bit images, dequantised and standardised, whitened by a
full-covariance Gaussian N(μ, Σ + λI) (λ chosen on validation), and an i-ResNet trained on the
whitened pixels with the roulette; scored in bits/dim against the per-pixel and the
full-covariance Gaussian, paired per test image.
"""

from __future__ import annotations

import time

import numpy as np

from ...autograd import no_grad
from ...creation import tensor
from ...data import toys
from ...errors import ArgumentError
from ...optim import Adam
from ...random import Generator
from . import logdet as L
from .iresnet import IResNet
from .logdet_fused import fused_series_terms

__all__ = ["EIGHT", "TOYS", "estimator_spread", "exact_total_logdet", "fit_digits", "fit_toy",
           "gaussian_log_pdf", "roulette_draws", "total_logdet_terms", "toy_baselines",
           "toy_data", "toy_model", "true_log_prob"]

#: FFJORD's 8 Gaussians: centres 4·(unit vectors at multiples of 45°), std 0.5, all / 1.414
EIGHT = toys.Modes(4.0 * toys.GAUSSIANS8.centres / 2.0, 0.5 / 1.414)
TOYS = ("8 gaussians", "checkerboard", "two moons")


def toy_data(name: str, n: int, generator: Generator) -> np.ndarray:
    """``n`` float64 points (n, 2) of the toy ``name`` (one of :data:`TOYS`)."""
    if name == "8 gaussians":
        return toys.mixture(EIGHT, n, generator, dtype=np.float64)
    if name == "checkerboard":
        return toys.checkerboard(n, generator, dtype=np.float64)
    if name == "two moons":
        return toys.two_moons(n, generator, dtype=np.float64)
    raise ArgumentError(f"toy_data: name must be one of {list(TOYS)}, got {name!r}")


def true_log_prob(name: str, x: np.ndarray) -> np.ndarray:
    """log p(x) per point under the generating density: the mixture of the 8 Gaussians;
    uniform on the checkerboard's 8 squares of side 2 (−log 32 inside them); for two moons
    the uniform arcs blurred by the noise (`toys.two_moons_log_prob`, the limit of infinitely
    many points)."""
    if name == "checkerboard":
        return np.full(len(x), -np.log(32.0))
    if name == "two moons":
        return toys.two_moons_log_prob(x)
    sq = ((x[:, None, :] - EIGHT.centres[None]) ** 2).sum(-1) / EIGHT.std ** 2
    lp = -0.5 * sq - np.log(2 * np.pi * EIGHT.std ** 2) - np.log(len(EIGHT.centres))
    top = lp.max(1)
    return top + np.log(np.exp(lp - top[:, None]).sum(1))


def gaussian_log_pdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(x; mean, cov) per row of x."""
    diff = x - mean
    sol = np.linalg.solve(cov, diff.T).T
    return -0.5 * (diff * sol).sum(1) - 0.5 * np.linalg.slogdet(2 * np.pi * cov)[1]


def total_logdet_terms(model: IResNet, x, v, n: int) -> np.ndarray:
    """Per block, the terms vᵀJ^k v at the block's input (k ≤ n): (blocks, B, m, n)."""
    with no_grad():
        return np.array([fused_series_terms(block, z, v, n).numpy()
                         for block, z in zip(model.blocks, model.block_inputs(x))])


def exact_total_logdet(model: IResNet, x) -> np.ndarray:
    """Σ_i log|det(I + J_{g_i})| per row, exactly (2 × 2 Jacobians; the ActNorms' constant
    log-det left out)."""
    base = -0.5 * (model(x) * model(x)).sum(axis=1) - np.log(2 * np.pi)
    return (model.log_prob(x, "exact") - base).numpy() - model.affine_logdet()


def roulette_draws(terms: np.ndarray, gen: Generator, coef: np.ndarray, n_exact: int,
                   p: float) -> np.ndarray:
    """Total log-det estimates (B, R) from per-block terms (blocks, B, R, CAP): draw i of block
    b keeps the first n_exact + N_{b,i} terms (N ~ Geometric(``p``)), weighted by ``coef``."""
    blocks, _, R, cap = terms.shape
    drawn = np.array([[L.draw_terms("geometric", p, gen) for _ in range(R)]
                      for _ in range(blocks)])
    keep = np.arange(1, cap + 1)[None, None, :] <= np.minimum(n_exact + drawn, cap)[:, :, None]
    return (terms * (coef * keep)[:, None]).sum((0, 3))


def estimator_spread(model: IResNet, x, gen: Generator, repeats: int, cap: int, p: float
                     ) -> dict:
    """Bias (mean over points of mean-estimate − exact) and spread (mean over points of the
    std across ``repeats`` draws) of the truncated series (n = 5) and the roulette (N ~
    Geometric(``p``), two exact leading terms, ``cap`` terms computed)."""
    exact = exact_total_logdet(model, x)
    v = L.probes(x.shape[0], repeats, 2, generator=gen, dtype=np.float64)
    terms = total_logdet_terms(model, x, v, cap)  # (blocks, B, R, CAP)
    series = (terms.sum(0)[..., :5] * L.power_series_coefficients(5)).sum(-1)
    roulette = roulette_draws(terms, gen, L.roulette_coefficients(cap - 2, 2, "geometric", p),
                              2, p)
    return {name: {"bias": float((e.mean(1) - exact).mean()), "std": float(e.std(1).mean())}
            for name, e in (("truncated n=5", series), ("roulette", roulette))}


def toy_model(model: dict, seed: int, state: dict | None = None) -> IResNet:
    """The toys' float64 ``IResNet(2, **model)`` with its weights drawn from generator
    ``seed + 3`` (as :func:`fit_toy` builds it); ``state``: then load these weights and
    buffers (a fitted job's ``state``) and put it in eval mode."""
    net = IResNet(2, **model, generator=Generator(seed + 3)).to(dtype=np.float64)
    if state is not None:
        net.load_state_dict(state)
        net.eval()
    return net


def fit_toy(name: str, seed: int, n_train: int, n_test: int, model: dict, steps: int,
            batch: int, lr: float, series_n: int, trace_every: int, trace: dict) -> dict:
    """One toy's flow, start to finish: the data (generators ``seed + 1``, ``seed + 2``),
    standardised by the training mean and std; :func:`toy_model`; Adam at ``lr`` on a cosine
    down to 0.1·lr for ``steps`` batches of ``batch`` (indices from NumPy generator
    ``seed + 4``), loss −log p on the series of exact traces (``series_n`` terms, basis
    probes); before step 0, every ``trace_every`` steps and at the end,
    :func:`estimator_spread` (``**trace``: repeats, cap, p) on the first 128 test points with
    generator ``seed``. Then the test points' exact and series log p.

    Returns ``state`` (weights and buffers as arrays, for :func:`toy_model`), ``mu``, ``sd``,
    ``shift`` (Σ log sd: the NLL in the data's coordinates is −log p + shift), ``test_lp``
    (exact log p of each standardised test point), ``series_error`` (max |series − exact|),
    ``params``, ``trace`` (steps and estimator measurements), ``losses`` and ``cpu_seconds``."""
    t0 = time.process_time()
    gen = Generator(seed)
    x_train = toy_data(name, n_train, Generator(seed + 1))
    x_test = toy_data(name, n_test, Generator(seed + 2))
    mu, sd = x_train.mean(0), x_train.std(0)
    xt, xs = (x_train - mu) / sd, (x_test - mu) / sd
    net = toy_model(model, seed)
    opt = Adam(net.parameters(), lr=lr)
    rng = np.random.default_rng(seed + 4)
    fixed = tensor(xs[:128])
    history = {"step": [], "estimators": []}
    losses = []
    for step in range(steps + 1):
        if step % trace_every == 0 or step == steps:
            net.eval()
            history["step"].append(step)
            history["estimators"].append(estimator_spread(net, fixed, gen, **trace))
            net.train()
        if step == steps:
            break
        for group in opt.param_groups:  # cosine decay to 1/10
            group["lr"] = lr * (0.55 + 0.45 * np.cos(np.pi * step / steps))
        x = tensor(xt[rng.integers(0, len(xt), batch)])
        loss = -net.log_prob(x, "series", n=series_n, probe_kind="basis").mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    net.eval()
    with no_grad():
        exact_lp = net.log_prob(tensor(xs), "exact").numpy()
        series_lp = net.log_prob(tensor(xs), "series", n=series_n, probe_kind="basis").numpy()
    return {"state": {k: t.numpy() for k, t in net.state_dict().items()}, "mu": mu, "sd": sd,
            "shift": float(np.log(sd).sum()), "test_lp": exact_lp,
            "series_error": float(np.abs(series_lp - exact_lp).max()),
            "params": int(sum(p.size for p in net.parameters())), "trace": history,
            "losses": losses, "cpu_seconds": time.process_time() - t0}


def toy_baselines(name: str, seed: int, n_train: int, n_test: int, ks: tuple[int, ...],
                  budget: int) -> dict:
    """The baselines of one toy, on :func:`fit_toy`'s points (same generators): the single
    Gaussian's test NLL; EM mixtures (full covariances, 6K − 1 parameters) for every K in
    ``ks`` within the flow's parameter ``budget``, fit on the first 80 % of the training
    points (``random_state=seed``), K chosen by the NLL of the other 20 % and every K's test
    NLL kept for the record; and the generating density (:func:`true_log_prob`).

    Returns ``gaussian_nll``, ``gmm`` (k, nll, params, per_k, and test_lp: the chosen
    mixture's log p per test point), ``true_lp`` (per test point) and ``cpu_seconds``."""
    from sklearn.mixture import GaussianMixture

    t0 = time.process_time()
    x_train = toy_data(name, n_train, Generator(seed + 1))
    x_test = toy_data(name, n_test, Generator(seed + 2))
    gauss = -gaussian_log_pdf(x_test, x_train.mean(0), np.cov(x_train.T)).mean()
    cut = len(x_train) * 4 // 5
    per_k = {}
    for k in (k for k in ks if 6 * k - 1 <= budget):
        mix = GaussianMixture(k, covariance_type="full", random_state=seed, max_iter=200)
        mix.fit(x_train[:cut])
        per_k[k] = {"val": float(-mix.score(x_train[cut:])),
                    "test": float(-mix.score_samples(x_test).mean()), "params": 6 * k - 1,
                    "test_lp": mix.score_samples(x_test)}
    best = min(per_k, key=lambda k: per_k[k]["val"])
    lp = {k: v.pop("test_lp") for k, v in per_k.items()}[best]
    gmm = {"k": best, "nll": per_k[best]["test"], "params": per_k[best]["params"],
           "test_lp": lp, "per_k": {str(k): v for k, v in per_k.items()}}
    return {"gaussian_nll": float(gauss), "gmm": gmm, "true_lp": true_log_prob(name, x_test),
            "cpu_seconds": time.process_time() - t0}


def _eight_bit(images: np.ndarray) -> np.ndarray:
    """[−1, 1] images → integer levels 0 … 255, one row per image."""
    return np.round((images.reshape(len(images), -1) + 1) / 2 * 255)


def fit_digits(quick: bool, seed: int, model: dict, steps: int, batch: int, lr: float,
               p: float, ridges: tuple[float, ...], iterations: int, samples: int = 16
               ) -> dict:
    """The digits i-ResNet, start to finish (``digit_data(quick)``: 8 × 8 or 14 × 14). Pixels:
    8-bit levels y, dequantised ỹ = (y + u)/256 (u from NumPy generator ``seed + 11``, which
    also draws the batches), standardised with the training mean and std (floored at 0.05).
    Base: N(μ, Σ + λI) on the standardised training pixels, λ in ``ridges`` chosen on a
    validation fifth; the flow ``IResNet(D, **model)`` (generator ``seed + 12``, last layers
    scaled by 0.1: it starts near the Gaussian) acts on the whitened pixels, trained by Adam
    (``steps`` batches of ``batch``) on the roulette (N ~ Geometric(``p``), generator
    ``seed + 13``, which then also scores the test images with four probes each). Samples:
    ``samples`` z from generator ``seed + 14``, inverted with ``iterations`` fixed-point steps.

    Returns side, bits_per_dim, se, per_pixel_gaussian, full_gaussian, ridge, gain_over_full,
    gain_se (paired per test image, bits/dim), params, samples (images in [0, 1]),
    test_images (the first ``samples`` test images in [0, 1]), train_seconds (CPU of the
    training loop) and cpu_seconds."""
    from ..image_gans import digit_data

    t0 = time.process_time()
    x_img, _, xt_img, _, side = digit_data(quick)
    d = side * side
    drng = np.random.default_rng(seed + 11)
    y_train, y_test = _eight_bit(x_img), _eight_bit(xt_img)
    pix_mu = (y_train + 0.5).mean(0) / 256
    pix_sd = np.maximum(((y_train + drng.random(y_train.shape)) / 256).std(0), 0.05)
    log_sd = float(np.log(pix_sd).sum())

    def standardised(levels: np.ndarray) -> np.ndarray:
        return ((levels + drng.random(levels.shape)) / 256 - pix_mu) / pix_sd

    def bits_per_dim(nll: np.ndarray) -> float:
        """Mean −log p(ỹ) in nats of the standardised pixels → bits/dim of the 8-bit images."""
        return float((np.mean(nll) + log_sd + d * np.log(256)) / (d * np.log(2)))

    train_x, test_s = standardised(y_train), standardised(y_test)
    cut = len(train_x) * 4 // 5
    ridge_nll = {lam: float(-gaussian_log_pdf(
        train_x[cut:], train_x[:cut].mean(0), np.cov(train_x[:cut].T) + lam * np.eye(d)).mean())
        for lam in ridges}
    ridge = min(ridge_nll, key=ridge_nll.get)
    full_mu = train_x.mean(0)
    chol = np.linalg.cholesky(np.cov(train_x.T) + ridge * np.eye(d))
    log_chol = float(np.log(np.diag(chol)).sum())

    def whiten(x: np.ndarray) -> np.ndarray:
        return np.linalg.solve(chol, (x - full_mu).T).T

    net = IResNet(d, **model, generator=Generator(seed + 12)).to(dtype=np.float64)
    for block in net.blocks:  # start near the identity, i.e. near the Gaussian base
        block.linears[-1].weight.data = block.linears[-1].weight.data * 0.1
    opt = Adam(net.parameters(), lr=lr)
    gen = Generator(seed + 13)
    t1 = time.process_time()
    for _ in range(steps):
        rows = y_train[drng.integers(0, len(y_train), batch)]
        x = tensor(whiten(standardised(rows)))
        loss = -net.log_prob(x, "roulette", generator=gen, p=p).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    train_seconds = time.process_time() - t1
    net.eval()
    test_w = whiten(test_s)
    with no_grad():
        test_lp = net.log_prob(tensor(test_w), "roulette", probes=4, generator=gen,
                               p=p).numpy()
    flow_nll = -test_lp + log_chol  # nats, standardised pixels
    full_nll = 0.5 * (test_w ** 2).sum(1) + 0.5 * d * np.log(2 * np.pi) + log_chol
    gain = (full_nll - flow_nll) / (d * np.log(2))  # bits/dim, per test image
    diag_bpd = bits_per_dim(0.5 * (test_s ** 2).sum(1) + 0.5 * d * np.log(2 * np.pi))
    with no_grad():
        z = Generator(seed + 14).normal(samples, d, dtype=np.float64)
    drawn, _ = net.inverse(z, iterations)
    drawn = np.clip((drawn.numpy() @ chol.T + full_mu) * pix_sd + pix_mu, 0, 1)
    return {"side": side, "bits_per_dim": bits_per_dim(flow_nll),
            "se": float(np.std(flow_nll) / np.sqrt(len(flow_nll)) / (d * np.log(2))),
            "per_pixel_gaussian": diag_bpd, "full_gaussian": bits_per_dim(full_nll),
            "ridge": ridge, "gain_over_full": float(gain.mean()),
            "gain_se": float(gain.std() / np.sqrt(len(gain))),
            "params": int(sum(w.size for w in net.parameters())),
            "samples": drawn.reshape(samples, side, side),
            "test_images": ((y_test[:samples] + 0.5) / 256).reshape(samples, side, side),
            "train_seconds": train_seconds, "cpu_seconds": time.process_time() - t0}
