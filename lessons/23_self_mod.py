# %% [markdown]
# # Lesson 23: self-modulated BatchNorm — letting z reach every layer of the generator
#
# In a DCGAN generator the noise z enters once, at the first Linear layer; every later
# layer sees only what that layer made of it. **Self-modulation** (Chen, Lucic, Houlsby &
# Gelly 2019; the "DCGAN → SELF-MOD" post) gives z a direct line into every layer through
# the BatchNorms: instead of learned constants γ, β, each BatchNorm scales and shifts by
# functions of z,
#
#     y = BN(x)·(1 + γ_ℓ(z)) + β_ℓ(z),      γ_ℓ, β_ℓ: z → Linear(32) → ReLU → Linear(C_ℓ).
#
# It is the conditional BatchNorm of class-conditional GANs with the label replaced by z
# itself: no labels needed. The paper reports a median FID improvement of about 5% over
# many architectures, losses and datasets (and worse results in a minority of settings).
#
# **What we compare.** The same DCGAN generator twice — plain BatchNorm vs self-modulated
# BatchNorm (its γ/β output layers start at zero, so it starts as plain BatchNorm would) —
# against the same DCGAN discriminator, the standard non-saturating loss, the same rounds,
# data and batches, **3 seeds each**; the Fréchet digit distance of lesson 21 (lower is
# better) and the classifier score, mean ± standard deviation over seeds. Whichever wins,
# the lesson reports it: with 3 seeds and short runs the difference may be within the noise,
# and the check only asks that both learn.
#
# **Sizes.** MNIST-5k at 14×14, G 48 → 24 maps, D 24 → 48 channels, 500 rounds per run at
# Adam 6·10⁻⁴ (the paper: 64×64 to 128×128 images, 100k steps, FID with Inception).
# `--quick`: 8×8 digits, 2 seeds of 80 rounds at 2·10⁻³.
#
# Exercise: frechet_distance (the GAN topic's).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from tinygen import lesson
from tinygen.models.image_gans import (Generator, digit_data, digit_feature_net, fit_gan,
                                       gan_losses, players_at, plot_sample_rows, sample)
from tinygen.models.self_mod import SelfModGenerator
from tinygen.parallel import run_jobs

args = lesson.parse("23_self_mod", "Self-modulated vs plain BatchNorm in a DCGAN generator, "
                    "3 seeds, Fréchet digit distance",
                    flags={"--jobs": {"type": int, "default": 2,
                                      "help": "worker processes for the runs (1: none)"}})
started = time.perf_counter()

Z_DIM = 32
ROUNDS = 80 if args.quick else 500
LR = 2e-3 if args.quick else 6e-4
SEEDS = [args.seed + k for k in range(2 if args.quick else 3)]
G_CHANNELS, D_CHANNELS = ((32, 16), (16, 32)) if args.quick else ((48, 24), (24, 48))
N_EVAL = 500 if args.quick else 1000
VARIANTS = {"plain BN": Generator, "self-modulated BN": SelfModGenerator}

real, _, real_test, _, size = digit_data(args.quick)
net = digit_feature_net("digits" if args.quick else "mnist", device=args.device)
z_eval = np.random.default_rng(args.seed + 1).standard_normal((N_EVAL, Z_DIM)).astype(np.float32)
params = {name: sum(p.numpy().size for p in cls(Z_DIM, size, G_CHANNELS).parameters())
          for name, cls in VARIANTS.items()}
reference = {"fdd": net.frechet(real_test[:N_EVAL], real),
             "score": net.score(real_test[:N_EVAL])["score"]}
print(f"{len(real):,} training images; {ROUNDS} rounds × {len(SEEDS)} seeds per variant; "
      f"generator parameters {params}; real test digits FDD {reference['fdd']:.2f}")

# %% [markdown]
# ## Training both variants on every seed
#
# A seed fixes D's initial weights and the batches, so both variants meet the same critic
# and the same data; the generators draw their weights from the same seed but in a
# different order (the self-modulated one has extra layers), so their starts differ.

# %%
# The six runs go to two worker processes (`tinygen.parallel.run_jobs`; `--jobs 1`: one
# after another here, the same numbers); each sends back its weights before and after
# training, and the samples are drawn and scored here.
players = {"generator": {"z_dim": Z_DIM, "size": size, "channels": G_CHANNELS},
           "critic": {"size": size, "channels": D_CHANNELS, "batchnorm": True}}
jobs = [(fit_gan, dict(players, generator_class=cls, losses=gan_losses("sgan"), real=real,
                       steps=ROUNDS, batch=64, lr=LR, checkpoints=(0, ROUNDS), seed=seed,
                       device=args.device))
        for cls in VARIANTS.values() for seed in SEEDS]
fitted = iter(run_jobs(jobs, args.jobs))
runs = {name: [] for name in VARIANTS}
untrained = {}
for name, cls in VARIANTS.items():
    for seed in SEEDS:
        h = next(fitted)
        if seed == SEEDS[0]:
            g0, _ = players_at(h, 0, generator_class=cls, device=args.device, **players)
            x0 = sample(g0, z_eval, args.device)
            untrained[name] = {"fdd": net.frechet(x0, real), "score": net.score(x0)["score"]}
        g, _ = players_at(h, ROUNDS, generator_class=cls, device=args.device, **players)
        x = sample(g, z_eval, args.device)
        runs[name].append({"fdd": net.frechet(x, real), "score": net.score(x)["score"],
                           "samples": x[:12], "seconds": h["seconds"],
                           "finite": bool(np.isfinite(h["d_loss"] + h["g_loss"]).all())})
        print(f"{name:>18}, seed {seed}: FDD {runs[name][-1]['fdd']:.2f}, score "
              f"{runs[name][-1]['score']:.2f} ({h['seconds']:.0f} s)")

