# %% [markdown]
# # Lesson 18: the variational autoencoder — a bound, and the likelihood behind it
#
# A VAE is a latent-variable model p(x) = ∫ p(z)·p(x | z) dz with p(z) = N(0, I) and a
# decoder network for p(x | z). The integral has no closed form, so an encoder network
# proposes q(z | x) = N(μ(x), diag σ²(x)) and training maximises the evidence lower bound
#
#     log p(x) ≥ ELBO(x) = E_{z ~ q} log p(x | z) − KL(q(z | x) ‖ p(z))
#
# (the VAE posts; Kingma & Welling 2014). Two tricks make it trainable: z = μ + σ·ε with
# ε ~ N(0, I) drawn outside the network (reparameterisation), so the gradient reaches μ and
# σ, and the Gaussian KL in closed form, ½ Σ (σ² + μ² − 1 − log σ²).
#
# **How good is the model, not the bound?** The gap ELBO → log p(x) is KL(q(z|x) ‖ p(z|x)),
# how wrong the encoder is. Importance sampling with q as the proposal measures log p(x)
# itself:
#
#     log p(x) ≈ log (1/k) Σ_{i=1..k} p(x, z_i) / q(z_i | x),   z_i ~ q(z | x),
#
# whose expectation rises from the ELBO (k = 1) to log p(x) as k → ∞ (Burda et al. 2016).
# The library's PPCA test checks this estimator against a likelihood known in closed form.
#
# **What we train.** Binarised digits (each pixel 1 with its grey value as probability,
# re-drawn every batch; the test set drawn once): MNIST-10k (8,000 training images) and
# Fashion-MNIST (55,000), both 28 × 28, Bernoulli decoder. Encoder 784 → 256 (ReLU) → μ, log σ²
# (20 each); decoder 20 → 256 (ReLU) → 784 logits; Adam 10⁻³, batches of 100. Then a second
# MNIST model with a 2-D latent, to draw the latent space.
#
# **Sizes.** 3,000 steps per model (about 40 epochs of MNIST-10k, 5 of Fashion-MNIST), the
# test ELBO on the whole test set and the importance-sampled likelihood with k up to 5,000
# on its first 100 images (5 × 10⁵ decoder passes per dataset). The published yardstick:
# Burda et al. (2016, Table 1) report −86.76 nats for a VAE with one stochastic layer of 50
# units (200-200 tanh networks) on the full binarised MNIST (60,000 images, 3,280 epochs),
# k = 5,000 — we train on 8,000 images for 40 epochs, so expect a worse number.
# `--quick` (tests): scikit-learn's 8 × 8 digits, 600 steps, k up to 500 on 50 images.
#
# Exercises: reparam_kl, importance_loglik
# (`tinygen exercise start NAME`, then `tinygen exercise check NAME`).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import lesson
from tinygen.data import load_digits, load_fashion_mnist, load_mnist10k
from tinygen.models.variational.vae import (VAE, BernoulliDecoder, GaussianEncoder, binarize,
                                            factorised_bernoulli_log_likelihood, fit_vae,
                                            importance_curve, mlp)

args = lesson.parse("18_vae", "VAE on binarised MNIST-10k and Fashion-MNIST: ELBO vs "
                    "importance-sampled log-likelihood, samples, a 2-D latent map")
started = time.perf_counter()

if args.quick:
    DATASETS = {"digits 8x8": load_digits}
    HIDDEN, LATENT, STEPS, N_IS, K_MAX = 64, 8, 600, 50, 500
else:
    DATASETS = {"MNIST-10k": load_mnist10k, "Fashion-MNIST": load_fashion_mnist}
    HIDDEN, LATENT, STEPS, N_IS, K_MAX = 256, 20, 3000, 100, 5000
KS = [k for k in (1, 2, 5, 10, 50, 100, 500, 1000, 5000) if k <= K_MAX]
rng = np.random.default_rng(args.seed)


