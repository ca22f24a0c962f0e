# %% [markdown]
# # Lesson 30: energy models and how to sample them — Langevin, MALA, MEG
#
# The "energy view" posts read a GAN's critic as an energy U(x): a density
# p(x) = exp(−U(x))/Z that is low where data lives. Two questions follow: how to *sample*
# such a density (there is no generator, only U and its gradient), and how to *train* U
# (the likelihood's gradient needs samples of the model).
#
# **Sampling.** The unadjusted Langevin algorithm (ULA) moves a point downhill with noise,
#
#     x ← x − (ε/2)∇U(x) + √ε·n,   n ~ N(0, I),
#
# which samples p only as ε → 0: for a Gaussian of variance σ² its stationary variance is
# σ²/(1 − ε/(4σ²)). MALA (Metropolis-adjusted Langevin) makes it exact at any ε: treat the
# move as a proposal q(x'|x) = N(x'; x − (ε/2)∇U(x), εI) and accept it with probability
# min(1, exp(U(x) − U(x'))·q(x|x')/q(x'|x)). The step then only trades acceptance against
# distance moved. (`tinygen.stochastic.samplers`; its tests check detailed balance.)
#
# **Training** (part 3 of the posts, after Du & Mordatch 2019): the log-likelihood's gradient
# is −E_data ∇U + E_model ∇U, so each step lowers U at data x⁺ and raises it at model
# samples x⁻ drawn by Langevin chains — kept in a **replay buffer** (95% of chains continue
# from where the last step left them, 5% restart from uniform noise):
#
#     loss = E U(x⁺) − E U(x⁻) + α(E U(x⁺)² + E U(x⁻)²)
#
# (the L2 term pins the energies' level, which the first two terms leave free), with
# **spectral normalisation** on every layer so U stays Lipschitz (slope ≤ `scale`). The
# activation matters here: we first used Swish, whose slope at 0 is ½, so three normalised
# Swish layers left U far flatter than its bound, and the model barely beat a Gaussian
# (−3.11 vs −3.18 nats after 600 steps); with leaky ReLUs (slope 1 on the positive side)
# the same budget reached about −2.7 (the true density: −2.52).
#
# **MEG** (part 2: Kumar et al. 2019, "Maximum Entropy Generators for Energy-Based
# Models"): a generator G trained against U minimises E U(G(z)) − H[G(z)]; the entropy is
# replaced by the mutual information between z and G(z), bounded through an encoder E that
# must recover z: loss E U(G(z)) + λ·E‖z − E(G(z))‖². Without the entropy term G collapses
# to the lowest point of U. Its samples are then refined by MALA in the latent space on
# U(G(z)) + ½‖z‖².
#
# **What we run.** (1) MALA vs ULA on a 2-D target with a known density (three Gaussians
# of std 0.5 on a circle of radius 1.5): acceptance over step sizes, and the KL divergence
# on a grid from the exact density to each sampler's histogram, next to the same KL for
# exact draws of the same size (the floor a finite sample allows). (2) An energy model
# trained on samples of that same mixture (`tinygen.data.toys.mixture`), its density
# normalised on a grid so that held-out log-likelihood is exact, against a single Gaussian
# fitted to the training data and against the true density. (3) MEG against the learned U,
# with and without the entropy term, and latent MALA.
#
# **Sizes.** MLPs of width 64 (3 hidden layers for U, 2 for G and E); 20 Langevin steps of
# ε = 0.05 per training step, 1,000 training steps, batches of 128, α = 0.01, U = 10·f;
# MEG: 800 steps, λ = 5; latent MALA: 100 steps of ε = 0.2. The posts train on images for
# hours; on the plane a few minutes show the mechanism. `--quick`: fewer chains, steps and
# training steps (the energy model is then only checked to beat its untrained self). There
# are no published numbers on these toys.
#
# Exercise: mala_step (`tinygen exercise start mala_step`).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import lesson
from tinygen.data import toys
from tinygen.models import ebm
from tinygen.stochastic import samplers

args = lesson.parse("30_energy_sampling", "Langevin and MALA on a known density, an energy "
                    "model trained with Langevin negatives, MEG and latent MALA")
started = time.perf_counter()

# part 1: the known target
ANGLES = 2 * np.pi * np.arange(3) / 3
TARGET = toys.Modes(1.5 * np.stack([np.cos(ANGLES), np.sin(ANGLES)], 1), 0.5)
N_CHAINS = 1500 if args.quick else 4000
CHAIN_STEPS = 60 if args.quick else 200
MALA_STEP, ULA_SMALL, ULA_LARGE = 0.3, 0.02, 0.5
LIM, BINS = 3.5, 24
# part 2: the energy model
EBM = dict(width=64, depth=3, scale=10.0, alpha=0.01, step=0.05, langevin_steps=20,
           lr=2e-3, spectral=True, activation="leaky_relu")
