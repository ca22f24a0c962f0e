# %% [markdown]
# # Lesson 15: invertible ResNets — densities by a log-determinant series
#
# A residual block y = x + g(x) is invertible when g is a contraction, Lip(g) < 1: then x is
# the fixed point of x ← y − g(x) (Banach), reached at rate Lip(g) per iteration. i-ResNet
# (the invertible-ResNet post) keeps every weight's spectral norm at most c < 1 by power
# iteration, so Lip(g) ≤ c. Stacking blocks F = F_K ∘ … ∘ F_1 over a standard normal base
# gives a density by the change of variables,
#
#     log p(x) = log N(F(x); 0, I) + Σ_i log|det(I + J_{g_i})|,
#
# and since ‖J_g‖ < 1 the log-det has a convergent power series,
#
#     log det(I + J) = tr log(I + J) = Σ_{k≥1} (−1)^{k+1} tr(J^k)/k,
#
# with each trace estimated by Hutchinson, tr(A) ≈ vᵀAv (E[vvᵀ] = I). i-ResNet truncates the
# series after n terms (biased); Residual Flows stops at a random N and reweights term k by
# 1/P(N ≥ k), which is unbiased (Russian roulette). `tinygen.models.flows` has both, the exact
# log-det for small d, and a fused kernel that computes all terms vᵀJ^k v in one call.
#
# **What we do.** On three 2-D toys (8 Gaussians at FFJORD's scale, checkerboard, two moons)
# train i-ResNets by maximum likelihood on the exact log-det (in 2-D the series of exact
# traces, through the fused kernel), and use the exact 2 × 2 log-det to: draw true vs learned
# densities; score test NLL against a single Gaussian, EM Gaussian mixtures (the number of
# components chosen on validation) and, where it has a closed form, the true density; measure
# the truncated-series and Russian-roulette estimators' bias and spread over training;
# invert the flow by fixed-point iteration (error per iteration) and sample by inverting.
# Then the same model on 14 × 14 digits, in bits/dim, on top of a full-covariance Gaussian.
# `--quick` (tests): smaller models, 150 steps on the toys, 8 × 8 digits.
#
# Run it with `python lessons/15_invertible_resnet.py [--quick] [--out DIR] [--seed N]
# [--jobs N]`.

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import lesson
from tinygen.models.flows import iresnet_fit as F
from tinygen.models.flows import logdet as L
from tinygen.parallel import run_jobs

args = lesson.parse("15_invertible_resnet", "i-ResNet densities on 2-D toys: exact vs "
                    "truncated vs Russian-roulette log-dets, fixed-point inverse",
                    flags={"--jobs": {"type": int, "default": 2,
                                      "help": "worker processes for the trainings (1: one "
                                              "after another, in this process)"}})
started = time.perf_counter()

