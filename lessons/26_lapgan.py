# %% [markdown]
# # Lesson 26: LAPGAN — drawing a digit coarse to fine with a pyramid of GANs
#
# The GAN survey post's third way to tame a GAN is to **split the job**: do not make one
# generator draw the whole image at once, let a sequence of generators each add a part.
# LAPGAN (Denton, Chintala, Szlam & Fergus 2015) does it along a **Laplacian pyramid**.
# With d = 2×2 block means and u = nearest-neighbour upsampling, an image I₀ splits into a
# coarse image I_K = d^K(I₀) and residuals
#
#     h_k = I_k − u(I_{k+1}),     and back:  I_k = u(I_{k+1}) + h_k     (exactly),
#
# each residual holding only the detail the coarser level cannot (d(u(x)) = x, so every real
# residual has zero 2×2 block means). LAPGAN trains one GAN per level: an ordinary GAN on
# the coarse images, and for every finer level a **conditional** GAN whose generator gets
# the upsampled coarser image (and noise) and outputs a residual, and whose critic judges
# (residual, coarser image) pairs — the post's "only the residual is passed to the
# discriminator". Each level is trained on its own, conditioned on *real* coarser images;
# sampling chains them: Ĩ_K = G_K(z), Ĩ_k = u(Ĩ_{k+1}) + G_k(u(Ĩ_{k+1}), z_k).
#
# **What we train.** MNIST-5k's 3,500 training digits at their full 28×28 and a pyramid
# 7×7 → 14×14 → 28×28: an MLP GAN on the 7×7 images, a residual GAN at 14×14 (3 conv layers
# of 16 maps) and one at 28×28 (2 conv layers of 8 maps; noise enters as a second input
# channel, as in the paper's CIFAR models); critics are two strided convs and a linear
# layer. Two additions of ours, not the paper's, each a fact every real residual obeys:
# a generated residual is projected onto zero 2×2 block means, h − u(d(h)), so a level adds
# detail and cannot shift the coarser image; and it is multiplied by 1 − |u(Ĩ_{k+1})|
# ("bounded"): the four pixels of a block in [−1, 1] with mean l can differ from l by at
# most 3(1 − |l|), so the real residual is exactly zero on blank background and solid ink
# (l = ±1), where an unbounded generator's small noise would be clipped into a grey haze.
# Against it: a **single-scale DCGAN** of similar size (Linear → 32
# maps of 7×7 → two ConvTranspose 4×4/2 → 28×28; a BatchNorm conv critic), the same loss,
# the same optimiser (Adam 6·10⁻⁴, β₁ = 0.5), batches of 64 and number of rounds per
# network.
#
# **The loss, and why it has a penalty.** Every critic — the three of the pyramid and the
# DCGAN's — minimises the standard non-saturating GAN loss plus the zero-centred gradient
# penalty of the energy view (R1, Mescheder et al. 2018),
#
#     L_D = E softplus(−D(x_real)) + E softplus(D(x_fake)) + (γ/2)·E‖∇ₓD(x_real)‖²,  γ = 10,
#
# (for a residual level x is the residual, the condition held fixed). Without it the small
# MLP GAN on the 7×7 images oscillates, and where the oscillation happens to stop decides
# the whole pyramid: every finer level only adds detail to the coarse image it is given.
# Measured on the coarse level alone (FDD of its 7×7 samples upsampled, every 500 rounds up
# to 3,000; the real 7×7 images score 79.9): without the penalty seeds 0, 1, 2 ended at
# 81.2, 110.4, 94.7 (seed 1 passed 85.9 on the way); with γ = 1 at 85.2, 103.9, 85.6; with
# γ = 10 at 77.9, 92.1, 88.7, and its values after round 1,000 stayed within 78–100. An EMA
# of the generator's weights (α = 0.999) made it worse (124–136: the average of an
# oscillating MLP is blurred), and a small conv coarse GAN (32 maps) had used 120 CPU s, ten
# times the MLP's whole run, before it finished; so the coarse level stays an MLP, now
# penalised. The penalty is part of
# the loss, so the DCGAN's critic gets it too.
#
# **Measuring.** The Fréchet digit distance (FDD) of lesson 21 (`digit_feature_net`, to the
# real training digits): its network reads **14×14** digits, so *every* 28×28 image —
# LAPGAN's, the DCGAN's, the real ones — is averaged down 2×2 before it is scored, the same
# transform for all. This hides most of what the finest level adds (only the block means
# of its residuals survive), so the finest level is judged by its own number too: the
# spread of its residuals next to the real ones'. Beside FDD: an untrained pyramid (the
# ceiling) and, to see that each level *helps*, the 14×14 level's output against its
# input u(Ĩ₇) alone.
#
# **Sizes.** The paper's CIFAR-10 and LSUN models use 3 levels of conv nets with 64–128
# maps per layer and train for hours on a GPU; here each level gets 800 rounds (the
# 7×7 MLP 3,000: it is cheap, a tenth of a 14×14 round each, and every finer level
# inherits its mistakes), under 3 minutes on two cores. `--quick` (for the tests):
# scikit-learn's 8×8 digits with one residual level, 4×4 → 8×8, scored by the 8×8 feature net
# directly, 150 rounds at 2·10⁻³.
#
# **Published numbers.** Denton et al. report Parzen-window log-likelihoods on CIFAR-10
# (LAPGAN −1799 ± 826 vs a standard GAN −3617 ± 353) and a human study in which about 40% of
# their class-conditional CIFAR samples were taken for real images (standard GAN ≈ 10%);
# nothing on MNIST and nothing in our metric.
#
# Exercise: frechet_distance (`tinygen exercise start frechet_distance`).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import lesson
from tinygen.models.image_gans import (digit_feature_net, plot_sample_rows, sample)
from tinygen.models.lapgan import (LapGAN, build_part, downsample, fit_part, laplacian_pyramid,
                                   lesson_images, reconstruct, upsample)