EBM_STEPS = 150 if args.quick else 1000
BATCH = 128
# part 3: MEG
MEG_STEPS = 150 if args.quick else 800
MEG_LAMBDA = 5.0
LATENT_STEP, LATENT_CHAIN = 0.2, 30 if args.quick else 100

# %% [markdown]
# ## 1. MALA vs ULA on a density we know
#
# All chains start from N(0, 1.5²I) (not from the target) and run the same number of
# steps. The acceptance curve is measured on chains started at exact draws (one step each,
# so each chain's accept/reject is independent).

# %%
U_target = ebm.mixture_energy(TARGET.centres, TARGET.std)
log_p, _ = ebm.grid_log_density(lambda p: U_target(tg.tensor(p)).numpy(), LIM, BINS)
exact = toys.mixture(TARGET, N_CHAINS, args.seed)
start = tg.Generator(args.seed + 1).normal(N_CHAINS, 2, std=1.5)
t0 = time.perf_counter()
mala = samplers.mala(U_target, start, MALA_STEP, CHAIN_STEPS, tg.Generator(args.seed + 2))
ula_small = samplers.langevin(U_target, start, ULA_SMALL, CHAIN_STEPS, tg.Generator(args.seed + 3))
ula_large = samplers.langevin(U_target, start, ULA_LARGE, CHAIN_STEPS, tg.Generator(args.seed + 4))
sampled = {"exact draws": exact, f"MALA ε={MALA_STEP}": mala.x.numpy(),
           f"ULA ε={ULA_SMALL}": ula_small.numpy(), f"ULA ε={ULA_LARGE}": ula_large.numpy()}
kl = {name: ebm.grid_kl(x, log_p, LIM) for name, x in sampled.items()}
steps_grid = [0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2]
acceptance = []
for eps in steps_grid:
    _, accepted = samplers.mala_step(U_target, tg.tensor(exact), eps, tg.Generator(args.seed + 5))
    acceptance.append(float(accepted.numpy().mean()))
for name, value in kl.items():
    print(f"{name:<14} KL(p ‖ histogram) = {value:.4f}")
print(f"MALA's acceptance at ε = {MALA_STEP}: {mala.acceptance_rate:.3f}; "
      f"{time.perf_counter() - t0:.1f} s")

fig, axes = plt.subplots(1, 5, figsize=(21, 4.3))
centres = (np.linspace(-LIM, LIM, BINS + 1)[:-1] + np.linspace(-LIM, LIM, BINS + 1)[1:]) / 2
for ax, (name, x) in zip(axes, sampled.items()):
    ax.contour(centres, centres, np.exp(log_p).T, levels=6, colors="k", linewidths=0.6)
    ax.scatter(x[:1500, 0], x[:1500, 1], s=1.5, alpha=0.5)
    ax.set(xlim=(-LIM, LIM), ylim=(-LIM, LIM), aspect="equal", xticks=[], yticks=[])
    ax.set_title(f"{name}\nKL {kl[name]:.3f}", fontsize=10)
axes[-1].plot(steps_grid, acceptance, "o-")
axes[-1].axvline(MALA_STEP, color="gray", ls=":")
axes[-1].set(xscale="log", xlabel="step ε", ylabel="acceptance", ylim=(0, 1.02),
             title="MALA's acceptance vs its step")
fig.suptitle(f"{N_CHAINS} chains, {CHAIN_STEPS} steps from N(0, 1.5²I); contours: the exact "
             "density; KL on a 24×24 grid (exact draws: the finite-sample floor)")
fig.tight_layout()
lesson.save_figure(fig, args, "mala_vs_ula.png")
plt.close(fig)

# %% [markdown]
# ## 2. An energy model of the three Gaussians, trained with Langevin negatives
#
# Every step: 128 data points, 128 negatives (buffer → 20 ULA steps → back into the buffer),
# one Adam step (β₁ = 0, as Du & Mordatch). We measure the held-out log-likelihood every
# so often: on the plane Z is a sum over a 100 × 100 grid, so log p(x) = −U(x) − log Z is
# exact up to the grid, and comparable with a Gaussian's and with the true density's (the
# best any model can do on these points).

# %%
train_data = toys.mixture(TARGET, 5000, args.seed + 6)
test_data = toys.mixture(TARGET, 2000, args.seed + 7)
gaussian_ll = float(ebm.gaussian_log_density(train_data, test_data).mean())
_, log_z_true = ebm.grid_log_density(lambda p: U_target(tg.tensor(p)).numpy(), 4.0, 100)
true_ll = float(np.mean(-U_target(tg.tensor(test_data)).numpy() - log_z_true))
model = ebm.EnergyModel(**EBM, seed=args.seed)
data_stream = tg.Generator(args.seed + 8)