# the toys (`F.TOYS`: FFJORD's 8 Gaussians, checkerboard, two moons) and their i-ResNets
BLOCKS, WIDTH = (3, 32) if args.quick else (10, 64)
STEPS = 150 if args.quick else 1000
BATCH, LR, C = 256, 5e-3, 0.97
ACTIVATION, ACTNORM = "elu", False
POWER_STEPS = 3  # power iterations per step: one lags behind Adam's weight changes
SERIES_N = 100  # training: the series of exact traces, truncated after 100 terms
P_STOP = 0.05  # N ~ Geometric(p): see "the choice of p" below
GMM_KS = (1, 2, 4, 8, 16) if args.quick else (1, 2, 4, 8, 16, 32, 64, 128)
CAP = 300  # terms computed when N is drawn for many estimates at once (P(N > 298) ≈ 2e-7)
N_TRAIN, N_TEST = (3000, 1000) if args.quick else (20_000, 5000)
TRACE_EVERY = max(1, STEPS // 8)  # estimator bias/spread checkpoints
GRID = 40 if args.quick else 120
HIST = 50_000 if args.quick else 200_000  # data points in the histogram of the true density
REPEATS = 8 if args.quick else 16  # estimator draws per checkpoint
CHECK_POINTS, CHECK_DRAWS = (8, 1000) if args.quick else (16, 1500)
LIM = 4.5
ITER = 60 if args.quick else 200  # fixed-point iterations: Lip ≈ 0.9 needs ~200 for 1e-9
# the digits model (below)
DIGIT_BLOCKS, DIGIT_WIDTH = (2, 64) if args.quick else (4, 256)
DIGIT_STEPS, DIGIT_BATCH, DIGIT_LR = (40 if args.quick else 400), 64, 2e-3
DIGIT_ACTIVATION = "tanh"  # bounded residuals: the flow's tails stay the Gaussian base's

# %% [markdown]
# ## Training on the exact log-det, and the estimators on the side
#
# Data are standardised (x̃ = (x − μ)/σ; the NLL in the original coordinates adds Σ log σ).
# In 2-D nothing needs estimating: with the two probes √2·e₁, √2·e₂ the Hutchinson average
# is the exact trace, and the fused kernel forms each sample's 2 × 2 Jacobian anyway (in
# d = 2 that is cheaper than pushing probes through the network), so its powers are nearly
# free: we train on the series of exact traces with n = 100 terms, whose truncation error is
# at most 2·(−log(1 − L) − Σ_{k≤100} L^k/k) per block (L ≤ 0.97³ ≈ 0.913 the block's
# Lipschitz bound: ~1e−5 nats) — the exact log-likelihood the test NLL measures, with
# no estimator noise in the gradient. (A first version trained on the roulette below, one
# draw per step: 2.94 / 3.99 / 2.55 test nats against 2.94 / 4.03 / 2.52 with exact traces
# in single runs of the same size — no clear difference at this size; the exact one is kept
# because it is the quantity we score.) The estimators of i-ResNet and Residual Flows, the
# ones a d = 196 model needs, are measured on the side, every STEPS/8 steps: each draws one
# N ~ Geometric(p) per block (two exact leading terms, as Residual Flows) and one
# Rademacher probe per sample.
# The choice of p matters: the roulette is unbiased for any p, but its variance
# Σ_k t_k²/(k² P(N ≥ k)) is finite only if ‖J‖² < 1 − p (and its third moment only if
# ‖J‖³ < (1 − p)²), and with c = 0.97 on each of three layers a block reaches ‖J‖ ≈ 0.91
# (a little more in practice: the power iteration lags behind Adam's steps). Residual Flows'
# p = ½ then has infinite variance: a first full run with it had loss spikes of 20 nats and
# an estimator mean 5.6 s.e. off the exact value; with p = 0.1 the estimates were still
# skewed (their mean over a few thousand draws sat 2.3–2.5 s.e. below the exact value in two
# runs). p = 0.05 keeps both moments finite at ~22 terms on average, cheap in 2-D where the
# kernel works with each sample's 2 × 2 Jacobian.
#
# **Seven independent jobs.** The three toy flows, each toy's baselines (the single
# Gaussian, the mixtures, the generating density) and the digits model of the last section
# do not depend on each other, so each is one job of `tinygen.models.flows.iresnet_fit`
# (`fit_toy`, `toy_baselines`, `fit_digits`: plain values in, arrays and weights out, every
# generator seeded from the job's own arguments), and `tinygen.parallel.run_jobs` runs them
# in two worker processes, the longest first (`--jobs`; `--jobs 1` runs them one after
# another in this process, with the same numbers to the last digit). The lesson then
# rebuilds each toy flow from its weights (`F.toy_model`) and measures the rest here: the
# roulette on many draws, the inverse, the densities and samples of the figures.

# %%
MODEL = {"blocks": BLOCKS, "width": WIDTH, "depth": 3, "activation": ACTIVATION, "c": C,
         "n_power_iterations": POWER_STEPS, "actnorm": ACTNORM}
DIGIT_MODEL = {"blocks": DIGIT_BLOCKS, "width": DIGIT_WIDTH, "depth": 3,
               "activation": DIGIT_ACTIVATION, "c": C, "n_power_iterations": 2}
budget = sum(p.size for p in F.toy_model(MODEL, args.seed).parameters())
points = {"seed": args.seed, "n_train": N_TRAIN, "n_test": N_TEST}
fit = {"model": MODEL, "steps": STEPS, "batch": BATCH, "lr": LR, "series_n": SERIES_N,
       "trace_every": TRACE_EVERY, "trace": {"repeats": REPEATS, "cap": CAP, "p": P_STOP}}
# the largest jobs first (CPU seconds of a full run: digits ~97, a toy flow 70–77, a toy's
# baselines 5–7), so that each worker gets about half: a free worker takes the next job
calls = ([(F.fit_digits, {"quick": args.quick, "seed": args.seed, "model": DIGIT_MODEL,
                          "steps": DIGIT_STEPS, "batch": DIGIT_BATCH, "lr": DIGIT_LR,
                          "p": P_STOP, "ridges": (1e-3, 1e-2, 1e-1, 1.0), "iterations": ITER})]
         + [(F.fit_toy, {"name": name, **points, **fit}) for name in F.TOYS]
         + [(F.toy_baselines, {"name": name, **points, "ks": GMM_KS, "budget": budget})
            for name in F.TOYS])
digit_fit, *done = run_jobs(calls, args.jobs)
fits, baselines = done[:3], done[3:]

results = {}
for name, f, b in zip(F.TOYS, fits, baselines):
    lp, gmm, true_lp = f["test_lp"], b["gmm"], b["true_lp"]
    gmm_lp = gmm.pop("test_lp")
    gap = (f["shift"] - lp) + gmm_lp  # per test point: flow NLL − GMM NLL
    ceiling = gmm_lp - true_lp  # the same for the generating density: the best any model does
    gmm.update(gap=float(gap.mean()), gap_se=float(gap.std() / np.sqrt(len(gap))),
               truth_gap=float(ceiling.mean()),
               truth_gap_se=float(ceiling.std() / np.sqrt(len(ceiling))))
    results[name] = r = {"model": F.toy_model(MODEL, args.seed, f["state"]), "mu": f["mu"],
                         "sd": f["sd"], "nll": float(-lp.mean()) + f["shift"],
                         "nll_se": float(lp.std() / np.sqrt(len(lp))),
                         "series_error": f["series_error"], "gaussian_nll": b["gaussian_nll"],
                         "gmm": gmm, "true_nll": float(-true_lp.mean()), "params": f["params"],
                         "trace": f["trace"], "losses": f["losses"]}
    print(f"{name:<13} test NLL: i-ResNet {r['nll']:.3f} ± {r['nll_se']:.3f} "
          f"({r['params']:,} parameters)   Gaussian {r['gaussian_nll']:.3f}   "
          f"GMM-{r['gmm']['k']} (chosen on validation) {r['gmm']['nll']:.3f}, flow − GMM "
          f"{r['gmm']['gap']:+.3f} ± {r['gmm']['gap_se']:.3f}   truth {r['true_nll']:.3f} "
          f"(truth − GMM {r['gmm']['truth_gap']:+.3f} ± {r['gmm']['truth_gap_se']:.3f})   "
          f"|series − exact| ≤ {r['series_error']:.1e}   CPU {f['cpu_seconds']:.1f} s "
          f"(baselines {b['cpu_seconds']:.1f} s)", flush=True)

# %% [markdown]
# ## Is the roulette unbiased on the trained model?
#
# At a few test points of the two-moons model: many roulette draws (one probe and one N per
# block each) of the total log-det averaged over the points, their mean against the exact
# value in standard errors; and the
# naive estimator from the same draws, which stops at N without exact leading terms or the
# 1/P(N ≥ k) weights (biased: term k counts only P(N ≥ k) of the time), which must fail.

# %%
model = results["two moons"]["model"]
x_moons = F.toy_data("two moons", N_TEST, tg.Generator(args.seed + 2))  # fit_toy's test points
xs = (x_moons[:CHECK_POINTS] - results["two moons"]["mu"]) / results["two moons"]["sd"]
xc = tg.tensor(xs)
gen = tg.Generator(args.seed + 7)
exact = F.exact_total_logdet(model, xc)
v = L.probes(CHECK_POINTS, CHECK_DRAWS, 2, generator=gen, dtype=np.float64)
terms = F.total_logdet_terms(model, xc, v, CAP)  # (blocks, B, R, CAP)
z_scores = {}
for label, coef, n_exact in (
        ("roulette", L.roulette_coefficients(CAP - 2, 2, "geometric", P_STOP), 2),
        ("naive: stop at N, no reweighting", L.power_series_coefficients(CAP), 0)):
    # mean over the points, per draw
    est = F.roulette_draws(terms, gen, coef, n_exact, P_STOP).mean(0)
    se = est.std() / np.sqrt(CHECK_DRAWS)
    z_scores[label] = float(abs(est.mean() - exact.mean()) / se)
    print(f"{label:<34} |mean − exact| / s.e. (log-det averaged over {CHECK_POINTS} points): "
          f"{z_scores[label]:.2f}")

# %% [markdown]
# ## Inverting by fixed-point iteration, and sampling
#
# Each block is inverted by x ← y − g(x) from x = y, last block first. Round trip: test
# points → F → F⁻¹; the residual ‖x_k + g(x_k) − y‖ = ‖g(x_k) − g(x_{k−1})‖ shrinks by at
# least Lip(g) ≤ ∏‖Ŵ_l‖₂ per iteration (the bound computed by SVD), so geometrically.
# Samples: z ~ N(0, I), then F⁻¹(z).

# %%
x0 = tg.tensor(xs)
with tg.no_grad():
    zc = model(x0)
back, errors = model.inverse(zc, ITER)
roundtrip = float(np.abs(back.numpy() - xs).max())
inverse_errors = np.max(np.array(errors), axis=0)  # worst block per iteration
# the residual shrinks by at most Lip(g) per iteration: r_k = ‖g(x_k) − g(x_{k−1})‖ ≤ Lip·r_{k−1}
rate = max(float(np.max(np.array(e[1:])[np.array(e[:-1]) > 1e-12]
                        / np.array(e[:-1])[np.array(e[:-1]) > 1e-12], initial=0.0))
           for e in errors)
lipschitz = max(b.lipschitz_bound() for b in model.blocks)
samples = {}
for name, r in results.items():
    z = tg.Generator(args.seed + 9).normal(2000, 2, dtype=np.float64)
    xinv, _ = r["model"].inverse(z, ITER)
    samples[name] = xinv.numpy() * r["sd"] + r["mu"]
print(f"round trip F⁻¹(F(x)) − x: {roundtrip:.1e}; residual after {ITER} iterations "
      f"{inverse_errors[-1]:.1e}; worst shrink factor per iteration {rate:.3f} <= "
      f"Lip bound {lipschitz:.3f}")

# %% [markdown]
# ## Figures
#
# 1. Rows: datasets. Columns: a histogram of 200,000 data points (the true density), the
#    learned density exp(log p(x)) with the exact log-det, and samples by inversion.
# 2. The two moons model during training: bias and spread of the truncated series (n = 5)
#    and the roulette against the exact log-det (the truncated series is biased, the roulette
#    is not but spreads more), the training loss, and the fixed-point residual per iteration.

# %%
g = np.linspace(-LIM, LIM, GRID)
plane = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
fig, axes = plt.subplots(3, 3, figsize=(11, 11))
for row, (name, r) in enumerate(results.items()):
    data = F.toy_data(name, HIST, tg.Generator(5))
    axes[row, 0].hist2d(data[:, 0], data[:, 1], bins=GRID, range=[[-LIM, LIM]] * 2,
                        density=True, cmap="magma")
    with tg.no_grad():
        logp = r["model"].log_prob(tg.tensor((plane - r["mu"]) / r["sd"]), "exact").numpy()
    dens = np.exp(logp - np.log(r["sd"]).sum()).reshape(GRID, GRID)
    axes[row, 1].imshow(dens, origin="lower", extent=[-LIM, LIM, -LIM, LIM], cmap="magma")
    s = samples[name]
    axes[row, 2].scatter(s[:, 0], s[:, 1], s=1, alpha=0.4)
    axes[row, 2].set(xlim=(-LIM, LIM), ylim=(-LIM, LIM))
    for col, title in enumerate(("data (histogram)", f"i-ResNet, exact: NLL {r['nll']:.2f}",
                                 "samples by fixed-point inversion")):
        axes[row, col].set_title(f"{name}: {title}", fontsize=9)
        axes[row, col].set(aspect="equal", xticks=[], yticks=[])
fig.tight_layout()
lesson.save_figure(fig, args, "densities.png")
plt.close(fig)

tr = results["two moons"]["trace"]
fig, (a1, a2, a3, a4) = plt.subplots(1, 4, figsize=(18, 4))
for label, color in (("truncated n=5", "tab:red"), ("roulette", "tab:blue")):
    a1.plot(tr["step"], [e[label]["bias"] for e in tr["estimators"]], "o-", color=color,
            label=label)
    a2.plot(tr["step"], [e[label]["std"] for e in tr["estimators"]], "o-", color=color,
            label=label)
a1.axhline(0, color="k", lw=0.5)
a1.set(xlabel="step", ylabel="mean(estimate) − exact (nats)", title="bias of the log-det")
a2.set(xlabel="step", ylabel="std over draws (nats)", title="spread of one draw")
a3.plot(results["two moons"]["losses"], lw=0.5)
a3.set(xlabel="step", ylabel="−log p (exact traces, n = 100)", title="training loss, two moons")
k = np.arange(1, ITER + 1)
a4.semilogy(k, inverse_errors, "o-", ms=3, label="worst block")
a4.semilogy(k, inverse_errors[0] * lipschitz ** (k - 1), "k--", lw=1,
            label=f"Lip^k, Lip ≤ {lipschitz:.2f} (SVD bound)")
a4.set(xlabel="iteration", ylabel="‖x + g(x) − y‖", title="fixed-point inverse")
for ax in (a1, a2, a4):
    ax.legend(fontsize=8)
fig.tight_layout()
lesson.save_figure(fig, args, "estimators_and_inverse.png")
plt.close(fig)

# %% [markdown]
# ## An i-ResNet on digits, in bits per dimension
#
# The same model in d = 196: MNIST-5k digits averaged down to 14 × 14 (`--quick`: the bundled
# 8 × 8 digits, d = 64), re-quantised to 8 bits y ∈ {0, …, 255} and dequantised,
# ỹ = (y + u)/256 with u ~ U[0, 1)ᵈ, so that −log₂ P(y) ≤ −log₂ p(ỹ) + d·8 (the usual bound),
# reported per dimension (bits/dim). Pixels are standardised with the training mean and std
# (the std floored at 0.05, so that a pixel constant in training cannot blow up a test image),
# whose log-det enters the likelihood. Baselines: the per-pixel Gaussian and a full-covariance
# Gaussian N(μ, Σ + λI), λ chosen on a validation fifth of the training images.
#
# **A Gaussian base.** A first version put the blocks straight on the standardised pixels:
# 6.11 bits/dim after 400 steps, short of the full-covariance Gaussian's 6.00 — ten thousand
# pixel correlations are a lot for four contractive blocks to learn in a few minutes. So the
# flow now starts from that Gaussian: the pixels are whitened by its Cholesky factor,
# x = C⁻¹(x_std − μ) with CCᵀ = Σ + λI (log-det −Σ log C_ii, exact), and the blocks act on x,
# their last layer scaled by 0.1 at initialisation so that the flow starts near the
# Gaussian. Whatever the blocks gain over it is measured per test image, paired
# (NLL_Gaussian − NLL_flow on the same images and the same dequantisation noise), with its
# standard error. Training uses the roulette through the fused kernel's probe chain
# (d > m·n here); the test likelihood is the roulette estimate averaged over four probes per
# image (unbiased; the exact 196 × 196 log-dets would take 196 reverse passes per block).
#
# **tanh in the digit blocks, for the tails.** With ELU (unbounded above) the blocks beat
# their Gaussian base on the typical test image but a few far-off images (a pixel that was
# nearly constant in training) lost up to 78 bits/dim: each block may stretch such a point by
# up to 1 + Lip(g), and the base then pays for the square of the stretched distance. With
# tanh, g is bounded (‖g‖ ≤ c·√width + ‖b_L‖), so far from the data F(x) = x + O(1) and the
# flow's tail is the Gaussian base's: the worst image lost 18 bits/dim instead of 78, and the
# paired gain's standard error fell from 0.09 to 0.03 bits/dim (numbers below).
#
# All of this is one job, `F.fit_digits` (its docstring lists every step and generator),
# which ran in a worker beside the toys' jobs at the start; here are its results.

# %%
dg = digit_fit  # trained and scored in its worker, with the toys (above)
side = dg["side"]
print(f"digits {side}×{side}: i-ResNet {dg['bits_per_dim']:.3f} ± {dg['se']:.3f} bits/dim "
      f"({dg['params']:,} parameters, {DIGIT_STEPS} steps, training CPU "
      f"{dg['train_seconds']:.1f} s of {dg['cpu_seconds']:.1f} s); per-pixel Gaussian "
      f"{dg['per_pixel_gaussian']:.3f}; full-covariance Gaussian (λ = {dg['ridge']:g}) "
      f"{dg['full_gaussian']:.3f}; the blocks' gain over it {dg['gain_over_full']:.3f} ± "
      f"{dg['gain_se']:.3f} bits/dim (paired)")

fig, axes = plt.subplots(2, 16, figsize=(16, 2.3))
for i in range(16):
    axes[0, i].imshow(dg["test_images"][i], cmap="gray_r")
    axes[1, i].imshow(dg["samples"][i], cmap="gray_r")
    for ax in axes[:, i]:
        ax.set(xticks=[], yticks=[])
axes[0, 0].set_ylabel("test", fontsize=8)
axes[1, 0].set_ylabel("samples", fontsize=8)
fig.suptitle(f"{side}×{side} digits: test images and samples by inverting the i-ResNet "
             f"({dg['bits_per_dim']:.2f} bits/dim)", fontsize=9)
lesson.save_figure(fig, args, "digits.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# Toys: test NLL in nats (lower is better; 5,000 test points, ± the standard error) of the
# i-ResNet with the exact log-det, a single Gaussian, the EM mixture whose number of
# components K was chosen on validation, and the generating density. A full run on this
# project's machine (10 blocks 2 → 64 → 64 → 2, ELU, c = 0.97, 44,820 parameters, 1,000 Adam
# steps of 256 on the exact traces, n = 100) gave
#
#     dataset       i-ResNet       Gaussian  GMM-K (val.)     flow − GMM      truth  truth − GMM
#     8 gaussians   2.936 ± 0.012  4.258     2.846 (K = 8)    +0.090 ± 0.005  2.843  −0.003 ± 0.001
#     checkerboard  4.029 ± 0.008  4.507     3.577 (K = 128)  +0.452 ± 0.008  3.466  −0.111 ± 0.006
#     two moons     2.516 ± 0.010  3.298     2.403 (K = 16)   +0.113 ± 0.006  2.399  −0.005 ± 0.001
#
# (flow − GMM and truth − GMM paired over the test points; two moons' truth and the last
# column were added after that run, by the lesson's own functions on the same seeds and
# points, the mixtures fitted exactly as in the run; the other columns are that run's).
# **Which mixture is the fair comparison.** The
# issue asks for "a Gaussian mixture fit by EM with the same number of parameters or fewer".
# Taken literally that allows ~7,000 components (6K − 1 ≤ 44,820), which on 16,000 points
# overfit, so we take the *best* mixture within the flow's parameter budget: every K in
# 1, 2, 4, …, 128 (at most 767 parameters) is fit on 80 % of the training points and the K
# with the best NLL on the other 20 % is scored on the test set. That is the strongest
# honest reading (a baseline we chose to lose to would prove nothing). The grid is wide
# enough: on checkerboard, where K = 128 is its largest entry, K = 256 validates worse
# (3.5755 against 3.5738; its test NLL would be 3.571).
#
# **How much room the mixtures leave.** The last column is what the *generating density
# itself* gains over the chosen mixture, paired on the same test points: the best any model
# can do, in expectation. On 8 Gaussians the mixture of 8 *is* the generating family, and
# GMM-8 sits at the truth (0.003 nats off). On two moons (uniform arcs blurred by Gaussian
# noise; its density by numerical integration over the arcs, `toys.two_moons_log_prob`)
# sixteen Gaussians come within **0.005 ± 0.001 nats** of the truth: 3 paired s.e. of a flow
# is 0.015–0.018 nats (its spread above, 0.005–0.006), so to beat GMM-16 by that much a model
# would have to beat the *generating density itself* by 0.01 nats or more, which no model
# does in expectation; the truth beats GMM-16 by 3.8 of its own s.e. (seed 1: −0.006 ±
# 0.001, 4.5 s.e.). Only the
# checkerboard (uniform on 8 squares, truth log 32 = 3.466) leaves real room: 0.11 nats.
#
# The result, plainly: **the i-ResNets beat the single Gaussian by 0.5–1.3 nats but lose to
# the validated EM mixture on all three toys**, by 0.09, 0.45 and 0.11 nats, so **the issue's
# mixture checks below fail in the full run**, all three: on checkerboard and two moons the
# flow would have to win by more than 3 paired s.e. (on two moons, as shown above, more than
# the truth wins by); on 8 Gaussians, where GMM-8 holds the truth and nothing can win, it
# would have to come within 3 s.e. (0.015 nats) of it, and it is 18 s.e. behind. (They are
# skipped in `--quick`, whose models are smaller and trained for
# 150 steps; the test judges them on doctored records and on the quick record read as a full
# run, where they fail too.) Every NLL here is nats per 2-D point in the data's own
# coordinates (the flow's standardisation adds Σ log σ), on the same 5,000 test points for
# all models, drawn from the same generators as the training points (FFJORD's definitions);
# the truth column checks the units: GMM-8 meets it on 8 Gaussians.
#
# What we tried (single runs, seed 0, the toy's cell alone with the lesson's seeds, which
# reproduce the table to the last digit: two moons 2.516, flow − GMM +0.113 ± 0.006, 65 s
# CPU): training on the roulette instead of the exact traces 2.55
# (checkerboard 3.99 vs 4.03: no clear winner); c = 0.99 per layer (Lip(g) ≤ 0.97) 2.48,
# better but the roulette's variance is then infinite for p = 0.05 (it needs ‖J‖² < 1 − p)
# and the series needs ~300 terms; LipSwish with an ActNorm after each block 2.68 (worse at
# 1,000 steps; slower to start in a second try too); ELU with an ActNorm after each block
# (`IResNet(actnorm=True)`) and c = 0.98: two moons 2.483 (flow − GMM +0.080 ± 0.005),
# 8 Gaussians 2.916 (+0.070 ± 0.005), checkerboard 4.063 (+0.485 ± 0.008), ~70 s CPU each —
# mixed (better on two of three, worse on checkerboard), nowhere near the mixture: not adopted.
# On checkerboard, the one toy with room, more capacity and more steps (CPU seconds of the
# cell or of the training): width 128 (171,540 parameters) 4.055 (+0.477 ± 0.009, 115 s) and
# 20 blocks (89,640) 4.224 (+0.647 ± 0.008, 145 s) — no better in 1,000 steps; Adam at 1e-2
# instead of 5e-3 4.287 (+0.709 ± 0.008, 75 s) — worse; batches of 128 for 2,000 steps
# 3.992 (+0.415 ± 0.008, 100 s; the same on two moons 2.488, +0.084 ± 0.005, and on
# 8 Gaussians 2.912, +0.066 ± 0.004, 97 s: a little better on all three, at 1.5 times the
# CPU); 3,000 steps of 256 3.889 (+0.312 ± 0.008, 194 s of training): three times the steps
# buy 0.14 of the 0.45 nats needed, so a win there would take well over ten
# times this toy's budget (a step of 10 blocks of width 64 on 256 points costs ~60 ms of
# CPU, on 128 points ~45 ms; width 128 ~105 ms; batch 1,024 ~200 ms). The checkerboard's sharp
# square edges are the hardest for a map whose every block is bi-Lipschitz, and Residual
# Flows' toy models have 100 blocks of four 128-wide layers trained for 50,000 steps of 500.
# None of these changes moves a check, and the longer ones break the lesson's time budget
# (≤ 3 minutes on two cores), so the settings stay as they were.
#
# Training on the exact traces, the series and the exact slogdet agree on the test points to
# 2e−5 nats (8 Gaussians; 1e−6 and 2e−6 on the others): what is trained is what is scored.
# The estimators on the trained two-moons model (128 test points, 16 draws each): the
# truncated series (n = 5) is 0.10 nats too high on average (0.03 at initialisation: the bias grows
# as the Jacobians do), the roulette within noise (−0.008) at a spread of 0.81 nats per draw
# (0.79 for the series). Over 1,500
# draws at 16 points the roulette's mean is 0.02 s.e. from the exact log-det, the naive
# estimator's 18.7 s.e. The inverse: residual 5e−15 after 200 fixed-point iterations,
# shrinking by at most 0.868 per iteration against the SVD bound 0.929 on Lip(g); round
# trip 1e−14.
#
# Digits, 14 × 14 (4 blocks 196 → 256 → 256 → 196 with tanh on the whitened pixels, 666,384
# parameters, 400 steps of 64): **5.560 ± 0.093 bits/dim**, against 6.89 for the per-pixel
# Gaussian and 5.845 for the full-covariance Gaussian (λ = 0.01 on validation; the first
# version's λ = 0.001 gave it 6.00). The blocks' gain over their Gaussian base, paired over
# the 1,000 test images, is **0.285 ± 0.031 bits/dim, 9.2 standard errors: the check
# passes** (the full run; the digits cell run alone with the same seeds gave the same
# numbers). With ELU (the previous full run) the flow had 5.64 ± 0.14 bits/dim and a gain of
# 0.21 ± 0.09 (2.4 s.e.: the check failed). The difference is in the tails, as the tanh note
# above argues: per-image gains with ELU had median 0.43 bits/dim and 99th percentile 0.50,
# but the worst 1 % lost more than 2.7 and one test image 78 bits/dim (~10,600 nats); with
# tanh (the cell run alone) the median is 0.44 and the 90th percentile 0.48, the 1st
# percentile −3.1 and the worst −18. The estimator was not the cause (its spread is 2 nats
# per image; with ELU the truncated series with n = 40 gave the same gain, 0.209 ± 0.086).
# The samples are blotchy strokes, a few digit-like. Published on MNIST (28 × 28,
# 60,000 training images, 8-bit dequantised): i-ResNet 1.05–1.06 and Residual Flow 0.97
# bits/dim. The numbers are not comparable: ours is a 4× smaller image made of 2 × 2
# averages (so far fewer exactly-white pixels, which cost almost nothing at 28 × 28), 3,500
# training images, a model ~10× smaller trained for 400 steps on one CPU core instead of
# days on GPUs.
#
# **Time.** In one process the full run took 369 s of CPU time (user + sys,
# `/usr/bin/time`; 356 + 13) on this project's machine at a load of ~11–20 on 2 cores. With
# the seven jobs in two worker processes (and the fixed-point inverse evaluating g once per
# iteration instead of twice, which cut the samples' cost by 2.9× with the same bits) it took
# 306 s of CPU in all (294 + 12, workers included, at a load of 4–6): the digits job 92 s,
# the toy flows 61 / 60 / 57 s, their baselines 4–6 s each, and this process 19 s (imports,
# the roulette check, the inverses, the figures). One worker gets the digits and then two
# moons (148 s), the other 8 Gaussians, checkerboard and the baselines (136 s), so on two
# idle cores the run should take about 148 + 19 ≈ 167 s, under 3 minutes — an estimate from
# CPU times measured on a busy machine (which run high), not a measurement. Every number of
# that run, and of the quick run, is the one-process run's to the last digit (both with one
# BLAS thread; the quick run with `--jobs 1` too); 7 of its 10 checks pass, and the three mixture
# checks fail as stated above.

# %%
metrics = {
    "datasets": {name: {"nll": r["nll"], "nll_se": r["nll_se"],
                        "gaussian_nll": r["gaussian_nll"], "gmm": r["gmm"],
                        "true_nll": r["true_nll"], "series_error": r["series_error"],
                        "truth_is_a_mixture": name == "8 gaussians",
                        "params": r["params"],
                        "estimators": dict(zip(map(str, r["trace"]["step"]),
                                               r["trace"]["estimators"]))}
                 for name, r in results.items()},
    "roulette_z": z_scores, "check_points": CHECK_POINTS, "check_draws": CHECK_DRAWS,
    "roundtrip_error": roundtrip, "inverse_rate": rate, "lipschitz_bound": lipschitz,
    "inverse_residuals": [float(e) for e in inverse_errors],
    "digits": {**{k: dg[k] for k in ("side", "bits_per_dim", "se", "per_pixel_gaussian",
                                     "full_gaussian", "ridge", "gain_over_full", "gain_se")},
               "blocks": DIGIT_BLOCKS, "width": DIGIT_WIDTH, "steps": DIGIT_STEPS,
               "activation": DIGIT_ACTIVATION,
               "published_28x28": {"i-ResNet": [1.05, 1.06], "Residual Flow": 0.97}},
    "settings": {"blocks": BLOCKS, "width": WIDTH, "steps": STEPS, "batch": BATCH, "lr": LR,
                 "c": C, "activation": ACTIVATION, "actnorm": ACTNORM, "power_steps": POWER_STEPS,
                 "p_stop": P_STOP, "jobs": args.jobs},
    # CPU seconds of each job (in whichever process ran it) and of this process (with
    # --jobs 1 that includes the jobs)
    "cpu_seconds": {**{f"{name}: flow": round(f["cpu_seconds"], 1)
                       for name, f in zip(F.TOYS, fits)},
                    **{f"{name}: baselines": round(b["cpu_seconds"], 1)
                       for name, b in zip(F.TOYS, baselines)},
                    "digits": round(digit_fit["cpu_seconds"], 1),
                    "main process": round(time.process_time(), 1)},
    "seconds": round(time.perf_counter() - started, 1)}


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """(passed, message) for each check on the metrics of one run. Toys: the flow's exact test
    NLL beats the single Gaussian; in the full run it must also beat the EM mixture (K chosen
    on validation within the flow's parameter budget), paired over the test points by more
    than 3 s.e. — except where the mixture family holds the generating density (8 Gaussians:
    nothing beats the truth), where it must not be worse by more than 3 s.e."""
    out = [(d["nll"] < d["gaussian_nll"],
            f"{name}: i-ResNet test NLL {d['nll']:.3f} < single Gaussian {d['gaussian_nll']:.3f}")
           for name, d in m["datasets"].items()]
    for name, d in m["datasets"].items():
        if quick:  # the quick models are too small and short for this claim
            break
        gap, se, g = d["gmm"]["gap"], d["gmm"]["gap_se"], d["gmm"]
        if d["truth_is_a_mixture"]:
            out.append((gap < 3 * se, f"{name}: i-ResNet test NLL {d['nll']:.3f} within 3 s.e. "
                        f"of GMM-{g['k']} {g['nll']:.3f}, which holds the true density "
                        f"(flow − GMM {gap:+.3f} ± {se:.3f}, paired)"))
        else:
            out.append((gap + 3 * se < 0, f"{name}: i-ResNet test NLL {d['nll']:.3f} beats "
                        f"GMM-{g['k']} {g['nll']:.3f} ({g['params']} parameters, K on "
                        f"validation) by more than 3 s.e. (flow − GMM {gap:+.3f} ± {se:.3f}, "
                        f"paired; the generating density itself: {g['truth_gap']:+.3f} ± "
                        f"{g['truth_gap_se']:.3f})"))
    z = m["roulette_z"]["roulette"]
    out.append((z <= 3, f"roulette mean within 3 s.e. of the exact log-det ({z:.2f} s.e.)"))
    dg = m["digits"]
    out.append((dg["bits_per_dim"] + 3 * dg["se"] < dg["per_pixel_gaussian"],
                f"digits: i-ResNet {dg['bits_per_dim']:.3f} ± {dg['se']:.3f} bits/dim below the "
                f"per-pixel Gaussian {dg['per_pixel_gaussian']:.3f} (by more than 3 s.e.)"))
    out.append((dg["gain_over_full"] > 3 * dg["gain_se"],
                f"digits: the blocks beat their full-covariance Gaussian base, paired over the "
                f"test images: {dg['gain_over_full']:.3f} ± {dg['gain_se']:.3f} bits/dim "
                f"(> 3 s.e.; {dg['bits_per_dim']:.3f} vs {dg['full_gaussian']:.3f})"))
    out.append((m["inverse_rate"] <= m["lipschitz_bound"] * (1 + 1e-6),
                f"fixed-point inverse: the residual shrinks at least by the Lipschitz bound "
                f"per iteration ({m['inverse_rate']:.3f} <= {m['lipschitz_bound']:.3f})"))
    return out


print(f"{time.perf_counter() - started:.1f} s")
lesson.finish(metrics, args, checks)
