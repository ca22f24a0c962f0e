# %% [markdown]
# # Lesson 19: clustering in one step — a VAE whose prior is a mixture
#
# A plain VAE maps images to codes z with the prior N(0, I); clustering them afterwards
# (k-means on z) is a second, separate step. The post "一步到位的聚类方案" (VAE part 4) puts
# the clusters into the model: a class y with a uniform prior, a Gaussian per class
# p(z | y) = N(μ_y, I) with learned means, and a network p(y | z) that says which Gaussian
# a code came from. Per image, with z = μ(x) + σ(x)·ε from the encoder,
#
#     loss = λ·Σ ½(x − x̂)²                                   reconstruction, λ = 2.5
#          + Σ_y p(y|z)·Σ_i −½(log σ_i² − (z_i − μ_{y,i})²)  KL to the class's Gaussian
#          + Σ_y p(y|z)·log p(y|z)                           KL of p(y|z) to uniform
#
# (constants dropped). No label is ever used: the clusters are whatever groups make the
# images easiest to encode, and the cluster of x is argmax_y p(y | μ(x)). Sampling cluster y
# means decoding μ_y + ε — one row per cluster in the figure below, as in the post.
#
# **Measuring it.** Accuracy the post's way: each cluster takes its majority label (several
# clusters may share one); and the stricter one-to-one matching of clusters to labels that
# maximises agreement (the Hungarian method, SciPy's `linear_sum_assignment`). Baselines in
# the same run: k-means (10 clusters, scikit-learn) on the raw pixels and on the codes of a
# plain VAE (lesson 18's MLP VAE, trained on the same images).
#
# **Sizes.** The post trains 50 epochs on the full 60,000-image training sets at 28 × 28 with
# 32 and 64 filters (a GPU's work). Here, on a CPU: MNIST-10k (8,000 training images) and
# Fashion-MNIST (55,000), padded to 32 × 32 and averaged down to 16 × 16, the post's network
# with half the filters (16 and 32), 4,500 steps of 100 images (56 epochs of MNIST-10k, 8 of
# Fashion-MNIST; the first 500 warm up the class means, see below) — 3/20 of the post's
# 30,000 steps, each a sixth of the work of one of the post's (measured here: 0.047 vs 0.29
# CPU seconds per step of 100 images, so the post's run would take this CPU about 2½ hours
# per dataset); the plain VAE of the baseline gets the same 4,500 steps. λ = 2.5 is the
# precision of the decoder's Gaussian noise on each 28 × 28 pixel (the reference code's
# comment: its reciprocal is the reconstruction variance). A pixel of our 16 × 16 images is
# the mean of 2 × 2 of those pixels, whose independent noise has a quarter of the variance,
# so the same model on the smaller images has λ = 4·2.5 = 10; the 8 × 8 digits are 4 × 4
# block counts of 32 × 32 bitmaps, λ = 16·2.5 = 40. (Earlier runs kept the total weight,
# 2.5·784/256 = 7.7: MNIST 70.9% at 2,500 steps. Lower λ leaves the codes too vague for the
# k-means start: with λ = 3, 36% at the start; with plain 2.5 on 8 × 8 digits, 8 of the 10
# clusters died.)
# Checked line by line against the post's code (vae_keras_cluster.py in bojone/vae, its last
# version, λ = 2.5): the same loss — the KL term at the sampled z, p(y|z) of the sampled z,
# batch means of per-image sums — the same layers, batches of 100, Adam at Keras' 10⁻³; our
# convolutions start He-uniform where Keras' start Glorot-uniform. One departure, explained
# below: the class means start at k-means centres of the codes.
# Published (the post, full data): ≈ 83–84.5% on MNIST, ≈ 58.5–60.6% on Fashion-MNIST
# (majority mapping). `--quick` (tests): scikit-learn's 8 × 8 digits.
#
# Exercises: reparam_kl
# (`tinygen exercise start NAME`, then `tinygen exercise check NAME`).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import lesson
from tinygen.models.variational import clustering as C
from tinygen.models.variational.clustering import ClusterVAE, cluster_accuracy, confusion
from tinygen.parallel import run_jobs