def held_out_ll(model: ebm.EnergyModel) -> float:
    _, log_z = ebm.grid_log_density(model.energy, 4.0, 100)
    return float(np.mean(-model.energy(test_data) - log_z))


untrained_ll = held_out_ll(model)
curve = [(0, untrained_ll)]
t0 = time.perf_counter()
for step in range(1, EBM_STEPS + 1):
    model.step(train_data[data_stream.integers(0, len(train_data), BATCH).numpy()])
    if step % max(1, EBM_STEPS // 6) == 0 or step == EBM_STEPS:
        curve.append((step, held_out_ll(model)))
        print(f"step {step:>5}: held-out log-likelihood {curve[-1][1]:.3f} nats "
              f"(Gaussian {gaussian_ll:.3f}, true density {true_ll:.3f}); "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
ebm_ll = curve[-1][1]

grid_x = np.linspace(-3.5, 3.5, 141)
plane = np.stack(np.meshgrid(grid_x, grid_x), -1).reshape(-1, 2)
U_plane = model.energy(plane).reshape(len(grid_x), -1)
chain_rng = tg.Generator(args.seed + 9)
model.eval()
chain = [model.uniform(6)]
for _ in range(200):
    chain.append(samplers.langevin_step(model, chain[-1], EBM["step"], chain_rng))
model.train()
chain = np.stack([c.numpy() for c in chain], 1)
buffer_points = model.buffer.sample(1000).numpy()

fig, axes = plt.subplots(1, 3, figsize=(17, 5))
for ax in axes[:2]:
    ax.contourf(grid_x, grid_x, U_plane, levels=30, cmap="viridis")
    ax.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), aspect="equal")
axes[0].scatter(test_data[:600, 0], test_data[:600, 1], s=2, color="w", alpha=0.6,
                label="data")
axes[0].scatter(buffer_points[:, 0], buffer_points[:, 1], s=2, color="tab:red", alpha=0.6,
                label="replay buffer")
axes[0].legend(fontsize=8, loc="lower left")
axes[0].set_title("energy U (dark: low), data and the replay buffer")
for c in chain:
    axes[1].plot(c[:, 0], c[:, 1], lw=0.8)
    axes[1].plot(c[0, 0], c[0, 1], "wo", ms=4)
axes[1].set_title(f"six Langevin chains, 200 steps of ε = {EBM['step']} from uniform noise")
steps_, lls = zip(*curve)
axes[2].plot(steps_, lls, "o-", label="energy model")
axes[2].axhline(gaussian_ll, color="k", ls="--", label="single Gaussian")
axes[2].axhline(true_ll, color="tab:green", ls=":", label="true density")
axes[2].set(xlabel="training step", ylabel="held-out log-likelihood (nats)",
            title="density of held-out points")
axes[2].legend()
fig.tight_layout()
lesson.save_figure(fig, args, "energy_model.png")
plt.close(fig)

# %% [markdown]
# ## 3. MEG: a generator against U, with and without the entropy term; latent MALA
#
# Both generators start from the same weights. We compare their samples with the energy
# model's own density p_U (normalised on the grid) by the grid KL, and run MALA on the
# latent energy U(G(z)) + ½‖z‖² from z ~ N(0, I). Note what latent MALA samples: z with
# density ∝ N(z)·exp(−U(G(z))), whose image under G has density ∝ p_G(x)·exp(−U(x)) — the
# generator's density sharpened by the energy, not p_U itself. It moves samples into the
# wells (their mean energy drops) but need not bring the histogram closer to p_U.

# %%
log_p_model, _ = ebm.grid_log_density(model.energy, LIM, BINS)
model.eval()  # U as a fixed, differentiable function of x (fixed spectral norms, no training)
model.requires_grad_(False)
energy_fn = model
megs, meg_kl = {}, {}
for lam in (0.0, MEG_LAMBDA):
    gen = ebm.EntropyGenerator(energy_fn, latent=2, width=64, lam=lam, lr=2e-3,
                               seed=args.seed)
    if lam == 0.0:
        meg_kl["untrained G"] = ebm.grid_kl(gen.sample(N_CHAINS), log_p_model, LIM)
    for _ in range(MEG_STEPS):
        gen.step(BATCH)
    megs[lam] = gen
    meg_kl[f"G, λ = {lam:g}"] = ebm.grid_kl(gen.sample(N_CHAINS), log_p_model, LIM)
gen = megs[MEG_LAMBDA]
latent = samplers.mala(gen.latent_energy, gen.noise(N_CHAINS), LATENT_STEP, LATENT_CHAIN,
                       tg.Generator(args.seed + 10))
