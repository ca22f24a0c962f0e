# %% [markdown]
# # Lesson 16: Glow — exact likelihoods from invertible 1 × 1 convolutions
#
# A normalising flow maps an image x to a code z = f(x) by an invertible f with a cheap
# Jacobian determinant; the change of variables gives the exact density
#
#     log p(x) = log N(z; 0, I) + log|det ∂f/∂x|,    loss  ½‖z‖² + (D/2)·log 2π − Σ log-dets,
#
# and sampling is x = f⁻¹(z). Glow (Kingma & Dhariwal 2018; the flow posts) builds f from
# steps of three layers, each with a log-det that costs almost nothing:
#
#     ActNorm        y = (x + b)·eˢ per channel, b and s set from the first batch   H·W·Σ s
#     1 × 1 conv     y = W x at every pixel, W = P L (U + diag(sign·e^{log s}))     H·W·Σ log s
#     coupling       y_b = (x_b + t(x_a))·σ(h(x_a) + 2),  y_a = x_a                 Σ log σ(·)
#
# The 1 × 1 convolution is Glow's contribution: a *learned* channel mixing where RealNVP used
# fixed permutations (reverse the channel order, or shuffle them once). Between levels a
# squeeze turns 2 × 2 blocks into channels and a split factors half the channels out with
# a learned conditional prior N(μ(h), σ(h)²) (multi-scale). The coupling's last conv starts
# at zero, so every step starts close to the identity.
#
# **Bits per dimension.** Pixels are integers y ∈ {0, …, 255}; the flow models a density, so
# we dequantise, x = (y + u)/256 with u ~ U[0, 1)ᴰ, and report
#
#     bits/dim = −(log p(x) − D·log 256) / (D·log 2),
#
# an upper bound on the discrete model's −log₂ P(y)/D (the uniform density on [0, 1)ᴰ gives
# exactly 8; `tinygen.models.flows.glow.bits_per_dim`, tested on it). All 256 grey levels
# are kept (8 bits, no bit-depth reduction) for every model and baseline.
#
# **The logit pre-transform.** Every model here (Glow and all its ablations) first maps the
# dequantised pixels to the real line by RealNVP's l = logit(α + (1 − 2α)x), α = 10⁻⁶ (the
# setting MAF used for MNIST; `G.Logit`), and adds its log-det Σ[log(1 − 2α) − log p −
# log(1 − p)], p = α + (1 − 2α)x, to log p(x), so the bits/dim above are still those of a
# density on [0, 1)ᴰ (a slightly sub-normalised one: a little mass falls outside, which
# can only cost bits). Why it matters here: 74% of the 14 × 14 digit pixels are exactly 0.
# A flow on x − ½ must squeeze that whole bin [0, 1/256) into a high density, and Glow's
# couplings can only contract (σ(·) ≤ 1), so it learns this slowly; the logit map stretches
# the bin to an interval ~8 wide near l ≈ −10 and supplies the expansion itself (log-det
# ≈ 6 nats per black pixel). Measured at the same budget (600 steps of 64, seed 0), Glow on
# x − ½ scored 3.649 bits/dim on the digits, worse than the per-pixel categorical model's
# 2.491; with the logit map, 2.409.
#
# **What we train.** Glow on 14 × 14 digits (MNIST-10k: 8,000 training and 1,000 test
# images; we found no package on the registries we can reach that ships the full 60,000) and
# 14 × 14 Fashion-MNIST (55,000 training images, the 10,000 test images): squeeze to
# 4 × 7 × 7, K flow steps, split, K steps on 2 × 7 × 7 (7 is odd, so the second level does
# not squeeze). Baselines in the same run: the independent per-pixel categorical model (fit
# on the training counts with add-½ smoothing, scored exactly on the test images, no
# dequantisation needed; smoothing constants 0.01 … 1 all give 2.489–2.499 on the digits),
# and the Glow paper's ablation on digits — additive vs affine coupling × reverse vs shuffle
# vs 1 × 1 conv — where "reverse" with affine coupling is the RealNVP-style model. Then
# samples at temperatures 0.5 / 0.7 / 1.0, and an interpolation between two encoded test
# images.
#
# **Sizes.** Published (28 × 28, full MNIST, multi-GPU): RealNVP 1.06 and Glow 1.05 bits/dim,
# with 3 levels of 32 steps and 512-channel coupling nets (millions of parameters, many
# epochs). Here: images 4× smaller (2 × 2 averages: 196 instead of 784 dimensions), 8,000
# instead of 60,000 training digits, 2 levels of K = 4 steps with 32-channel nets (~19,000
# parameters), 600 Adam steps of 64 images per model (4.8 epochs of the digits, 0.7 of
# Fashion-MNIST; on this engine a batch of 64 costs about as much as one of 16). Our numbers
# are therefore far from converged and not comparable with the published ones. `--quick`
# (tests): scikit-learn's 8 × 8 digits (17 grey levels), K = 2, 16 channels, 300 steps at
# learning rate 10⁻², only Glow and the RealNVP-style model, no Fashion-MNIST.
#
# Exercise: affine_coupling (`tinygen exercise start affine_coupling`, then
# `tinygen exercise check affine_coupling`).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import lesson
from tinygen.models.flows import glow as G
from tinygen.parallel import map_jobs