from tinygen.parallel import map_jobs

args = lesson.parse("26_lapgan", "LAPGAN (a Laplacian pyramid of conditional GANs) vs a "
                    "single-scale DCGAN on 28x28 MNIST-5k",
                    flags={"--jobs": {"type": int, "default": 2,
                                      "help": "worker processes for the networks"}})
started = time.perf_counter()

DATA = "digits 8x8" if args.quick else "mnist5k 28x28"
LEVELS = 1 if args.quick else 2                # 8×8: 4×4 → 8×8; 28×28: 7×7 → 14×14 → 28×28
ROUNDS = 150 if args.quick else 800            # per residual level and for the DCGAN
COARSE_ROUNDS = 300 if args.quick else 3000    # the coarse MLP GAN is cheap
TRAIN = {"lr": 2e-3 if args.quick else 6e-4, "batch": 64, "r1": 10.0}
N_EVAL = 500 if args.quick else 1000
NETS = {"z_dim": 32, "critic": (16, 32), "dcgan": (32, 16, 8),
        "levels": [dict(channels=16, layers=3, zero_mean=True, bounded=True, scale=1.5),
                   dict(channels=8, layers=2, zero_mean=True, bounded=True, scale=1.5)][-LEVELS:]}

real, real_test = lesson_images(DATA)
SIDE = real.shape[-1]
pyramid = laplacian_pyramid(real, LEVELS)
sides = [p.shape[-1] for p in pyramid]
print(f"{len(real):,} training images {real.shape[1:]}; pyramid sides {sides}; rebuilt "
      f"exactly: max error {np.abs(reconstruct(pyramid) - real).max():.1e}")

# %% [markdown]
# ## The yardstick
#
# The feature net reads `FD_SIDE`×`FD_SIDE` digits; `at_fd_side` averages any image down to
# that side (2×2 block means, the pyramid's own d), or up (u) when it is coarser.

# %%
net = digit_feature_net("digits" if args.quick else "mnist", device=args.device)
FD_SIDE = net.size


def at_fd_side(images: np.ndarray) -> np.ndarray:
    while images.shape[-1] > FD_SIDE:
        images = downsample(images)
    while images.shape[-1] < FD_SIDE:
        images = upsample(images)
    return images


real_fd = at_fd_side(real)


def fdd(images: np.ndarray) -> float:
    return net.frechet(at_fd_side(images), real_fd)


reference = fdd(real_test[:N_EVAL])
print(f"feature net side {FD_SIDE}; real test digits FDD {reference:.2f}")

# %% [markdown]
# ## The networks, untrained
#
# Every part — the coarse GAN, each residual level, the DCGAN — is built by `build_part`
# from its own seed (the lesson's seed + its level: 0 for the coarse GAN and the DCGAN); the
# untrained pyramid built here is the ceiling, and the workers below build the very same
# networks before they train them.

# %%
PARTS = ["coarse"] + [f"level {k}" for k in range(1, LEVELS + 1)] + ["DCGAN"]
SEEDS = {part: args.seed + (0 if part in ("coarse", "DCGAN") else int(part.split()[-1]))
         for part in PARTS}