args = lesson.parse("19_vae_clustering", "the post's one-step VAE clustering vs k-means on "
                    "pixels and on VAE codes, MNIST-10k and Fashion-MNIST",
                    flags={"--steps": {"type": int, "default": 0,
                                       "help": "steps of every model (0: the lesson's own)"},
                           "--jobs": {"type": int, "default": 2,
                                      "help": "worker processes for the trainings (1: one "
                                              "after another, in this process)"}})
started = time.perf_counter()

LAMBDA, LATENT, CLASSES = 2.5, 20, 10
KMEANS_RESTARTS = 10  # k-means++ restarts, lowest inertia kept: baselines and means start alike
BINARY = False  # True: train on binarised images, as the plain VAE does (tried; see below)
if args.quick:
    DATASETS = ["digits 8x8"]
    FILTERS, STEPS, WARM, N_TRAIN_EVAL = (8, 16), 400, 150, 1000
else:
    DATASETS = ["MNIST-10k", "Fashion-MNIST"]
    FILTERS, STEPS, WARM, N_TRAIN_EVAL = (16, 32), 4500, 500, 5000
STEPS = VAE_STEPS = args.steps or STEPS  # the plain VAE gets the same number of steps
EVAL_AT = sorted({WARM, *range(WARM, STEPS + 1, max(1, (STEPS - WARM) // 5)), STEPS})


def block_lambda(side: int) -> float:
    """λ for our s × s images: the post's 2.5 per 28 × 28 pixel times the number of source
    pixels averaged into one of ours (4 for MNIST's 2 × 2 blocks, 16 for the 8 × 8 digits)."""
    return LAMBDA * (4 if side == 16 else 16)


data = {}
for name in DATASETS:
    x, y, xt, yt = C.cluster_images(name)  # 28 × 28 → 16 × 16 block means; 8 × 8 unchanged
    data[name] = {"x": x, "y": y, "xt": xt, "yt": yt}
    print(f"{name}: {len(x):,} training, {len(xt):,} test images, now "
          f"{x.shape[-1]}×{x.shape[-1]}")

# %% [markdown]
# ## Training the clustering VAE, and the baselines
#
# Adam (10⁻³) on the post's loss, batches of 100 drawn with replacement. The three terms are
# logged: the reconstruction should fall, and the class entropy term Σ p log p should go
# to 0 (each code confidently in one cluster) without the clusters collapsing into one.
#
# **One change to the post: where the class means start.** With all means at zero (the
# post) every class's Gaussian is the same, so p(y|z) = uniform minimises the loss and every
# mean gets the same gradient: a symmetric point. The post's 30,000 steps leave it; our
# first full run with 1,500 steps did not (Σ p log p stayed at −log 10 = −2.30, MNIST test
# accuracy 32%), and means started at random N(0, I) draws let one cluster take every code
# (12% after 300 steps). With Adam at 3·10⁻³ the post's zero start does leave it, slowly
# (a separate MNIST-10k run, λ = 7.7: Σ p log p −2.30 at 500 steps, −1.75 at 1,500, −1.13
# at 2,000; test accuracy 36%, 41%, 57%) — at 2,000 steps still far below the k-means start
# below, so that start stays. So, as VaDE does (Jiang et al. 2017): train the model as it is for
# WARM steps (at the symmetric point it is a plain VAE), set the means to the k-means centres
# of the codes μ(x) of 5,000 training images, then train on with the post's loss
# (`C.fit_cluster_vae`).
#
# **Why it loses to k-means on plain-VAE codes on Fashion-MNIST** (the full-run checks below
# fail there; seed 0 unless said; accuracies majority / Hungarian, test set):
#
# - *The one-step training hardly moves Fashion-MNIST from its k-means start* (59.2 → 60.1%
#   in 4,000 steps; on MNIST 66.8 → 73.2%), so the result is decided at the start. The means
#   do not collapse (measured in the binarised run below): they move apart (closest pair
#   2.2 → 2.7, median 3.8 → 4.5 between steps 1,000 and 2,000), every cluster keeps images,
#   and p(y|z) turns confident (Σ p log p −2.30 → −0.34).
# - *An early start lumps classes.* k-means on the warm-up codes (the model with its means at
#   zero is a plain conv VAE): 59.2 / 53.0% at step 500, 57.7 / 56.5% at 1,000, 58.8 / 55.3%
#   at 1,500, 59.1 / 57.9% at 2,000, 58.9 / 58.0% at 3,000, 57.3 / 57.3% at 4,500. At step 500
#   the codes still lump classes together (clusters of 1,823 and 1,716 test images next to
#   ones of 415 and 508), which the majority measure forgives and the Hungarian one does
#   not — the 4-point gap we lost by. By 2,000 steps it has nearly closed.
# - *What the baseline's codes have: a good seed, and binarised inputs.* Its
#   confusion matrix (seed 0) is k-means' usual Fashion partition — bags in two clusters,
#   sandals with sneakers, shirts, pullovers and coats mixed. The same MLP VAE with other
#   decoders, k-means on its codes (seeds 0 / 1): binarised Bernoulli (the baseline)
#   61.7 / 58.3% (58.8 / 58.3%), Bernoulli on grey levels 53.4 / 61.4% (48.4 / 59.9%),
#   Gaussian with λ = 10 57.4 / 59.2% (56.8 / 55.6%): the spread between seeds (3 to 8
#   points) is as large as that between decoders; binarised inputs are best on average by
#   about 2 points, as input noise that leaves the silhouettes which tell the classes apart.
# - *Tried, and worse: the clustering VAE on binarised batches* (`BINARY = True`; the loss
#   is the post's, and for a given code its expectation over the binarisation is the
#   grey-level loss plus a constant). With the 500-step start, seed 0 starts at 59.5 / 53.0%
#   and stands at 60.3 / 54.3% at step 2,000 (seed 1: 61.8 / 58.2% → 63.4 / 59.5% at 1,000).
#   With the start moved to step 2,000 as well, two full runs (seeds 0 / 1, 483 / 480 CPU
#   seconds, ≈ 246 s on two idle cores): Fashion-MNIST 55.8 / 60.1% (53.3 / 55.6%), from
#   k-means starts of 57.2 / 59.8% that the one-step training did not raise; MNIST-10k
#   68.9 / 68.3% (65.7 / 65.0%), 2,500 one-step steps lifting 67.5 / 67.1% by a point. Worse
#   on both datasets than the grey images with the early start, so not adopted.
#
# So the one-step model is about as good as the k-means partition of its own codes it
# starts from, and on Fashion-MNIST those codes, at every point of a 4,500-step training,
# cluster below the plain MLP VAE's on seed 0 (57.3–59.2% majority vs 61.7%). The start at
# step 2,000 on grey images (separate Fashion-MNIST runs of 4,500 steps) does no better:
# seed 0 (continued from the warm-up run above, Adam restarted) 59.4 / 59.3% at step 2,500,
# 57.9 / 57.9% at 4,500; seed 1 from a k-means start of 58.0 / 54.1% to 60.0 / 55.1% — each
# still fails a check against that seed's baseline (61.7 / 58.8%, 58.3 / 58.3%); the
# confusion matrices keep k-means' partition (bags split, sandals with sneakers, tops
# mixed). The network's capacity (the post's 32 / 64 filters; on 28 × 28 images they cost
# 6 times ours per step, on our 16 × 16 ones 2.3 times) is measured further below: no better.
#
# *Three more levers, measured on Fashion-MNIST in short separate runs* (1,500 steps, start
# at 500, test accuracy majority / Hungarian; seed 2 for development, then seed 0, the one
# that fails; the baseline: k-means on the plain VAE's codes after 4,500 steps, seed 2
# 59.0 / 55.5%, seed 0 61.7 / 58.8%). Our λ = 10 for reference: seed 2 64.0 / 61.3%,
# seed 0 59.8 / 54.8%.
#
# - *VaDE's start* (`fit_cluster_vae(pretrain=...)`): the clustering VAE takes the baseline's
#   MLP architecture and its trained weights, the means start at k-means of its codes, then
#   the post's loss (λ = 10). Plain VAE 2,250 steps + clustering 2,250 (the baseline's
#   4,500 in all): seed 2 from 59.1% to 57.1 / 56.2%, seed 0 from 59.9% to 58.2 / 54.7%;
#   seed 2 with the full 4,500-step plain VAE + 1,000: 58.5% to 57.8 / 54.4%. The one-step
#   training moves the baseline's own partition down, not up. (With our conv network the
#   same start is the warm-up itself — a plain VAE while the means are equal — and later
#   starts are measured above: no better.)
# - *Learned per-class variances* p(z | y) = N(μ_y, diag s_y²) (`learn_var=True`; a
#   departure from the post's unit variances): seed 2 64.8 / 61.4%, seed 0 59.2 / 54.4%;
#   with λ = 20, seed 0 60.3 / 55.1%. Within a point of unit variances.
# - *λ*: 20 gives seed 2 65.7 / 62.2%, seed 0 60.1 / 54.9%; 40 gives 59.4 / 54.4% and
#   54.3 / 48.1%. λ = 20 is the best of the three on both seeds by under 2 points, and
#   still loses on seed 0 by 1.6 / 3.9 points. Seed 1 (baseline 58.3 / 58.3%): λ = 10
#   59.4 / 53.8%, λ = 20 60.1 / 55.5% — the Hungarian check still fails.
#   At the lesson's 4,500 steps (seed 0, 182 CPU seconds each): λ = 20 61.1 / 55.9%, λ = 20
#   with learned variances 60.5 / 55.7%, vs the baseline's 61.7 / 58.8%.
#
# None passes seed 0 (seed 2's baseline is weaker, and λ = 10 beats it there already), so
# the lesson keeps the post's model with λ = 10 and its checks fail on Fashion-MNIST.
#
# *The last levers: capacity, the start's k-means, and the baselines' k-means* (Fashion-
# MNIST, 1,500 steps with the start at 500, λ = 10, majority / Hungarian; chosen on the
# development seeds 2 and 3, whose baselines are 59.0 / 55.5% and 57.3 / 53.9% — on seed 3
# k-means on the pixels, 59.0 / 55.6%, beats the one on the codes).
#
# - *The post's filters, 32 and 64*: 2.3 times our cost per step (0.099 vs 0.044 CPU
#   seconds per step of 100 images, measured here), so 2,500 steps where we take 4,500.
#   At 1,500 steps seed 2 63.2 / 59.6%, seed 3 63.2 / 59.5% — against 64.0 / 61.3% and
#   65.0 / 61.5% with our 16 and 32. Worse on both, not adopted.
# - *The start fitted on 20,000 codes* (as many as the baselines' k-means sees) instead of
#   5,000: seed 2 64.6 / 61.4%, seed 3 64.7 / 61.1% — the same within half a point.
# - *The start with 100 k-means restarts* instead of 10: seeds 0, 1, 2, 3 59.8 / 54.8%,
#   59.3 / 53.8%, 64.0 / 61.3%, 65.0 / 61.3% — the same as with 10 (59.8 / 54.8%,
#   59.4 / 53.8%, 64.0 / 61.3%, 65.0 / 61.5%): 10 restarts already find the start's partition.
# - *The baselines' k-means.* They never used a single initialisation: both, and the start,
#   use k-means++ with 10 restarts and keep the lowest inertia (`KMEANS_RESTARTS`). How the
#   restart count moves them (test accuracy on plain-VAE codes, seeds 0 / 1 / 2 / 3):
#   1 run (scikit-learn's current default) 61.7 / 58.8%, 55.5 / 50.5%, 59.0 / 55.5%,
#   58.6 / 53.4%; 10 (ours) 61.7 / 58.8%, 58.3 / 58.3%, 59.0 / 55.5%, 57.3 / 53.9%; 100
#   61.8 / 58.9%, 50.8 / 47.9%, 59.0 / 55.5%, 58.0 / 54.3%. On the pixels (seeds 0 / 1):
#   1 run 55.6 / 51.5%, 54.1 / 49.8%; 10 55.4 / 47.5%, 55.3 / 47.4%; 100 55.5 / 47.6%,
#   55.5 / 47.7%. Seed 0's strong baseline is no lucky restart: its inertia is the lowest
#   that 1, 10 and 100 restarts find (46,575). Seed 1's moves 8 points, and the lowest
#   inertia (47,787 with 100 restarts vs 47,976 with 10) is the worse clustering — so more
#   restarts would pass seed 1's Hungarian check by lowering the baseline, not by raising the
#   model, and still fail seed 0 (61.8 / 58.9% vs 60.1 / 54.8%). The lesson keeps 10.
#
# Over the four seeds the one-step model and the baseline overlap: clustering VAE (seeds
# 0 and 1 at the lesson's 4,500 steps, 2 and 3 at 1,500) 60.1, 60.2, 64.0, 65.0% majority,
# mean 62.3%, and 54.8, 55.0, 61.3, 61.5% Hungarian, mean 58.15%; k-means on plain-VAE
# codes 61.7, 58.3, 59.0, 57.3%, mean 59.1%, and 58.8, 58.3, 55.5, 53.9%, mean 56.6%. The
# model is ahead on average by 3.2 / 1.5 points, and by both measures on two seeds of four,
# while each method moves 4–7 points from seed to seed: on Fashion-MNIST a per-run check is
# decided by the seed. The checks stay as they are and fail on seeds 0 and 1.
#
# **The baselines** (`C.kmeans_baselines`): k-means (10 clusters, k-means++ with 10
# restarts keeping the lowest inertia, scikit-learn) fitted on the training images, the test
# images assigned to the nearest centre — on the raw pixels, and on the codes (posterior
# means) of a plain VAE. The same k-means (`KMEANS_RESTARTS` = 10 restarts, `random_state` =
# the seed) gives the clustering VAE its start; scikit-learn's own default since version 1.4,
# `n_init="auto"`, is a single k-means++ run (10 restarts was its default before). The plain
# VAE: lesson 18's MLP (pixels → 256 → 20 → 256 → pixels), Bernoulli decoder on binarised
# pixels, N(0, I) prior, the same number of steps as the clustering VAE.
#
# The four trainings (two models × two datasets) do not depend on each other: each is one
# job (load the data, build the model from the seed, train, cluster; plain values in, arrays
# out), and `tinygen.parallel.run_jobs` runs them in two worker processes, two at a time on
# two cores (`--jobs 1`: one after another, in this process, with the same numbers). The
# trained clustering VAEs come back as arrays and are rebuilt here for the figures.

# %%
keys = ([("cluster", name) for name in reversed(DATASETS)]  # the longest jobs first
        + [("kmeans", name) for name in reversed(DATASETS)])
jobs = []
for kind, name in keys:
    if kind == "cluster":
        side = data[name]["x"].shape[-1]
        jobs.append((C.fit_cluster_vae,
                     {"data": name, "steps": STEPS, "warm": WARM, "lam": block_lambda(side),
                      "eval_at": EVAL_AT, "seed": args.seed, "latent": LATENT,
                      "classes": CLASSES, "filters": FILTERS, "n_train_eval": N_TRAIN_EVAL,
                      "device": args.device, "log_every": 0 if args.quick else STEPS // 3,
                      "binary": BINARY, "n_init": KMEANS_RESTARTS}))
    else:
        jobs.append((C.kmeans_baselines, {"data": name, "steps": VAE_STEPS, "seed": args.seed,
                                          "latent": LATENT, "classes": CLASSES,
                                          "device": args.device, "n_init": KMEANS_RESTARTS}))
# both kinds of job share the two workers: whichever is free takes the next
fitted = dict(zip(keys, run_jobs(jobs, args.jobs)))

results = {}
for name, d in data.items():
    fit, base = fitted["cluster", name], fitted["kmeans", name]
    model = ClusterVAE(fit["side"], LATENT, CLASSES, FILTERS)
    model.load_state_dict(fit["state"])
    model = model.to(args.device).eval()
    r = {"model": model, "log": fit["log"], "curve": fit["curve"],
         "test_clusters": fit["test_clusters"],
         "majority": cluster_accuracy(fit["test_clusters"], d["yt"], "majority"),
         "hungarian": cluster_accuracy(fit["test_clusters"], d["yt"], "hungarian"),
         "train_majority": cluster_accuracy(fit["train_clusters"], d["y"][:N_TRAIN_EVAL],
                                            "majority"),
         "clusters_used": int(len(np.unique(fit["test_clusters"]))),
         "cpu_seconds": fit["cpu_seconds"], "baseline_cpu_seconds": base["cpu_seconds"]}
    for key, clusters in (("kmeans_pixels", base["pixels"]),
                          ("kmeans_vae_codes", base["vae_codes"])):
        r[key] = {m: cluster_accuracy(clusters, d["yt"], m) for m in ("majority", "hungarian")}
    results[name] = r
    print(f"{name}: test accuracy {r['majority']:.1%} (majority), {r['hungarian']:.1%} "
          f"(Hungarian); train {r['train_majority']:.1%}; {r['clusters_used']} clusters used; "
          f"{r['cpu_seconds']:.0f} s CPU")
    print("  test accuracy (majority) by step: " + ", ".join(
        f"{step} {acc:.1%}" + (" (k-means init)" if step == WARM else "")
        for step, acc in r["curve"].items()))
    print(f"  k-means on pixels {r['kmeans_pixels']['majority']:.1%} / "
          f"{r['kmeans_pixels']['hungarian']:.1%}, on VAE codes "
          f"{r['kmeans_vae_codes']['majority']:.1%} / {r['kmeans_vae_codes']['hungarian']:.1%}"
          f" (majority / Hungarian; {r['baseline_cpu_seconds']:.0f} s CPU)")

# %% [markdown]
# ## Samples per cluster, and the confusion matrices
#
# Each row decodes μ_y + ε for one cluster y, rows sorted by the cluster's majority label
# (written on the left). Below: how the test images of each label spread over the clusters.

# %%
def majority_labels(clusters: np.ndarray, labels: np.ndarray) -> np.ndarray:
    counts = confusion(clusters, labels, CLASSES, CLASSES)
    return counts.argmax(axis=1)


fig, axes = plt.subplots(2, len(data), figsize=(6.5 * len(data), 12), squeeze=False)
for j, (name, r) in enumerate(results.items()):
    d = data[name]
    side = d["x"].shape[-1]
    owner = majority_labels(r["test_clusters"], d["yt"])
    order = np.argsort(owner, kind="stable")
    gen = tg.Generator(args.seed + 5, args.device)
    canvas = np.zeros((CLASSES * (side + 1), 10 * (side + 1)))
    for row, c in enumerate(order):
        imgs = r["model"].sample_cluster(int(c), 10, gen)[:, 0]
        for i, img in enumerate(imgs):
            canvas[row * (side + 1):row * (side + 1) + side,
                   i * (side + 1):i * (side + 1) + side] = img
    ax = axes[0, j]
    ax.imshow(canvas, cmap="gray_r")
    ax.set_yticks([row * (side + 1) + side / 2 for row in range(CLASSES)],
                  [f"cluster {c}: {owner[c]}" for c in order])
    ax.set_xticks([])
    ax.set_title(f"{name}: samples μ_y + ε per cluster (test accuracy {r['majority']:.1%})")
    counts = confusion(r["test_clusters"], d["yt"], CLASSES, CLASSES)[order]
    ax = axes[1, j]
    ax.imshow(counts, cmap="Blues")
    for (a, b), v in np.ndenumerate(counts):
        if v:
            ax.text(b, a, str(v), ha="center", va="center", fontsize=7,
                    color="white" if v > counts.max() / 2 else "black")
    ax.set(xlabel="true label", ylabel="cluster (sorted by majority label)",
           title=f"{name}: test images per cluster and label")
    ax.set_xticks(range(CLASSES))
    ax.set_yticks(range(CLASSES), [str(c) for c in order])
fig.tight_layout()
lesson.save_figure(fig, args, "clusters.png")
plt.close(fig)

# %% [markdown]
# ## Accuracy over training
#
# The test accuracy (majority) at a few steps: at step WARM that of the k-means centres the
# class means start from (the one-step training begins there), later the model's own
# clustering argmax p(y | μ(x)). The dashed lines are the k-means baselines, the band is the
# post's range (its full data, 30,000 steps).

# %%
POST = {"MNIST-10k": (0.83, 0.845), "Fashion-MNIST": (0.585, 0.606)}
fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 3.8), squeeze=False)
for ax, (name, r) in zip(axes[0], results.items()):
    steps = sorted(r["curve"])
    ax.plot(steps, [r["curve"][s] for s in steps], "o-", label="clustering VAE")
    ax.annotate("k-means init", (WARM, r["curve"][WARM]), textcoords="offset points",
                xytext=(8, -4), fontsize=8)
    ax.axhline(r["kmeans_pixels"]["majority"], ls="--", color="gray",
               label="k-means on pixels")
    ax.axhline(r["kmeans_vae_codes"]["majority"], ls="--", color="tab:orange",
               label="k-means on plain-VAE codes")
    if name in POST:
        ax.axhspan(*POST[name], color="tab:green", alpha=0.2, label="the post (60k images)")
    ax.set(xlabel="step", ylabel="test accuracy (majority)", title=name)
    ax.legend(fontsize=8)
fig.tight_layout()
lesson.save_figure(fig, args, "accuracy_by_step.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# Our data is smaller than the post's (8,000 MNIST and 55,000 Fashion-MNIST training images
# instead of 60,000 each, 16 × 16 instead of 28 × 28, half the filters, 3/20 of the steps
# and about 1/40 of the compute), so the published accuracies are a reference we do not
# reach on MNIST; the checks compare the model with the k-means baselines measured in this
# run, on both datasets, as the issue asks.
#
# The lesson as it stands (k-means start at step 500, grey images), two full runs at 4,500
# steps (seeds 0 and 1; 436 and 376 CPU seconds in all: the two clustering VAEs 196 + 199
# and 170 + 172, the two baseline jobs 16 + 19 and 13 + 16, this process 4.5 — about 220
# and 190 s on two idle cores): MNIST-10k **73.2 / 72.0%** (majority) and 67.4 / 67.3%
# (Hungarian), vs k-means on pixels 58.1 / 58.0% (54.9 / 54.9%) and on plain-VAE codes
# 66.6 / 67.1% (61.7 / 62.5%); the one-step training lifts its own k-means start from
# 66.8 / 65.9% to 73.2 / 72.0%. Fashion-MNIST **60.1 / 60.2%** (majority) and 54.8 / 55.0%
# (Hungarian) — the post's own level (58.5–60.6%) — vs 55.4 / 55.3% (47.5 / 47.4%) on pixels
# and **61.7 / 58.3% (58.8 / 58.3%) on plain-VAE codes: seed 0 fails both checks against that
# baseline, seed 1 the Hungarian one** (the reasons: see "Why it loses" above). The baselines
# do not depend on the clustering VAE's settings and measure the same in every run of a seed.
# The earlier two full runs at 2,500 steps (seeds 0 and 1; 254 and 256 CPU seconds, one
# process): MNIST-10k 71.6 / 70.7% (majority) and 65.6 / 66.1% (Hungarian), vs k-means on
# pixels 58.1 / 58.0% (54.9 / 54.9%) and on plain-VAE codes 65.5 / 65.7% (60.8 / 61.0%).
# Fashion-MNIST 59.8 / 60.2% (54.7 / 54.6%) vs 55.4 / 55.3% (47.5 / 47.4%) on pixels and
# 60.1 / 57.4% (56.2 / 54.3%) on plain-VAE codes: seed 0 failed the two checks against that
# baseline, seed 1 passed them (the baseline moves by 2.7 points between seeds).
# On Fashion-MNIST the one-step training barely moves the clustering it starts from
# (59.2 → 59.8% and 58.5 → 60.2% at 2,500 steps, 59.2 → 60.1% and 58.5 → 60.2% at 4,500).
# Earlier runs with λ = 7.7 (seed 0): MNIST 70.9 / 66.9%,
# Fashion-MNIST 59.8 / 54.6% (also 59.6 / 54.1% at 1,500 steps and 59.8 / 54.7% at 3,000);
# the λ = 4·2.5 of the noise argument starts the means better (66.8 vs 65.2% on MNIST) but
# ends within a point. Adam at 3·10⁻³ instead of 10⁻³ changed MNIST by under a point
# (1,500 steps: 69.7 vs 69.4%); λ = 15 gave 71.4% at 1,500 steps (one seed, not adopted).
#
# **Why MNIST stays below the post's 83–84.5%: training time.** The λ = 7.7 MNIST-10k
# training continued in a separate run (seed 0, identical to that run up to 2,500 steps) gives
# 68.6% at 1,000 steps, 69.7 at 1,500, 71.1 at 2,000, 70.9 at 2,500, 71.9 at 3,000, 72.4 at
# 3,500 and 72.3% at 4,000: about one point per thousand steps, flattening. The post's run
# (30,000 steps of a network that costs 6.2 times ours per step, on 60,000 images) is about
# 2½ CPU hours per dataset here. Run one after another, the four trainings fit the five-minute
# budget at 2,500 steps each; in two worker processes, at 4,500.

# %%
elapsed = time.perf_counter() - started
metrics = {"datasets": list(data), "lambda": LAMBDA, "latent": LATENT, "filters": FILTERS,
           "steps": STEPS, "warm_steps": WARM, "binary_training": BINARY,
           "kmeans_restarts": KMEANS_RESTARTS,
           "side": int(next(iter(data.values()))["x"].shape[-1]),
           "seconds": round(elapsed, 1)}
for name, r in results.items():
    metrics[name] = {k: r[k] for k in ("majority", "hungarian", "train_majority",
                                        "clusters_used", "kmeans_pixels", "kmeans_vae_codes")}
    metrics[name].update(train_images=len(data[name]["x"]), test_images=len(data[name]["xt"]),
                         lambda_used=block_lambda(int(data[name]["x"].shape[-1])),
                         final_loss=float(np.mean(r["log"]["loss"][-50:])),
                         final_cat=float(np.mean(r["log"]["cat"][-50:])),
                         curve={str(k): v for k, v in r["curve"].items()},
                         cpu_seconds=round(r["cpu_seconds"], 1),
                         baseline_cpu_seconds=round(r["baseline_cpu_seconds"], 1))
# idle two-core estimate: the jobs' CPU seconds handed out in order to whichever of two
# workers is free first, the busier worker's total, plus this process's own CPU time
workers = [0.0] * max(1, min(args.jobs, len(keys)))
for key in keys:
    workers[workers.index(min(workers))] += fitted[key]["cpu_seconds"]
metrics.update(parent_cpu_seconds=round(time.process_time(), 1),
               jobs_cpu_seconds=round(sum(f["cpu_seconds"] for f in fitted.values()), 1),
               two_core_estimate_seconds=round(max(workers) + time.process_time(), 1))
print(f"total {elapsed:.0f} s wall; CPU: jobs {metrics['jobs_cpu_seconds']:.0f} s, this "
      f"process {metrics['parent_cpu_seconds']:.0f} s; idle two-core estimate "
      f"{metrics['two_core_estimate_seconds']:.0f} s")


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """The clustering VAE beats k-means on pixels and on plain-VAE codes (full run, both
    accuracy measures, both datasets); it is far above chance (quick), and its loss stayed
    finite."""
    results = []
    for name in m["datasets"]:
        r = m[name]
        results.append((r["final_loss"] < float("inf"), f"{name}: the loss stayed finite "
                        f"({r['final_loss']:.2f})"))
        if quick:
            results.append((r["majority"] > 0.3, f"{name}: test accuracy {r['majority']:.1%} "
                            "is at least 3× chance"))
            continue
        for base in ("kmeans_pixels", "kmeans_vae_codes"):
            for how in ("majority", "hungarian"):
                results.append((r[how] > r[base][how], f"{name}: {how} accuracy "
                                f"{r[how]:.1%} beats {base} {r[base][how]:.1%}"))
    return results


lesson.finish(metrics, args, checks)
