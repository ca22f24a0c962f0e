# %% [markdown]
# # Lesson 27: GRAN — a generator that draws on a canvas over T steps
#
# LAPGAN (lesson 26) splits image generation along scales and trains each level on its
# own. GRAN (Im, Kim, Jiang & Memisevic 2016, "Generating images with recurrent adversarial
# networks"), the GAN survey post's next example, splits it along **time** and trains all
# steps together: the generator is a recurrent network that adds to a canvas step by step,
# each step seeing what has been drawn so far (the post: like an LSTM cell C_t, the prior's
# code h_z concatenated with the state and passed to every step). In
# `tinygen.models.gran.GRAN`:
#
#     h_t = LSTM([z, enc(tanh C_{t−1})], h_{t−1}),   C_t = C_{t−1} + dec(h_t),   x = tanh C_T
#
# with C₀ = 0, z fixed for the whole drawing, enc a linear code of the canvas and dec a
# DCGAN decoder (Linear → 7×7 maps → BatchNorm, ReLU, ConvTranspose 4×4/2 → BatchNorm,
# ReLU, Conv 3×3) shared by all steps. With **T = 1** it is a one-shot DCGAN generator
# dec(LSTM(z)) — the baseline, identical but for the number of steps.
#
# **What we train.** Lesson 21's DCGAN setup: MNIST-5k's 3,500 training digits at 14×14,
# the standard GAN loss (non-saturating), DCGAN's conv critic (BatchNorm after every conv but
# the first), **two critic steps per generator step**, Adam (β₁ = 0.5) at 6·10⁻⁴, batches
# of 64. GRAN with T = 3 and T = 1 share the initial weights, the critic's initial weights and
# the batches. What did not work: lesson 13's spectral-norm critic (on 8×8 digits with T = 3
# it taught neither model anything in 150 rounds, FDD 130–180 against the untrained 149),
# and the BatchNorm critic with lesson 13's one critic step per *two* generator steps (a
# full run collapsed both models to one digit class: FDD ≈ 390, untrained ≈ 510); with one
# step each, T = 1 learned (FDD 41.7, 10 classes, 500 rounds) but T = 3 collapsed to a
# few classes (FDD 226, 3 classes). Two critic steps per generator step kept T = 3 from
# collapsing in a 250-round trial (FDD 33.5, 10 classes).
#
# **The write scale.** An untrained decoder's changes are correlated from step to step, so
# the canvas's spread grows about T-fold: with T = 3 the untrained canvas had std 2.8 and
# half its pixels saturated tanh (|tanh C| > 0.99), where gradients vanish. Each step
# therefore writes 1/T of its change, C_t = C_{t−1} + dec(h_t)/T (`GRAN(..., write=1/T)`):
# the untrained canvas starts at the one-shot generator's scale (std 0.94, 3% saturated).
#
# **BatchNorm across steps.** The decoder's BatchNorm layers see all T steps, whose
# statistics differ (the first step draws on an empty canvas, the last one corrects a
# nearly finished digit), so their running averages describe no single step. We therefore
# draw every sample (both models, all figures and scores) with **batch statistics**, in
# batches of 500, as the generator was trained.
#
# **Measuring.** The Fréchet digit distance (FDD, lesson 21: `digit_feature_net`'s 64
# features, against the real training digits; lower is better) and the classifier score
# of lesson 13, next to real test digits and the untrained generator; and the FDD of
# tanh C_t after each step t, which says whether the later steps improve the drawing.
#
# **Sizes.** The paper trains much larger decoders on MNIST, CIFAR-10 and LSUN images and
# several step counts; here T = 3, 32/16-map decoders, a 64-unit LSTM and 400
# rounds per model (GRAN with T = 3 costs about three one-shot generators per step).
# `--quick` (for the tests): scikit-learn's 8×8 digits, 100 rounds at 10⁻³.
#
# **Published numbers.** The paper compares models with its own Generative Adversarial
# Metric (two GANs' critics judge each other's samples) and by eye; it reports no number
# we can compute here.
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
from tinygen.models.gan import sgan_d_loss, sgan_g_loss
from tinygen.models.gran import GRAN
from tinygen.models.image_gans import (digit_data, digit_feature_net, make_critic,
                                       plot_sample_rows, train_gan)

args = lesson.parse("27_gran", "GRAN (a recurrent canvas generator) with T = 3 vs T = 1 on "
                    "MNIST-5k (14x14)")
started = time.perf_counter()