def make_vae(pixels: int, latent: int) -> VAE:
    """Encoder pixels → HIDDEN → (μ, log σ²); decoder latent → HIDDEN → pixel logits."""
    encoder = GaussianEncoder(mlp([pixels, HIDDEN], final_activation=True), HIDDEN, latent)
    return VAE(encoder, BernoulliDecoder(mlp([latent, HIDDEN, pixels]))).to(args.device)


data = {}
for name, loader in DATASETS.items():
    (x, y), _, (xt, yt) = loader()
    data[name] = {"train": x, "test_bin": binarize(xt, rng), "y_test": yt, "side": x.shape[1]}
    print(f"{name}: {len(x):,} training and {len(xt):,} test images, {x.shape[1]}×{x.shape[2]}")

# %% [markdown]
# ## Training, and the test ELBO
#
# `fit_vae` runs Adam on −ELBO with a fresh binarisation of every batch. The untrained model's
# test ELBO is measured first, as a floor.

# %%
def test_elbo(vae: VAE, x: np.ndarray, draws: int = 1) -> np.ndarray:
    """The one-sample ELBO per test image, averaged over ``draws`` draws of z."""
    gen = tg.Generator(args.seed + 7, args.device)
    with tg.no_grad():
        return np.mean([vae.elbo(tg.tensor(x, device=args.device), gen).numpy()
                        for _ in range(draws)], axis=0)