networks = {}
for part in PARTS:
    tg.manual_seed(SEEDS[part])
    networks[part] = build_part(part, NETS, sides)[0].to(args.device)
lapgan = LapGAN(networks["coarse"], [networks[f"level {k}"] for k in range(1, LEVELS + 1)])
untrained_samples = lapgan.sample(N_EVAL, np.random.default_rng(args.seed + 1), args.device)
untrained = fdd(untrained_samples)
dcgan_params = sum(int(np.prod(p.shape)) for p in networks["DCGAN"].parameters())
print(f"generator parameters: LAPGAN {lapgan.parameter_count():,}, DCGAN {dcgan_params:,}; "
      f"untrained pyramid FDD {untrained:.1f}")

# %% [markdown]
# ## Training every part on its own
#
# The coarse GAN learns the real 7×7 images; level k learns the real residuals h_k given
# the real u(I_{k+1}); nothing is backpropagated across levels, so — as in the paper — the
# levels are independent jobs, and so is the DCGAN. `fit_part` (load the digits, build the
# part from its seed, train it; plain values in, the trained weights out) is one job, and
# `tinygen.parallel.map_jobs` runs them in two worker processes, the longest first
# (`--jobs 1`: one after another in this process, with the same numbers). Every critic, the
# DCGAN's included, gets the same loss: the non-saturating GAN loss plus the zero-centred
# gradient penalty (γ/2)·E‖∇ₓD(x_real)‖² (R1).