Z_DIM, HIDDEN, CODE = 64, 64, 32
STEPS = 3
ROUNDS = 100 if args.quick else 400
LR = 1e-3 if args.quick else 6e-4
D_STEPS, G_STEPS = 2, 1
G_CHANNELS, D_CHANNELS = (32, 16), (24, 48)
N_EVAL = 300 if args.quick else 1000
CHECKPOINTS = sorted({0, ROUNDS // 3, 2 * ROUNDS // 3, ROUNDS})

real, _, real_test, _, size = digit_data(args.quick)
print(f"{len(real):,} training images {real.shape[1:]}; {ROUNDS} rounds of {D_STEPS} critic "
      f"+ {G_STEPS} generator steps per model")

# %% [markdown]
# ## Drawing with batch statistics, and the yardstick

# %%
net = digit_feature_net("digits" if args.quick else "mnist", device=args.device)
z_eval = np.random.default_rng(args.seed + 1).standard_normal((N_EVAL, Z_DIM)).astype(np.float32)


def draw(model: GRAN, z: np.ndarray, batch: int = 500) -> list[np.ndarray]:
    """tanh C_t for t = 1 … T of the latents z, BatchNorm with batch statistics (training
    mode: see above), no gradients; the running averages this updates are never used."""
    model.train()
    with tg.no_grad():
        parts = [[tg.ops.tanh(c).numpy() for c in model.canvases(tg.tensor(z[i:i + batch],
                                                                           device=args.device))]
                 for i in range(0, len(z), batch)]
    return [np.concatenate([p[t] for p in parts]) for t in range(model.steps)]


def quality(images: np.ndarray) -> dict:
    s = net.score(images)
    return {"fdd": net.frechet(images, real), "score": s["score"], "coverage": s["coverage"]}


reference = quality(real_test[:N_EVAL])
print(f"real test digits: FDD {reference['fdd']:.2f}, score {reference['score']:.2f}")

# %% [markdown]
# ## Training T = 3 and T = 1
#
# The same seed builds both generators (the T = 1 model has the very same layers: the
# number of steps adds no parameters) and both critics; `train_gan` draws the same batches.

# %%
runs = {}
z_fixed = z_eval[:12]
for steps in (STEPS, 1):
    name = f"T = {steps}"
    tg.manual_seed(args.seed)
    generator = GRAN(Z_DIM, size, steps=steps, hidden=HIDDEN, code=CODE, channels=G_CHANNELS,
                     write=1.0 / steps).to(args.device)
    critic = make_critic(size, D_CHANNELS, batchnorm=True).to(args.device)
    untrained = quality(draw(generator, z_eval)[-1])
    track = {"round": [], "fdd": []}

    def on_checkpoint(step, generator=generator, track=track):
        track["round"].append(step)
        track["fdd"].append(net.frechet(draw(generator, z_eval[:300])[-1], real))

    t0 = time.process_time()
    history = train_gan(generator, critic, real,
                        lambda c, x_r, x_f: sgan_d_loss(c(x_r), c(x_f)),
                        lambda c, x_r, x_f: sgan_g_loss(c(x_f)), ROUNDS, d_steps=D_STEPS,
                        g_steps=G_STEPS, batch=64, lr=LR, betas=(0.5, 0.999),
                        checkpoints=CHECKPOINTS, on_checkpoint=on_checkpoint, seed=args.seed,
                        device=args.device, log_every=0 if args.quick else ROUNDS // 4)
    cpu = time.process_time() - t0
    canvases = draw(generator, z_eval)
    runs[name] = {"steps": steps, "untrained": untrained, "quality": quality(canvases[-1]),
                  "step_fdd": [net.frechet(c, real) for c in canvases], "track": track,
                  "history": history, "cpu": cpu, "fixed": draw(generator, z_fixed),
                  "samples": canvases[-1]}
    q = runs[name]["quality"]
    print(f"{name}: {cpu:.0f} CPU s; FDD {q['fdd']:.2f} (untrained {untrained['fdd']:.1f}), "
          f"score {q['score']:.2f}, coverage {q['coverage']}/10; FDD after each step: "
          + ", ".join(f"{f:.1f}" for f in runs[name]["step_fdd"]))
many, one = runs[f"T = {STEPS}"], runs["T = 1"]

# %% [markdown]
# ## The canvas after each step
#
# Row t: tanh C_t for the same 12 latents; the last row of the T-step model is its sample.
# The T = 1 model's one-shot samples of the same latents are below, then real digits.

# %%
rows = many["fixed"] + [one["fixed"][-1], real_test[:12]]
labels = [f"step {t}" for t in range(1, STEPS + 1)] + ["T = 1", "real"]
fig = plot_sample_rows(rows, labels, f"GRAN, T = {STEPS}: the canvas after each step "
                       f"(FDD {many['quality']['fdd']:.2f}; T = 1: {one['quality']['fdd']:.2f})")
lesson.save_figure(fig, args, "canvas_steps.png")
plt.close(fig)

# %% [markdown]
# ## FDD over training and over the drawing steps

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for (name, run), color in zip(runs.items(), ("tab:red", "tab:gray")):
    axes[0].plot(run["track"]["round"], run["track"]["fdd"], "o-", color=color, label=name)
axes[1].plot(range(1, STEPS + 1), many["step_fdd"], "o-", color="tab:red",
             label=f"T = {STEPS}: tanh C_t")
axes[1].axhline(one["quality"]["fdd"], color="tab:gray", ls="--", label="T = 1")
for ax in axes:
    ax.axhline(reference["fdd"], color="k", ls=":", lw=1, label="real test digits")
    ax.set(yscale="log", ylabel="FDD (lower is better)")
    ax.legend(fontsize=8)
axes[0].set(xlabel="round", title="during training (300 samples)")
axes[1].set(xlabel="step t", xticks=range(1, STEPS + 1), title="after each drawing step")
fig.tight_layout()
lesson.save_figure(fig, args, "fdd.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# A full run on this project's machine (96 CPU s at load ~5): FDD real test digits 1.07;
# **T = 3: 21.2**, classifier score 5.26, 10/10 classes; **T = 1: 17.9**, 5.33, 10/10;
# untrained ≈ 510. The T = 3 model's canvas improves step by step (FDD after steps 1, 2,
# 3: 145.3, 39.0, 21.2): the first step lays down a faint blob, the second the strokes, the
# third sharpens them. But at this budget drawing in three steps does **not** beat drawing
# in one, so the full run's check "T = 3 beats T = 1" fails; we keep it. T = 3 also costs
# about twice the CPU (60 s vs 32 s) and was the less stable of the two (see the settings
# that collapsed it, above).
#
# **Trying to make T > 1 win** (one run each, 400 rounds, seed 0 unless said, FDD of 1,000
# samples; scripts outside the lesson, same data, critic, loss and batches): a second seed,
# T = 3 26.9 vs T = 1 17.3; writing every step in full (write = 1) instead of 1/T, T = 3
# 19.1; two steps, T = 2 18.3 (write 1/2) and 20.8 (write 1); and the paper's own
# recurrence instead of the LSTM (h_z = tanh(W z); the decoder reads [h_z, g(ΔC_{t−1})], g a
# conv encoder of the previous step's change, g = 0 at the first step; C_T = Σ ΔC_t and
# x = tanh C_T; 182,449 parameters), T = 3 21.1 vs T = 1 18.1. T = 1 stayed at 17.3–18.1;
# no T > 1 variant beat it. Twice the rounds (800, seed 0) helped both and kept the order:
# T = 3 12.7 (123 CPU s) vs T = 1 10.5 (61 CPU s). A likely reason, not tested: the
# recurrent generator is a T-times-deeper network to train through the same critic, while
# a 14×14 digit is simple enough for the one-shot decoder to draw.

# %%
elapsed = time.perf_counter() - started
metrics = {"data": "digits 8x8" if args.quick else "mnist5k 14x14", "rounds": ROUNDS,
           "lr": LR, "d_steps": D_STEPS, "g_steps": G_STEPS, "steps": STEPS,
           "samples": N_EVAL, "reference": reference, "seconds": round(elapsed, 1)}
for name, run in runs.items():
    h = run["history"]
    metrics[name] = {"quality": run["quality"], "untrained": run["untrained"],
                     "step_fdd": run["step_fdd"],
                     "fdd_over_training": dict(zip(map(str, run["track"]["round"]),
                                                   run["track"]["fdd"])),
                     "max_abs_loss": float(max(np.abs(h[k]).max() for k in ("d_loss", "g_loss"))),
                     "cpu_seconds": round(run["cpu"], 1)}
metrics["many"], metrics["one"] = f"T = {STEPS}", "T = 1"
print(f"total {elapsed:.0f} s")


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """Both generators learn digits (FDD below half the untrained generator's); the T-step
    model's later steps improve its drawing (the last canvas's FDD below the first's); and
    — in the full run — drawing in T steps beats drawing in one."""
    results = []
    for name in (m["many"], m["one"]):
        r = m[name]
        f, f0 = r["quality"]["fdd"], r["untrained"]["fdd"]
        results += [(f < 0.5 * f0, f"{name}: FDD {f:.2f} below half the untrained "
                     f"generator's {f0:.1f}"),
                    (r["max_abs_loss"] < float("inf"), f"{name}: the losses stayed finite")]
    steps = m[m["many"]]["step_fdd"]
    results.append((steps[-1] < steps[0], f"{m['many']}: the last canvas (FDD {steps[-1]:.2f}) "
                    f"beats the first (FDD {steps[0]:.2f})"))
    if not quick:
        a, b = m[m["many"]]["quality"]["fdd"], m[m["one"]]["quality"]["fdd"]
        results.append((a < b, f"{m['many']} (FDD {a:.2f}) beats {m['one']} (FDD {b:.2f})"))
    return results


lesson.finish(metrics, args, checks)