results = {}
for name, d in data.items():
    tg.manual_seed(args.seed)
    pixels = d["test_bin"].shape[1]
    vae = make_vae(pixels, LATENT)
    untrained = float(test_elbo(vae, d["test_bin"]).mean())
    t0 = time.perf_counter()
    losses = fit_vae(vae, d["train"].reshape(len(d["train"]), -1), STEPS, seed=args.seed,
                     device=args.device, log_every=0 if args.quick else STEPS // 3)
    elbo = test_elbo(vae, d["test_bin"], draws=1 if args.quick else 5)
    results[name] = {"vae": vae, "losses": losses, "elbo": elbo, "untrained_elbo": untrained,
                     "train_seconds": time.perf_counter() - t0}
    print(f"{name}: test ELBO {elbo.mean():.2f} nats (untrained {untrained:.1f}); "
          f"{results[name]['train_seconds']:.0f} s")

# %% [markdown]
# ## The importance-sampled likelihood, and how the gap closes with k
#
# For the first N_IS test images we draw K_MAX samples z_i ~ q(z | x) once and keep the
# log-weights log p(x | z_i) + log p(z_i) − log q(z_i | x); the k-sample estimate for every
# smaller k averages the ⌊K_MAX/k⌋ disjoint blocks of k draws (`importance_curve`). The
# factorised Bernoulli model (every pixel independent, its training frequency) is the
# no-latent baseline on the same images (its value is in the titles: far below the chart).

# %%
for name, d in data.items():
    r = results[name]
    x_is = d["test_bin"][:N_IS]
    t0 = time.perf_counter()
    log_w = r["vae"].log_weights(tg.tensor(x_is, device=args.device), K_MAX,
                                 tg.Generator(args.seed + 11, args.device), batch=N_IS,
                                 chunk=250)
    curve = importance_curve(log_w, KS)
    train_bin = binarize(d["train"][:20000], rng)
    r.update(curve={k: float(v.mean()) for k, v in curve.items()},
             elbo_subset=float(test_elbo(r["vae"], x_is, draws=20).mean()),
             baseline_subset=float(factorised_bernoulli_log_likelihood(train_bin, x_is).mean()),
             baseline_test=float(factorised_bernoulli_log_likelihood(
                 train_bin, d["test_bin"]).mean()),
             is_seconds=time.perf_counter() - t0)
    print(f"{name}: on {N_IS} test images ELBO {r['elbo_subset']:.2f}, IS k={K_MAX} "
          f"{r['curve'][K_MAX]:.2f}, factorised Bernoulli {r['baseline_subset']:.2f} nats "
          f"({r['is_seconds']:.0f} s)")

fig, axes = plt.subplots(1, len(data), figsize=(6 * len(data), 4), squeeze=False)
for ax, (name, r) in zip(axes[0], results.items()):
    ks = sorted(r["curve"])
    ax.semilogx(ks, [r["curve"][k] for k in ks], "o-", color="tab:blue",
                label="importance-sampled log p(x)")
    ax.axhline(r["elbo_subset"], color="tab:orange", ls="--", label="ELBO (20 draws)")
    ax.set(xlabel="k (samples from q(z|x))", ylabel=f"nats per image ({N_IS} test images)",
           title=f"{name}: the gap closes with k\n(factorised Bernoulli, off the chart: "
                 f"{r['baseline_subset']:.1f})")
    ax.legend(fontsize=8)
fig.tight_layout()
lesson.save_figure(fig, args, "likelihood_vs_k.png")
plt.close(fig)

# %% [markdown]
# ## Reconstructions and samples
#
# Top rows: binarised test images and the decoder's pixel probabilities at their posterior
# means. Bottom: decoder means at 32 draws z ~ N(0, I).

# %%
def tiles(images: np.ndarray, side: int, cols: int) -> np.ndarray:
    """(n, side²) → one image of ⌈n/cols⌉ × cols tiles."""
    n = len(images)
    rows = -(-n // cols)
    grid = np.zeros((rows * (side + 1), cols * (side + 1)))
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        grid[r * (side + 1):r * (side + 1) + side, c * (side + 1):c * (side + 1) + side] = \
            img.reshape(side, side)
    return grid


fig, axes = plt.subplots(2, len(data), figsize=(6 * len(data), 3.6), squeeze=False)
gen = tg.Generator(args.seed + 3, args.device)
for j, (name, r) in enumerate(results.items()):
    d = data[name]
    x = d["test_bin"][:16]
    recon = r["vae"].reconstruct(tg.tensor(x, device=args.device)).numpy()
    axes[0, j].imshow(tiles(np.concatenate([x, recon]), d["side"], 16), cmap="gray_r")
    axes[0, j].set_title(f"{name}: test images (top), reconstructions (bottom)")
    axes[1, j].imshow(tiles(r["vae"].sample(32, gen).numpy(), d["side"], 16), cmap="gray_r")
    axes[1, j].set_title(f"{name}: samples from the prior")
    for ax in axes[:, j]:
        ax.axis("off")
fig.tight_layout()
lesson.save_figure(fig, args, "reconstructions_samples.png")
plt.close(fig)

# %% [markdown]
# ## A 2-D latent space
#
# The same model with a 2-D latent on the first dataset. Left: every test image at its
# posterior mean, coloured by its (unseen) label, the label written at each class's mean
# code. Right: the decoder's output over a grid of z at the prior's quantiles, the picture
# the posts draw: neighbouring codes decode to similar digits.

# %%
first = next(iter(data))
d = data[first]
tg.manual_seed(args.seed)
vae2 = make_vae(d["test_bin"].shape[1], 2)
losses2 = fit_vae(vae2, d["train"].reshape(len(d["train"]), -1), STEPS, seed=args.seed + 1,
                  device=args.device)
elbo2 = float(test_elbo(vae2, d["test_bin"]).mean())
with tg.no_grad():
    codes = vae2.encoder(tg.tensor(d["test_bin"], device=args.device))[0].numpy()
fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
scatter = axes[0].scatter(codes[:, 0], codes[:, 1], c=d["y_test"], cmap="tab10", s=4)
for label in range(10):
    centre = codes[d["y_test"] == label].mean(axis=0)
    axes[0].text(*centre, str(label), fontsize=16, weight="bold", ha="center", va="center",
                 bbox={"facecolor": "white", "alpha": 0.7, "lw": 0})
axes[0].set(title=f"{first}: test images at their mean codes (test ELBO {elbo2:.1f})",
            xlabel="z₁", ylabel="z₂")
n_grid = 15
q = np.linspace(-1.8, 1.8, n_grid)  # about the prior's 4%–96% quantiles
zz = np.array([[a, b] for b in q[::-1] for a in q], dtype=np.float32)
with tg.no_grad():
    decoded = vae2.decoder.mean(tg.tensor(zz, device=args.device)).numpy()
axes[1].imshow(tiles(decoded, d["side"], n_grid), cmap="gray_r")
axes[1].set_title("decoder means over a grid of z ∈ [−1.8, 1.8]²")
axes[1].axis("off")
fig.tight_layout()
lesson.save_figure(fig, args, "latent_map.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# The checks compare numbers measured in this run: on the same test images, the
# importance-sampled log-likelihood must lie at or above the ELBO (it is a tighter estimate
# of the same quantity) and above the factorised Bernoulli model (the latent code must
# explain something), and the trained ELBO must beat the untrained one. (A full run on this
# project's machine: MNIST-10k test ELBO −109.5, IS log-likelihood −101.5 (k = 5,000, 100
# images; ELBO on them −107.6), factorised Bernoulli −213.8 nats; Fashion-MNIST −247.3,
# −233.2 (−237.8), −388.7.)

# %%
elapsed = time.perf_counter() - started
metrics = {"datasets": list(data), "hidden": HIDDEN, "latent": LATENT, "steps": STEPS,
           "is_images": N_IS, "k_max": K_MAX, "seconds": round(elapsed, 1),
           "latent2_test_elbo": elbo2}
for name, r in results.items():
    metrics[name] = {
        "train_images": len(data[name]["train"]), "test_images": len(data[name]["test_bin"]),
        "test_elbo": float(r["elbo"].mean()), "untrained_test_elbo": r["untrained_elbo"],
        "elbo_subset": r["elbo_subset"], "is_loglik": r["curve"][K_MAX],
        "is_curve": {str(k): v for k, v in r["curve"].items()},
        "baseline_subset": r["baseline_subset"], "baseline_test": r["baseline_test"],
        "final_train_loss": float(np.mean(r["losses"][-100:])),
        "train_seconds": round(r["train_seconds"], 1), "is_seconds": round(r["is_seconds"], 1)}
    print(f"{name}: test ELBO {metrics[name]['test_elbo']:.2f}; on {N_IS} images: ELBO "
          f"{r['elbo_subset']:.2f}, IS (k={K_MAX}) {r['curve'][K_MAX]:.2f}, factorised "
          f"Bernoulli {r['baseline_subset']:.2f} nats")
print(f"total {elapsed:.0f} s")


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """Per dataset: IS log-lik ≥ ELBO on the same images, IS log-lik above the factorised
    Bernoulli baseline by a margin, trained ELBO above the untrained one; the k-curve rises."""
    results = []
    margin = 1.0 if quick else 20.0
    for name in m["datasets"]:
        r = m[name]
        curve = [r["is_curve"][k] for k in sorted(r["is_curve"], key=int)]
        results += [
            (r["is_loglik"] >= r["elbo_subset"], f"{name}: IS log-lik {r['is_loglik']:.2f} ≥ "
             f"ELBO {r['elbo_subset']:.2f} on the same images"),
            (r["is_loglik"] > r["baseline_subset"] + margin, f"{name}: IS log-lik "
             f"{r['is_loglik']:.2f} beats the factorised Bernoulli "
             f"{r['baseline_subset']:.2f} by > {margin} nats"),
            (r["test_elbo"] > r["untrained_test_elbo"] + 5 * margin, f"{name}: test ELBO "
             f"{r['test_elbo']:.2f} well above the untrained {r['untrained_test_elbo']:.2f}"),
            (curve[-1] > curve[0], f"{name}: the k-sample estimate rises from k=1 "
             f"({curve[0]:.2f}) to the largest k ({curve[-1]:.2f})")]
    return results


lesson.finish(metrics, args, checks)