args = lesson.parse("16_glow", "Glow vs RealNVP-style permutations and a per-pixel model, "
                    "in bits/dim on 14x14 digits and Fashion-MNIST",
                    flags={"--jobs": {"type": int, "default": 2,
                                      "help": "worker processes for the models (1: one after "
                                              "another, in this process)"}})
started = time.perf_counter()

STEPS_PER_LEVEL, HIDDEN = (2, 16) if args.quick else (4, 32)
TRAIN_STEPS = 300 if args.quick else 600  # Adam steps per model
BATCH, LR = 64, (1e-2 if args.quick else 5e-3)
WARMUP = 10 if args.quick else 50  # steps of linear learning-rate warm-up
LOGIT = 1e-6  # the logit pre-transform's α (RealNVP; MAF's MNIST setting), for every model
#: every model's architecture (each variant adds its coupling and channel mixing) and training
MODEL = {"squeeze": (True, False), "steps": STEPS_PER_LEVEL, "hidden": HIDDEN, "logit": LOGIT}
TRAIN = {"steps": TRAIN_STEPS, "batch": BATCH, "lr": LR, "warmup": WARMUP}
TEMPERATURES = (0.5, 0.7, 1.0)
GLOW = "affine, 1×1 conv"
RNVP = "affine, reverse"
#: the Glow paper's ablation (Fig. 3): coupling × channel mixing
VARIANTS = {f"{c}, {p}": (c == "affine", perm)
            for c in ("additive", "affine")
            for p, perm in (("reverse", "reverse"), ("shuffle", "shuffle"), ("1×1 conv", "lu"))}

#: dataset → (`glow.image_data` name, the variants trained on it); the quick run trains
#: only the two models its checks compare, long enough for them to mean something
DATASETS = ({"digits 8×8": ("digits 8x8", [GLOW, RNVP])} if args.quick else
            {"MNIST 14×14": ("mnist 14x14", list(VARIANTS)),
             "Fashion-MNIST 14×14": ("fashion 14x14", [GLOW, RNVP])})

# %% [markdown]
# ## Training: one Glow per variant, the same data, batches and initial generator seed
#
# Every variant is trained with the same settings (the same logit pre-transform, Adam with
# the learning rate warmed up over 50 steps then half a cosine down, fresh dequantisation
# noise every step, ActNorm initialised on 256 training images) and scored on the whole
# test set with one dequantisation draw per image. Differences
# between variants are measured *paired* over the test images (the same images, the same
# noise), so their standard errors are small; they do not include the spread over training
# seeds.
#
# The models do not depend on each other, so each is one job of `G.fit_glow` (load the data,
# build the model from its seed, train, score; plain values in, arrays out), and
# `tinygen.parallel.map_jobs` runs the jobs in two worker processes, two at a time on two
# cores (`--jobs`; `--jobs 1` runs them one after another in this process, with the same
# numbers to the last digit). Every model gets the same budget either way: the same steps, the
# same batches.

# %%
# the Fashion-MNIST jobs first (they score 10,000 test images): a free worker takes the next
keys = [(dataset, name) for dataset in reversed(DATASETS) for name in DATASETS[dataset][1]]
jobs = [{"data": DATASETS[dataset][0], "seed": args.seed, "untrained": name == GLOW,
         "model": {**MODEL, "affine": VARIANTS[name][0], "permutation": VARIANTS[name][1]},
         "train": TRAIN} for dataset, name in keys]
fitted = dict(zip(keys, map_jobs(G.fit_glow, jobs, args.jobs)))