with tg.no_grad():
    latent_x = gen.G(latent.x).numpy()
meg_kl[f"latent MALA, λ = {MEG_LAMBDA:g}"] = ebm.grid_kl(latent_x, log_p_model, LIM)
mean_energy = {"G": float(model.energy(gen.sample(N_CHAINS)).mean()),
               "latent MALA": float(model.energy(latent_x).mean()),
               "data": float(model.energy(test_data).mean())}
meg_kl["exact draws of p_U"] = ebm.grid_kl(
    ebm.grid_sample(log_p_model, LIM, N_CHAINS, np.random.default_rng(args.seed + 11)),
    log_p_model, LIM)
model.requires_grad_(True)
model.train()
for name, value in meg_kl.items():
    print(f"{name:<26} KL(p_U ‖ histogram) = {value:.3f}")
print(f"latent MALA's acceptance at ε = {LATENT_STEP}: {latent.acceptance_rate:.3f}; mean "
      "energy " + ", ".join(f"{k} {v:.3f}" for k, v in mean_energy.items()))

shown = {"G, λ = 0 (no entropy)": megs[0.0].sample(1500),
         f"G, λ = {MEG_LAMBDA:g}": gen.sample(1500), "latent MALA": latent_x[:1500]}
fig, axes = plt.subplots(1, 3, figsize=(15, 5))
for ax, (name, x) in zip(axes, shown.items()):
    ax.contourf(grid_x, grid_x, U_plane, levels=30, cmap="viridis")
    ax.scatter(x[:, 0], x[:, 1], s=2, color="tab:red", alpha=0.6)
    ax.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), aspect="equal", title=name)
fig.suptitle("MEG against the learned energy: samples over U")
fig.tight_layout(rect=(0, 0, 1, 0.95))
lesson.save_figure(fig, args, "meg.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers

# %%
elapsed = time.perf_counter() - started
metrics = {
    "chains": N_CHAINS, "chain_steps": CHAIN_STEPS, "mala_step": MALA_STEP,
    "ula_steps": [ULA_SMALL, ULA_LARGE],
    "kl_known_target": kl, "mala_acceptance": mala.acceptance_rate,
    "acceptance_vs_step": dict(zip(map(str, steps_grid), acceptance)),
    "ebm": {**EBM, "train_steps": EBM_STEPS, "held_out_ll": ebm_ll,
            "untrained_ll": untrained_ll, "gaussian_ll": gaussian_ll, "true_ll": true_ll,
            "curve": [list(c) for c in curve]},
    "meg": {"lambda": MEG_LAMBDA, "steps": MEG_STEPS, "kl_to_model": meg_kl,
            "latent_step": LATENT_STEP, "latent_acceptance": latent.acceptance_rate,
            "mean_energy": mean_energy},
    "seconds": round(elapsed, 1),
}
print(f"total {elapsed:.0f} s")


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """MALA accepts in a sensible band and matches the known density as closely as exact
    draws do; ULA with a large step is visibly biased; the energy model's density beats a
    single Gaussian (quick: its untrained self); MEG's entropy term spreads the generator."""
    kl, acc = m["kl_known_target"], m["mala_acceptance"]
    floor = kl["exact draws"]
    mala_kl = next(v for k, v in kl.items() if k.startswith("MALA"))
    large = kl[f"ULA ε={m['ula_steps'][1]}"]
    e = m["ebm"]
    baseline, name = ((e["untrained_ll"], "its untrained self") if quick
                      else (e["gaussian_ll"], "a single Gaussian"))
    meg = m["meg"]["kl_to_model"]
    collapsed = next(v for k, v in meg.items() if k.startswith("G, λ = 0"))
    spread = next(v for k, v in meg.items() if k.startswith("G, λ =") and "= 0" not in k)
    return [
        (0.5 <= acc <= 0.95, f"MALA's acceptance {acc:.3f} at ε = {m['mala_step']} is in "
         "[0.5, 0.95]"),
        (mala_kl < 1.5 * floor + 0.01, f"MALA matches the known density: grid KL "
         f"{mala_kl:.4f} < 1.5 × exact draws' {floor:.4f} + 0.01"),
        (large > 2.0 * mala_kl, f"ULA with ε = {m['ula_steps'][1]} is biased: KL {large:.4f} "
         f"> 2 × MALA's {mala_kl:.4f}"),
        (e["held_out_ll"] > baseline + 0.05, f"the energy model's held-out log-likelihood "
         f"{e['held_out_ll']:.3f} beats {name} ({baseline:.3f}) by > 0.05 nats"),
        (spread < collapsed, f"MEG: the entropy term spreads G (KL to p_U {spread:.3f} < "
         f"{collapsed:.3f} without it)"),
    ]


lesson.finish(metrics, args, checks)