# %%
# the finest level and the DCGAN cost most: they go first, the cheap coarse GAN last
order = [f"level {LEVELS}", "DCGAN", *(f"level {k}" for k in range(LEVELS - 1, 0, -1)), "coarse"]
jobs = [{"part": part, "data": DATA, "nets": NETS, "seed": SEEDS[part],
         "train": {**TRAIN, "rounds": COARSE_ROUNDS if part == "coarse" else ROUNDS},
         "log_every": 0 if args.quick else ROUNDS // 4} for part in order]
fitted = dict(zip(order, map_jobs(fit_part, jobs, args.jobs)))
for part in PARTS:
    networks[part].load_state_dict(fitted[part]["state"])
cpu = {part: fitted[part]["cpu_seconds"] for part in PARTS}
print("CPU seconds per job: " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()))
z_eval = np.random.default_rng(args.seed + 2).standard_normal((N_EVAL, NETS["z_dim"]))
dcgan_samples = sample(networks["DCGAN"], z_eval.astype(np.float32), args.device)

# %% [markdown]
# ## Scores
#
# The same seed draws the trained pyramid's samples; `upto` stops the chain after that many
# residual levels, so we can score each stage: the 7×7 coarse images (upsampled), the
# 14×14 images, the full 28×28 ones.

# %%
stages = {k: lapgan.sample(N_EVAL, np.random.default_rng(args.seed + 1), args.device, upto=k)
          for k in range(LEVELS + 1)}
lap_samples = stages[LEVELS]
stage_fdd = {str(k): fdd(s) for k, s in stages.items()}
# the finest stage the feature net resolves, and the one before it
fd_level = max(k for k, s in stages.items() if s.shape[-1] <= FD_SIDE)
generated = lapgan.sample_pyramid(N_EVAL, np.random.default_rng(args.seed + 1), args.device)
results = {"LAPGAN": fdd(lap_samples), "DCGAN": fdd(dcgan_samples)}
finest = {"real": float(pyramid[-1].std()), "LAPGAN": float(generated[-1].std()),
          "block_mean_abs": float(np.abs(downsample(generated[-1])).mean())}
print(f"FDD: real test {reference:.2f}, untrained pyramid {untrained:.1f}, LAPGAN "
      f"{results['LAPGAN']:.2f}, DCGAN {results['DCGAN']:.2f}")
print("LAPGAN by stage: " + ", ".join(f"{stages[k].shape[-1]}×{stages[k].shape[-1]} "
                                      f"{stage_fdd[str(k)]:.2f}" for k in stages))
print(f"finest residuals' std: real {finest['real']:.3f}, generated {finest['LAPGAN']:.3f} "
      f"(mean |2×2 block mean| {finest['block_mean_abs']:.3f}; real: 0)")

# %% [markdown]
# ## One sample's pyramid
#
# Top: a real digit taken apart (coarse image, residual, sum, residual, sum); bottom: a
# generated digit put together the same way. Residuals are shown on their own scale
# (red positive, blue negative).

# %%
real_levels = [p[0, 0] for p in pyramid]
fake_levels = [p[0, 0] for p in generated]


def columns(levels):
    image, cols = levels[0], [("coarse", levels[0], "gray_r")]
    for k, residual in enumerate(levels[1:], start=1):
        image = upsample(image[None, None])[0, 0] + residual
        cols += [(f"residual {k}", residual, "RdBu_r"),
                 (f"{image.shape[0]}×{image.shape[0]}", image, "gray_r")]
    return cols


fig, axes = plt.subplots(2, 2 * LEVELS + 1, figsize=(2.2 * (2 * LEVELS + 1), 4.8))
for row, (label, levels) in enumerate((("real", real_levels), ("LAPGAN", fake_levels))):
    for ax, (title, img, cmap) in zip(axes[row], columns(levels)):
        scale = np.abs(img).max() + 1e-6 if cmap == "RdBu_r" else 1.0
        ax.imshow(img, cmap=cmap, vmin=-scale, vmax=scale, interpolation="nearest")
        ax.set(xticks=[], yticks=[], title=f"{label}: {title}" if title == "coarse" else title)
fig.suptitle("The Laplacian pyramid: I_k = u(I_{k+1}) + h_k, coarse to fine")
fig.tight_layout()
lesson.save_figure(fig, args, "pyramid.png")
plt.close(fig)

# %% [markdown]
# ## Samples side by side

# %%
def to_side(images: np.ndarray) -> np.ndarray:
    while images.shape[-1] < SIDE:
        images = upsample(images)
    return images


rows = ([untrained_samples[:16]] + [to_side(stages[k][:16]) for k in range(LEVELS)]
        + [lap_samples[:16], dcgan_samples[:16], real_test[:16]])
labels = (["untrained pyramid", "LAPGAN coarse"] + [f"LAPGAN level {k}" for k in range(1, LEVELS)]
          + ["LAPGAN", "DCGAN", "real"])
fig = plot_sample_rows(rows, labels, f"FDD (at {FD_SIDE}×{FD_SIDE}): LAPGAN "
                       f"{results['LAPGAN']:.2f}, DCGAN {results['DCGAN']:.2f}, real "
                       f"{reference:.2f}, untrained {untrained:.0f}")
lesson.save_figure(fig, args, "samples.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# Three full runs, seeds 0, 1, 2 (FDD, lower is better; real test digits 1.07):
#
#     seed   LAPGAN   DCGAN    LAPGAN by stage: 7×7 (upsampled) → 14×14 → 28×28   untrained
#       0     24.0     34.3                     80.4 → 23.6 → 24.0                  226
#       1     25.7     31.4                     89.5 → 25.0 → 25.7                  258
#       2     25.4     34.3                     88.9 → 24.8 → 25.4                  340
#
# **The pyramid beats the DCGAN on every seed**, by 5.7 to 10.3, and its own spread is
# small (24.0–25.7); the finest residuals' std 0.21–0.22 (real 0.26), mean |2×2 block
# mean| 0.004. Budget, the same for both: every network 800 rounds of one critic and one
# generator step on batches of 64 (the 7×7 MLP 3,000, cheap: 14 CPU s in all), the same
# penalised loss and Adam; generator parameters 33,083 (LAPGAN, 27,057 of them the coarse
# MLP) vs 62,193 (DCGAN). CPU seconds per job (seed 0; the other seeds within 2 s): coarse
# 14, 14×14 60, 28×28 93 — the pyramid 167 — vs the DCGAN's 110. Time: the whole run
# 284 CPU s by `/usr/bin/time` (user + sys, at load 13–30 on 2 cores, niced); the jobs in
# two workers come to 93 + 60 = 153 s on one (28×28 then 14×14) and 110 + 14 = 124 s on the
# other, plus ~7 s in the main process, so on two idle cores about 160 s, under 3 minutes
# (an upper estimate: CPU seconds on a loaded machine exceed idle ones).
#
# What the penalty changed, and what it did not. Before it (the same networks and rounds,
# no penalty anywhere, one process) seed 0 gave LAPGAN 29.7 vs DCGAN 30.3 and seed 1
# **51.7 vs 26.6**: the coarse 7×7 GAN ended at 82.0 and 112.3, and seed 1's pyramid
# inherited the bad coarse images (stages 112.3 → 50.4 → 51.7). With the penalty the coarse
# stage is 80.4–89.5 (the real 7×7 images: 79.9) and the 14×14 level turns it into 23.6–25.0
# on every seed. **The penalty is not free for the DCGAN**, and this qualifies the win:
# without it (`r1` = 0 for its critic only; seeds 1 and 2 rerun with this code, which
# reproduces the earlier 26.6 to the digit; seed 0 from the earlier run) the DCGAN scores
# 30.3, 26.6 and **22.0** on seeds 0, 1, 2, against the penalised 34.3, 31.4, 34.3 — so on
# seed 2 the unpenalised DCGAN is better than the pyramid above (25.4). The pyramid's finer
# levels pay for the penalty too: with it on the coarse critic only (γ = 10; the 14×14 and
# 28×28 critics unpenalised; scratch runs of the same `fit_part` jobs) the pyramid scores
# 24.1, 23.2 and 21.8 on seeds 0, 1, 2 (stages 80.4 → 23.5 → 24.1, 89.5 → 22.4 → 23.2,
# 88.9 → 21.1 → 21.8). Against the unpenalised DCGAN (30.3, 26.6, 22.0) that pairing — each
# model with the penalty that suits it — also favours the pyramid on every seed, but on seed 2
# only by 0.2, within seed noise. The check keeps the comparison this lesson can defend by
# construction, the same loss for every critic, which the pyramid wins on all three seeds by
# 5.7 to 10.3.
#
# How we got here, before the penalty: the first version lost, 74.1 against 35.0 (stages
# 106.6, 62.4, 74.1). Measured piece by piece, the 14×14 level was not the problem: fed the
# *real* 7×7 images it reached FDD 21.2, fed the 7×7 GAN's samples after 1,500 rounds 61.6,
# after 3,000 rounds 37.4 (the coarse GAN 106.6 → 82.0). So the coarse GAN got 3,000 rounds
# (6,000 gave no better, 85.1; a 256-unit MLP worse, 97.1). The finest level used to *cost*
# 62.4 → 74.1: 81% of the real pixels are exactly −1, where its small zero-mean noise was
# clipped into a grey haze (mean |block mean| 0.012); bounding the residual by 1 − |u(Ĩ)|
# removed that (29.2 → 29.7, 0.004), and the bounded 14×14 level did better too (37.4 →
# 29.2 on the same 3,000-round coarse samples, one run each). Without the zero-mean
# projection (the paper's plain residual) the first version gave 103.8.

# %%
elapsed = time.perf_counter() - started
metrics = {"data": "digits 8x8" if args.quick else "mnist5k 28x28", "rounds": ROUNDS,
           "coarse_rounds": COARSE_ROUNDS, "lr": TRAIN["lr"], "r1": TRAIN["r1"],
           "batch": TRAIN["batch"], "jobs": args.jobs, "samples": N_EVAL, "fd_side": FD_SIDE,
           "sides": sides, "fdd": {"real_test": reference, "untrained_pyramid": untrained,
                                   **results},
           "stage_fdd": stage_fdd, "fd_level": fd_level, "finest_residual": finest,
           "parameters": {"LAPGAN": lapgan.parameter_count(), "DCGAN": dcgan_params},
           "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
           "max_abs_loss": float(max(np.abs(fitted[part][key]).max() for part in PARTS
                                     for key in ("d_loss", "g_loss"))),
           "seconds": round(elapsed, 1)}
print(f"total {elapsed:.0f} s")


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """LAPGAN learns digits (its FDD is far below the untrained pyramid's), the level the
    feature net resolves improves on its own input (FDD of its output below that of the
    upsampled coarser stage), and — in the full run — the pyramid beats the single-scale
    DCGAN trained with the same loss, optimiser and rounds."""
    f, stage, k = m["fdd"], m["stage_fdd"], m["fd_level"]
    results = [
        (f["LAPGAN"] < 0.5 * f["untrained_pyramid"], f"LAPGAN's FDD {f['LAPGAN']:.2f} is below "
         f"half the untrained pyramid's {f['untrained_pyramid']:.1f}"),
        (stage[str(k)] < stage[str(k - 1)], f"level {k} improves on its input: FDD "
         f"{stage[str(k)]:.2f} vs the upsampled stage below {stage[str(k - 1)]:.2f}"),
        (m["max_abs_loss"] < float("inf"), f"the losses stayed finite (max |loss| "
         f"{m['max_abs_loss']:.2f})")]
    if not quick:
        results.append((f["LAPGAN"] < f["DCGAN"], f"LAPGAN's FDD {f['LAPGAN']:.2f} beats the "
                        f"single-scale DCGAN's {f['DCGAN']:.2f}"))
    return results


lesson.finish(metrics, args, checks)