summary = {name: {k: (float(np.mean([r[k] for r in rs])), float(np.std([r[k] for r in rs])))
                  for k in ("fdd", "score")} for name, rs in runs.items()}
for name, s in summary.items():
    print(f"{name:>18}: FDD {s['fdd'][0]:.2f} ± {s['fdd'][1]:.2f}, score "
          f"{s['score'][0]:.2f} ± {s['score'][1]:.2f}")

# %% [markdown]
# ## Samples and the per-seed numbers

# %%
rows, labels = [], []
for name, rs in runs.items():
    for seed, r in zip(SEEDS, rs):
        rows.append(r["samples"])
        labels.append(f"{name}, seed {seed}")
fig = plot_sample_rows(rows + [real_test[:12]], labels + ["real"],
                       "plain vs self-modulated BatchNorm (same z per row)")
lesson.save_figure(fig, args, "samples.png")
plt.close(fig)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, key, title in ((axes[0], "fdd", "Fréchet digit distance (lower is better)"),
                       (axes[1], "score", "classifier score (higher is better)")):
    for i, (name, rs) in enumerate(runs.items()):
        ax.plot([i] * len(rs), [r[key] for r in rs], "o", color=("tab:blue", "tab:red")[i])
        ax.errorbar(i + 0.15, summary[name][key][0], yerr=summary[name][key][1], fmt="s",
                    color="k", capsize=4)
    ax.axhline(reference[key], color="k", ls="--", lw=1, label="real test digits")
    ax.set(xticks=[0, 1], xticklabels=list(runs), title=title, xlim=(-0.5, 1.5))
    ax.legend(fontsize=8)
fig.tight_layout()
lesson.save_figure(fig, args, "seeds.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# A full run on this project's machine (291 s of CPU, the six runs in two worker processes
# with one BLAS thread each): FDD plain BN 34.8 ± 3.3 (seeds 36.5, 30.2, 37.7),
# self-modulated 31.4 ± 1.9 (34.1, 30.2, 29.9); score 4.42 ± 0.09 vs 4.45 ± 0.12.
# Self-modulation is ahead on average, by 0.9 of the combined standard deviation, and on two
# seeds of three (a tie on seed 1): with 3 seeds of 500 rounds that is a hint, not a result
# (the paper's median gain is about 5% of FID over many settings). The same lesson in one
# process, before: 35.9 ± 4.8 vs 30.0 ± 5.1, the same direction.

# %%
plain, selfmod = summary["plain BN"], summary["self-modulated BN"]
better = "self-modulated BN" if selfmod["fdd"][0] < plain["fdd"][0] else "plain BN"
elapsed = time.perf_counter() - started
metrics = {"data": "digits 8x8" if args.quick else "mnist5k 14x14", "rounds": ROUNDS,
           "lr": LR, "seeds": SEEDS, "generator_parameters": params, "real": reference,
           "untrained": untrained,
           "plain": {"fdd_per_seed": [r["fdd"] for r in runs["plain BN"]],
                     "score_per_seed": [r["score"] for r in runs["plain BN"]],
                     "fdd": plain["fdd"], "score": plain["score"]},
           "self_mod": {"fdd_per_seed": [r["fdd"] for r in runs["self-modulated BN"]],
                        "score_per_seed": [r["score"] for r in runs["self-modulated BN"]],
                        "fdd": selfmod["fdd"], "score": selfmod["score"]},
           "lower_fdd": better,
           "fdd_difference_in_stds": float((plain["fdd"][0] - selfmod["fdd"][0])
                                           / max(1e-9, np.hypot(plain["fdd"][1],
                                                                selfmod["fdd"][1]))),
           "finite": all(r["finite"] for rs in runs.values() for r in rs),
           "seconds": round(elapsed, 1)}
print(f"lower FDD: {better} (plain {plain['fdd'][0]:.2f} ± {plain['fdd'][1]:.2f} vs "
      f"self-mod {selfmod['fdd'][0]:.2f} ± {selfmod['fdd'][1]:.2f}; difference "
      f"{metrics['fdd_difference_in_stds']:+.1f} combined std); total {elapsed:.0f} s")


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """Both variants learn on every seed (FDD below a third of their untrained generator's);
    the comparison is reported, not checked: it is the question, not a known answer."""
    results = []
    for key, name in (("plain", "plain BN"), ("self_mod", "self-modulated BN")):
        worst, top = max(m[key]["fdd_per_seed"]), m["untrained"][name]["fdd"]
        results.append((worst < top / 3, f"{name}: worst seed's FDD {worst:.2f} below a third "
                        f"of the untrained generator's {top:.2f}"))
    results.append((m["finite"], "losses stayed finite in every run"))
    return results


lesson.finish(metrics, args, checks)