results = {}
for dataset, (data_name, names) in DATASETS.items():
    train, test, levels = G.image_data(data_name)
    side = train.shape[-1]
    base = G.per_pixel_categorical_bits(train, test, levels)
    runs = {}
    for name in names:
        runs[name] = run = fitted[dataset, name]
        if name == GLOW:  # its trained weights came back as arrays: rebuild it for samples
            affine, perm = VARIANTS[name]
            run["model"] = G.Glow((1, side, side), **MODEL, affine=affine, permutation=perm,
                                  generator=tg.Generator(args.seed))
            run["model"].load_state_dict(run["state"])
        print(f"{dataset:<20} {name:<20} test {run['bits'].mean():.3f} ± "
              f"{run['bits'].std() / np.sqrt(len(run['bits'])):.3f} bits/dim   "
              f"({run['params']:,} parameters, {run['cpu_seconds']:.1f} s CPU)")
    print(f"{dataset:<20} {'per-pixel categorical':<20} test {base.mean():.3f} bits/dim")
    results[dataset] = {"runs": runs, "categorical": base, "test": test, "levels": levels,
                        "side": side}

def paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean of a − b over the same test images, and its standard error."""
    d = a - b
    return float(d.mean()), float(d.std() / np.sqrt(len(d)))


for dataset, r in results.items():
    glow = r["runs"][GLOW]["bits"]
    for other in r["runs"]:
        if other != GLOW:
            diff, se = paired(glow, r["runs"][other]["bits"])
            print(f"{dataset}: Glow − ({other}) = {diff:+.4f} ± {se:.4f} bits/dim (paired)")

# %% [markdown]
# ## Figures
#
# 1. Training curves: training bits/dim per step (smoothed) for every variant.
# 2. Samples of the 1 × 1-conv Glow at temperatures 0.5, 0.7 and 1.0 (ε ~ N(0, T²I) at every
#    level): lower temperatures give cleaner, less varied images.
# 3. Interpolation: two test images encoded (pixel centres, no noise) to their codes at both
#    levels, the codes mixed linearly, x = f⁻¹((1 − α)z₁ + αz₂).

# %%
fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4), squeeze=False)
for ax, (dataset, r) in zip(axes[0], results.items()):
    for name, run in r["runs"].items():
        curve = np.convolve(run["losses"], np.ones(20) / 20, mode="valid")
        ax.plot(curve, label=f"{name}: test {run['bits'].mean():.3f}",
                lw=2 if name == GLOW else 1)
    ax.axhline(r["categorical"].mean(), color="k", ls="--",
               label=f"per-pixel categorical {r['categorical'].mean():.3f}")
    ax.set(title=f"{dataset}: training bits/dim (mean of 20 steps)", xlabel="Adam step",
           ylabel="bits/dim")
    ax.legend(fontsize=7)
fig.tight_layout()
lesson.save_figure(fig, args, "training_curves.png")
plt.close(fig)

def shown(x: np.ndarray) -> np.ndarray:
    """Pixels for imshow: a sample whose inverse overflowed (a coupling scale σ(·) near 0
    divides by almost nothing) is drawn black where it is not finite."""
    return np.clip(np.nan_to_num(x, nan=1.0, posinf=1.0, neginf=0.0), 0, 1)


N_SAMPLES = 10
nonfinite = {}
fig, axes = plt.subplots(len(results) * len(TEMPERATURES), N_SAMPLES,
                         figsize=(N_SAMPLES, 1.1 * len(results) * len(TEMPERATURES)))
axes = np.atleast_2d(axes)
row = 0
for dataset, r in results.items():
    model = r["runs"][GLOW]["model"]
    for t in TEMPERATURES:
        x = model.sample(N_SAMPLES, t, generator=tg.Generator(args.seed + 3)).numpy()
        nonfinite[f"{dataset}, T={t}"] = int((~np.isfinite(x)).any(axis=(1, 2, 3)).sum())
        for i in range(N_SAMPLES):
            axes[row, i].imshow(shown(x[i, 0]), cmap="gray_r", vmin=0, vmax=1)
            axes[row, i].set(xticks=[], yticks=[])
        axes[row, 0].set_ylabel(f"{dataset.split()[0]}\nT={t}", fontsize=7)
        row += 1
fig.suptitle("Glow samples at temperatures 0.5 / 0.7 / 1.0 (all black: the inverse "
             "overflowed)", fontsize=9)
print("samples whose inverse overflowed (of 10):", nonfinite)
lesson.save_figure(fig, args, "samples.png")
plt.close(fig)

STEPS_INTERP = 9
fig, axes = plt.subplots(len(results), STEPS_INTERP, figsize=(STEPS_INTERP, 1.2 * len(results)))
axes = np.atleast_2d(axes)
interp_roundtrip = 0.0
for row, (dataset, r) in enumerate(results.items()):
    model = r["runs"][GLOW]["model"].eval()
    pair = (r["test"][:2] + 0.5) / r["levels"]
    with tg.no_grad():
        zs, _ = model(tg.tensor(pair.astype(np.float32)))
        back = model.inverse(zs).numpy()
        interp_roundtrip = max(interp_roundtrip, float(np.abs(back - pair).max()))
        for i, a in enumerate(np.linspace(0, 1, STEPS_INTERP)):
            mixed = [(1 - a) * z[:1] + a * z[1:] for z in zs]
            x = model.inverse(mixed).numpy()
            axes[row, i].imshow(shown(x[0, 0]), cmap="gray_r", vmin=0, vmax=1)
            axes[row, i].set(xticks=[], yticks=[])
    axes[row, 0].set_ylabel(dataset.split()[0], fontsize=7)
fig.suptitle("interpolating between the codes of two test images", fontsize=9)
lesson.save_figure(fig, args, "interpolation.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# Test bits/dim (lower is better) ± standard error over the test images, and the paired
# difference from the Glow (affine coupling, LU 1 × 1 conv) on the same images. A full run
# (seed 0; every model behind the same logit pre-transform, all 256 grey levels, ~16,000 to
# 19,000 parameters, 600 Adam steps of 64 images). Time: the eight models ran as jobs in two
# worker processes, 461 s of CPU in all by `/usr/bin/time` (user + sys, at load 21–24 on 2
# cores): 52–65 s per job (data, training and scoring, as each worker measured it) and 8 s
# for the rest (imports, the workers' start, the figures). Handed out in order to whichever
# worker was free, the jobs come to 230 s on one worker and 222 s on the other, so on two
# idle cores the run takes about 230 + 8 ≈ 240 s, under 4 minutes; an upper estimate, as
# CPU seconds on a loaded machine exceed idle ones (single models rerun at load ~5 took
# 46–49 s). One after another on one core it would take about 7½ minutes. Every number
# below is the same, to the last digit shown, as in the earlier run that trained the models
# one after another in one process:
#
#     MNIST 14×14 (1,000 test images)    bits/dim          Glow − this (paired)
#     per-pixel categorical              2.491             −0.083 ± 0.005
#     additive, reverse                  2.592 ± 0.014     −0.183 ± 0.002
#     additive, shuffle                  2.601 ± 0.014     −0.192 ± 0.002
#     additive, 1×1 conv                 2.536 ± 0.014     −0.127 ± 0.002
#     affine, reverse (RealNVP-style)    2.509 ± 0.014     −0.100 ± 0.002
#     affine, shuffle                    2.550 ± 0.014     −0.141 ± 0.002
#     affine, 1×1 conv (Glow)            2.409 ± 0.015
#     Glow untrained (ActNorm init)      3.630
#
#     Fashion-MNIST 14×14 (10,000 test)  bits/dim          Glow − this (paired)
#     per-pixel categorical              5.149             −0.910 ± 0.004
#     affine, reverse (RealNVP-style)    4.336 ± 0.009     −0.097 ± 0.001
#     affine, 1×1 conv (Glow)            4.239 ± 0.009
#     Glow untrained (ActNorm init)      5.758
#
# What this shows, and what it does not:
#
# * **Glow beats the independent per-pixel categorical model** on both datasets, by 0.083 ±
#   0.005 bits/dim on the digits and 0.910 ± 0.004 on Fashion-MNIST (paired over the test
#   images; checked, with 3 standard errors to spare). The earlier version of this lesson (flows
#   on x − ½, 700 steps of 16 images) did not: 3.586 and 5.457 bits/dim against the same 2.491
#   and 5.149. What changed the outcome is the logit pre-transform: at this lesson's settings
#   but on x − ½, Glow scored 3.649 on the digits (seed 0); the batch of 64 alone did not help.
#   On the digits the margin is modest and only Glow has it: the RealNVP-style model (2.509) and
#   every other variant stay at or above the categorical model, which is strong when 74% of the
#   pixels are black. The training curves are still falling at the end.
# * **The ablation** reads as in the Glow paper: the learned 1 × 1 convolution beats the fixed
#   reversal, with affine coupling by 0.100 ± 0.002 bits/dim on the digits and 0.097 ± 0.001 on
#   Fashion-MNIST (checked on both), and with additive coupling by 0.056 on the digits; a random
#   shuffle is no better than the reversal; affine beats additive coupling (by 0.13 with the 1 ×
#   1 conv). These gaps are paired standard errors over test images, not over training seeds (in
#   the earlier, x − ½ configuration the digits' reverse gap was −0.026 ± 0.024 over three
#   seeds; the gap here is four times that spread). Rerunning the digits' Glow and RealNVP-style
#   model with seeds 1 and 2 (outside the lesson, same settings) gave Glow 2.434 and 2.427,
#   reverse 2.533 and 2.486, against the categorical 2.491: over seeds 0, 1, 2, Glow −
#   categorical = −0.083, −0.057, −0.064 and Glow − reverse = −0.100, −0.099, −0.059; both signs
#   held on every seed.
# * Samples: at T = 0.5 / 0.7 the digits are faint, broken strokes (a few readable) and the
#   clothes rough shapes; at T = 1 they are blotchy, and 2 of the 10 clothes overflow inside
#   the flow (a coupling divides by its scale σ(·); drawn black), none of the digits (the
#   earlier x − ½ models overflowed for 8 of 10 digits and 6 of 10 clothes at T = 1: the
#   logit map's sigmoid brings any finite latent back into the pixel range). Interpolations
#   between encoded test images pass through blurry in-between shapes; encoding and decoding
#   returns the images to 5e−8.

# %%
metrics = {"datasets": {}, "interpolation_roundtrip": interp_roundtrip,
           "nonfinite_samples_of_10": nonfinite,
           "published_28x28_full_mnist": {"RealNVP": 1.06, "Glow": 1.05},
           "settings": {"steps_per_level": STEPS_PER_LEVEL, "hidden": HIDDEN,
                        "train_steps": TRAIN_STEPS, "batch": BATCH, "lr": LR,
                        "levels": 2, "logit_alpha": LOGIT, "jobs": args.jobs}}
for dataset, r in results.items():
    glow = r["runs"][GLOW]["bits"]
    record = {"side": r["side"], "levels": r["levels"], "test_images": len(glow),
              "categorical": float(r["categorical"].mean()),
              "categorical_diff": paired(glow, r["categorical"]),
              "untrained": float(r["runs"][GLOW]["untrained"].mean()),
              "untrained_diff": paired(glow, r["runs"][GLOW]["untrained"]),
              "variants": {}}
    for name, run in r["runs"].items():
        record["variants"][name] = {
            "bits_per_dim": float(run["bits"].mean()),
            "se": float(run["bits"].std() / np.sqrt(len(run["bits"]))),
            "diff_from_glow": paired(glow, run["bits"]) if name != GLOW else [0.0, 0.0],
            "params": int(run["params"]), "cpu_seconds": round(run["cpu_seconds"], 1),
            "final_train": float(np.mean(run["losses"][-20:]))}
    metrics["datasets"][dataset] = record
metrics["seconds"] = round(time.perf_counter() - started, 1)


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """(passed, message) for each check on the metrics of one run."""
    out = []
    for name, d in m["datasets"].items():
        v = d["variants"]
        glow = v["affine, 1×1 conv"]
        diff, se = d["untrained_diff"]
        out.append((diff + 3 * se < 0,
                    f"{name}: Glow {glow['bits_per_dim']:.3f} bits/dim below the same Glow "
                    f"untrained {d['untrained']:.3f} (by more than 3 s.e.)"))
        diff, se = d["categorical_diff"]
        out.append((diff + 3 * se < 0,
                    f"{name}: Glow {glow['bits_per_dim']:.3f} bits/dim below the independent "
                    f"per-pixel categorical model {d['categorical']:.3f} (paired difference "
                    f"{diff:+.4f} ± {se:.4f}, by more than 3 s.e.)"))
        diff, se = v["affine, reverse"]["diff_from_glow"]
        out.append((diff < 0,
                    f"{name}: Glow {glow['bits_per_dim']:.3f} bits/dim below the RealNVP-style "
                    f"fixed permutation (affine, reverse) "
                    f"{v['affine, reverse']['bits_per_dim']:.3f} (paired difference "
                    f"{diff:+.4f} ± {se:.4f})"))
    out.append((m["interpolation_roundtrip"] < 1e-3,
                f"encoding then decoding test images returns them "
                f"(max error {m['interpolation_roundtrip']:.1e})"))
    return out


print(f"{time.perf_counter() - started:.1f} s")
lesson.finish(metrics, args, checks)
