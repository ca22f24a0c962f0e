# %% [markdown]
# # Lesson 29: GAN dynamics — why the optimiser decides whether a GAN converges
#
# The "three stages" post sorts one's understanding of GANs into samples (a forger and a
# judge), distributions (divergences, WGAN, f-GAN) and finally **dynamics**: a GAN is two
# players taking gradient steps at the same time, and whether they reach the equilibrium the
# theory promises depends on *how* they step — simultaneously or in turns, with which
# optimiser, with which regulariser. This lesson makes that stage concrete.
#
# **The game field.** The critic (parameters θ) minimises L_D, the generator (ψ) minimises
# L_G. Gradient descent follows the field v(w) = (∇_θ L_D, ∇_ψ L_G), w = (θ, ψ). Near an
# equilibrium w* (v = 0) the deviation evolves linearly with the Jacobian J = ∂v/∂w(w*):
#
#     flow  ẇ = −v(w):                    stable  iff  every eigenvalue of J has Re λ > 0
#     simultaneous steps w ← w − h·v(w):  multiplies by I − hJ: stable iff |1 − hλ| < 1
#
# A game's J has an antisymmetric part (what helps one player hurts the other), and purely
# imaginary eigenvalues make |1 − hλ| = √(1 + h²|λ|²) > 1: **simultaneous gradient descent
# spirals outwards at every step size.**
#
# **The Dirac-GAN** (Mescheder, Geiger & Nowozin 2018, "Which training methods for GANs do
# actually converge?"): the data is one point, δ₀; the generator is δ_ψ (its one sample is
# ψ); the critic is D(x) = θx. With f(t) = −log(1 + e^{−t}) (the GAN loss)
#
#     L_D = −f(θψ) + (γ/2)θ²          L_G = f(θψ)          (equilibrium: θ = ψ = 0)
#
# where (γ/2)θ² is the zero-centred gradient penalty (γ/2)E_p‖∇ₓD‖² of the energy view
# (lesson 11; Mescheder et al. call it R1). At the equilibrium
#
#     J = [[γ, −f'(0)], [f'(0), 0]],  f'(0) = ½,
#     eigenvalues ±i/2 (γ = 0),  (γ ± √(γ² − 1))/2 (γ > 0).
#
# Without the penalty: pure rotation. With it: every Re λ > 0, and small steps converge.
# `tinygen.models.gan_dynamics` computes J by differentiating the field, itself a gradient,
# with `tinygen.grad` (second order), so the same code gives J for any game; the update
# matrices of simultaneous and alternating steps, extragradient, heavy-ball momentum and
# consensus optimisation (Mescheder et al. 2017: each player also descends γ·½‖v‖², which
# needs a third derivative for its Jacobian) follow from J.
#
# **What we run.** The Dirac-GAN from (θ, ψ) = (1, 1) under SGD (simultaneous, alternating,
# with momentum 0.5), SGD with the penalty γ = 1, extragradient, consensus, and Adam with
# β₁ = 0.5 and β₁ = 0 (with and without the penalty): phase portraits over the field, the
# distance to the equilibrium over time, the eigenvalues. Then a small SGAN (two MLPs of
# width 32) on a 4-Gaussian mixture under the same choices, measured by the MMD between its
# samples and the data. Lesson 10 found that WGAN-GP on the toy grid only worked with Adam
# β₁ = 0 (no momentum); here that finding gets its mechanism.
#
# **Sizes.** The Dirac runs are 600 steps at h = 0.1 (Mescheder et al. draw the same
# portraits); the mixture runs 1,200 steps each (batches of 128). `--quick`: 300 Dirac
# steps and 80 mixture steps.
#
# Exercise: dirac_gan_jacobian (`tinygen exercise start dirac_gan_jacobian`).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from tinygen import lesson
from tinygen.data import toys
from tinygen.models import gan_dynamics as gd

args = lesson.parse("29_gan_dynamics", "Dirac-GAN and a 2-D mixture GAN under simultaneous "
                    "and alternating steps, SGD, momentum, Adam, the zero-centred penalty, "
                    "extragradient and consensus; the Jacobian's eigenvalues explain them")
started = time.perf_counter()

LR = 0.1               # SGD's step on the Dirac-GAN
ADAM_LR = 0.1          # Adam's (its steps have size ≈ lr whatever the gradient's scale)
STEPS = 300 if args.quick else 600
GAMMA = 1.0            # the zero-centred penalty's weight
CONSENSUS = 0.5
START = (1.0, 1.0)
RUNS = {  # name: (gamma, play() settings)
    "SGD simultaneous": (0.0, dict(mode="simultaneous")),
    "SGD alternating": (0.0, dict(mode="alternating")),
    "momentum 0.5": (0.0, dict(mode="simultaneous", momentum=0.5)),
    "SGD + penalty": (GAMMA, dict(mode="simultaneous")),
    "extragradient": (0.0, dict(mode="extragradient")),
    "consensus": (0.0, dict(mode="simultaneous", consensus=CONSENSUS)),
    "Adam β₁=0.5": (0.0, dict(mode="alternating", optimizer="adam", betas=(0.5, 0.999))),
    "Adam β₁=0": (0.0, dict(mode="alternating", optimizer="adam", betas=(0.0, 0.999))),
    "Adam β₁=0.5 + penalty": (GAMMA, dict(mode="alternating", optimizer="adam",
                                          betas=(0.5, 0.999))),
    "Adam β₁=0 + penalty": (GAMMA, dict(mode="alternating", optimizer="adam",
                                        betas=(0.0, 0.999))),
}

# %% [markdown]
# ## The Jacobian at the equilibrium, and what it predicts
#
# J at (0, 0) by two backward passes, for the plain game, with the penalty, and with the
# consensus term. Each update rule that is linear near the equilibrium multiplies the
# deviation by a matrix built from J (`gd.linear_update`); its spectral radius ρ predicts:
# ρ > 1 diverges, ρ < 1 converges, ρ = 1 circles for ever. We test each prediction on a run
# started close to the equilibrium, at (10⁻⁶, 10⁻⁶), where the game stays linear for all
# the steps: its measured
# factor per step, (‖w_T‖/‖w_0‖)^(1/T), should be ρ.

# %%
jacobians = {"plain": gd.game_jacobian(gd.DiracGAN(0.0, 0.0)),
             "penalty": gd.game_jacobian(gd.DiracGAN(0.0, 0.0, gamma=GAMMA)),
             "consensus": gd.game_jacobian(gd.DiracGAN(0.0, 0.0), consensus=CONSENSUS)}
for name, J in jacobians.items():
    print(f"J ({name}) = {J.round(4).tolist()}, eigenvalues "
          f"{np.round(np.linalg.eigvals(J), 4).tolist()}")

PREDICTED = {  # run name: (Jacobian, linear_update settings)
    "SGD simultaneous": ("plain", dict(mode="simultaneous")),
    "SGD alternating": ("plain", dict(mode="alternating", n_critic=1)),
    "momentum 0.5": ("plain", dict(mode="simultaneous", momentum=0.5)),
    "SGD + penalty": ("penalty", dict(mode="simultaneous")),
    "extragradient": ("plain", dict(mode="extragradient")),
    "consensus": ("consensus", dict(mode="simultaneous")),
}
linear = {}
for name, (which, settings) in PREDICTED.items():
    M = gd.linear_update(jacobians[which], LR, **settings)
    gamma, play_settings = RUNS[name]
    near = gd.play(gd.DiracGAN(1e-6, 1e-6, gamma=gamma), STEPS, LR, **play_settings)
    linear[name] = {"rho": gd.spectral_radius(M), "measured_rate": gd.rate(near),
                    "eigenvalues": np.linalg.eigvals(M)}
    print(f"{name:<18} ρ = {linear[name]['rho']:.5f}   measured factor per step near the "
          f"equilibrium {linear[name]['measured_rate']:.5f}")

# %% [markdown]
# ## Phase portraits: the trajectories over the field
#
# Grey streamlines: the direction −v(θ, ψ) of the flow (drawn from one backward pass over a
# grid: arrays of θ and ψ are independent copies of the game). Coloured: the trajectory from
# (1, 1); the star is the equilibrium. Simultaneous SGD spirals out, alternating SGD circles
# (its update matrix has determinant 1 and eigenvalues on the unit circle), momentum spirals
# out faster, and the penalty, extragradient and consensus all spiral in. Adam is not linear
# near the equilibrium (it divides by the gradient's running scale), so it has no ρ; with
# β₁ = 0.5 its momentum drags it outwards, with β₁ = 0 it creeps inwards.

# %%
paths = {}
for name, (gamma, settings) in RUNS.items():
    lr = ADAM_LR if settings.get("optimizer") == "adam" else LR
    paths[name] = gd.play(gd.DiracGAN(*START, gamma=gamma), STEPS, lr, **settings)

grid = np.linspace(-2.5, 2.5, 25)
T, P = np.meshgrid(grid, grid)
fields = {}
for gamma, consensus in {(g, s.get("consensus", 0.0)) for g, s in RUNS.values()}:
    v = gd.game_field(gd.DiracGAN(T, P, gamma=gamma), consensus)
    fields[gamma, consensus] = (-v[0].numpy(), -v[1].numpy())

fig, axes = plt.subplots(2, 5, figsize=(20, 9.4))
for ax, (name, path) in zip(axes.ravel(), paths.items()):
    gamma, settings = RUNS[name]
    u, w = fields[gamma, settings.get("consensus", 0.0)]
    ax.streamplot(T, P, u, w, color="0.75", density=0.9, linewidth=0.7)
    shown = path[np.all(np.abs(path) < 2.5, axis=1)]
    ax.plot(shown[:, 0], shown[:, 1], color="tab:red", lw=1)
    ax.plot(*START, "o", color="tab:red")
    ax.plot(0, 0, "*", color="k", ms=12)
    end = gd.distance(path)[-1]
    ax.set(xlim=(-2.5, 2.5), ylim=(-2.5, 2.5), aspect="equal", xlabel="θ (critic)",
           ylabel="ψ (generator)")
    extra = f", ρ = {linear[name]['rho']:.4f}" if name in linear else ""
    ax.set_title(f"{name}\n‖w_T‖ = {end:.3g}{extra}", fontsize=9)
fig.suptitle(f"Dirac-GAN: {STEPS} steps from (1, 1); grey: the flow −v; SGD h = {LR}, "
             f"Adam lr = {ADAM_LR}, penalty γ = {GAMMA}, consensus γ = {CONSENSUS}")
fig.tight_layout(h_pad=2.5)
lesson.save_figure(fig, args, "phase_portraits.png")
plt.close(fig)

# %% [markdown]
# ## Distance to the equilibrium, and the eigenvalues behind it
#
# Left: ‖(θ, ψ)‖ over the steps (log scale). Right: the eigenvalues of each update matrix in
# the complex plane with the unit circle: outside it, the deviation grows by |λ| per step.
# Simultaneous SGD's pair sits just outside (|1 ± ih/2| = √(1 + h²/4)), momentum's further
# out, alternating SGD's on the circle, the penalty's, extragradient's and consensus's inside.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 5.5))
colors = dict(zip(RUNS, plt.cm.tab10(np.arange(len(RUNS)))))
for name, path in paths.items():
    d = gd.distance(path)
    ax1.semilogy(np.arange(len(d)), np.maximum(d, 1e-300), color=colors[name], label=name,
                 ls="--" if "Adam" in name else "-")
ax1.set(xlabel="step", ylabel="‖w − w*‖", title="distance to the equilibrium",
        ylim=(1e-12, 1e2))
ax1.legend(fontsize=8)
circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
ax2.plot(circle.real, circle.imag, "k", lw=0.8)
for name, r in linear.items():
    ev = r["eigenvalues"]
    ax2.scatter(ev.real, ev.imag, color=colors[name], label=f"{name} (ρ = {r['rho']:.4f})",
                s=30)
ax2.set(xlim=(0.75, 1.1), ylim=(-0.2, 0.2), xlabel="Re", ylabel="Im",
        title="eigenvalues of the update matrices (zoom near 1)")
ax2.legend(fontsize=8)
fig.tight_layout()
lesson.save_figure(fig, args, "distance_eigenvalues.png")
plt.close(fig)

# %% [markdown]
# ## The same choices on a real (small) GAN
#
# Two MLPs (2 hidden layers of width 32), the non-saturating SGAN loss, four Gaussians on the
# unit circle (std 0.08), fresh batches of 128. There is no equilibrium to measure against,
# so we measure the maximum mean discrepancy (Gaussian kernels at three scales) between
# 500 samples of G (fixed z) and 500 data points, every few steps. In a full run the two
# plain SGD games end collapsed on one mode with their MMD climbing again (1.13 and 1.55
# after 1,200 steps, from 0.2–0.5 on the way), as the rotation predicts; the same SGD with
# the penalty ends at 0.083, covering all four modes; the three Adams end near 0.08–0.10.

# %%
MIXTURE = toys.Modes(np.stack([np.cos(np.arange(4) * np.pi / 2),
                               np.sin(np.arange(4) * np.pi / 2)], 1), 0.08)
MIX_STEPS = 80 if args.quick else 1200
MIX_SGD_LR, MIX_ADAM_LR = 0.1, 2e-3
MIX_RUNS = {
    "SGD simultaneous": (0.0, dict(mode="simultaneous", lr=MIX_SGD_LR)),
    "SGD alternating": (0.0, dict(mode="alternating", lr=MIX_SGD_LR)),
    "SGD simultaneous + penalty": (GAMMA, dict(mode="simultaneous", lr=MIX_SGD_LR)),
    "Adam β₁=0.5": (0.0, dict(mode="alternating", optimizer="adam", lr=MIX_ADAM_LR,
                              betas=(0.5, 0.999))),
    "Adam β₁=0": (0.0, dict(mode="alternating", optimizer="adam", lr=MIX_ADAM_LR,
                            betas=(0.0, 0.999))),
    "Adam β₁=0.5 + penalty": (GAMMA, dict(mode="alternating", optimizer="adam",
                                          lr=MIX_ADAM_LR, betas=(0.5, 0.999))),
}
z_eval = np.random.default_rng(args.seed + 1).standard_normal((500, 2)).astype(np.float32)
real_eval = toys.mixture(MIXTURE, 500, args.seed + 2)
mixture = {}
for name, (gamma, settings) in MIX_RUNS.items():
    t0 = time.perf_counter()
    game = gd.MixtureGAN(lambda n, g: toys.mixture(MIXTURE, n, g), gamma=gamma, seed=args.seed)
    curve = []
    gd.play(game, MIX_STEPS, every=MIX_STEPS // 10,
            on_record=lambda t, game=game, curve=curve: curve.append(
                (t, gd.mmd2(game.sample(z_eval), real_eval))), **settings)
    mixture[name] = {"curve": curve, "samples": game.sample(z_eval),
                     "final_mmd2": float(np.mean([c[1] for c in curve[-3:]]))}
    print(f"{name:<28} MMD² {curve[0][1]:.3f} → {curve[-1][1]:.3f} "
          f"(mean of the last 3 records {mixture[name]['final_mmd2']:.3f}); "
          f"{time.perf_counter() - t0:.1f} s", flush=True)

mix_colors = dict(zip(MIX_RUNS, plt.cm.tab10(np.arange(len(MIX_RUNS)))))
fig, axes = plt.subplots(1, len(MIX_RUNS) + 1, figsize=(4 * (len(MIX_RUNS) + 1), 4.2))
for ax, (name, r) in zip(axes, mixture.items()):
    ax.scatter(real_eval[:, 0], real_eval[:, 1], s=2, color="k", alpha=0.4)
    ax.scatter(r["samples"][:, 0], r["samples"][:, 1], s=2, color=mix_colors[name])
    ax.set(xlim=(-2, 2), ylim=(-2, 2), aspect="equal", xticks=[], yticks=[])
    ax.set_title(f"{name}\nMMD² {r['final_mmd2']:.3f}", fontsize=9)
for name, r in mixture.items():
    t, m = zip(*r["curve"])
    axes[-1].semilogy(t, m, "o-", label=name, ms=3, color=mix_colors[name])
axes[-1].set(xlabel="step", title="MMD² to the data")
axes[-1].legend(fontsize=7)
fig.suptitle(f"SGAN on 4 Gaussians, {MIX_STEPS} steps (black: data, colour: G(z))")
fig.tight_layout()
lesson.save_figure(fig, args, "mixture.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers, and lesson 10
#
# The Jacobian's eigenvalues predict each SGD variant to several digits (the table above).
# Adam has no such prediction, but the phase portrait shows the mechanism behind lesson 10:
# momentum keeps pushing a player along the direction it was going, and in a rotating field
# that direction is tangential, so β₁ = 0.5 spirals out where β₁ = 0 creeps in. WGAN-GP's
# critic has no zero-centred penalty at the data to damp the rotation (its penalty is
# two-sided, at interpolates), so on the toy grid it needed β₁ = 0; with the penalty both
# Adams converge.

# %%
elapsed = time.perf_counter() - started
dirac = {name: {"start_distance": float(gd.distance(p)[0]),
                "final_distance": float(gd.distance(p)[-1]), "steps": len(p) - 1}
         for name, p in paths.items()}
metrics = {
    "lr": LR, "adam_lr": ADAM_LR, "steps": STEPS, "gamma": GAMMA, "consensus": CONSENSUS,
    "jacobian_eigenvalues": {k: {"real": np.linalg.eigvals(J).real.tolist(),
                                 "imag": np.linalg.eigvals(J).imag.tolist()}
                             for k, J in jacobians.items()},
    "linear": {k: {"rho": r["rho"], "measured_rate": r["measured_rate"]}
               for k, r in linear.items()},
    "dirac": dirac,
    "mixture": {k: {"final_mmd2": r["final_mmd2"], "initial_mmd2": r["curve"][0][1]}
                for k, r in mixture.items()},
    "mixture_steps": MIX_STEPS,
    "seconds": round(elapsed, 1),
}
print(f"total {elapsed:.0f} s")


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """Simultaneous SGD diverges and the penalty makes it converge (measured), the Jacobian's
    eigenvalues predict both (sign of Re λ, spectral radius vs the measured rate near the
    equilibrium), the penalty helps the mixture GAN too, and without the penalty Adam with
    β₁ = 0 ends closer than with β₁ = 0.5."""
    d, lin, eig = m["dirac"], m["linear"], m["jacobian_eigenvalues"]
    sim, pen = d["SGD simultaneous"], d["SGD + penalty"]
    results = [
        (sim["final_distance"] > 1.2 * sim["start_distance"],
         f"simultaneous SGD diverges: ‖w‖ {sim['start_distance']:.3f} → "
         f"{sim['final_distance']:.3f} (> 1.2×)"),
        (pen["final_distance"] < 1e-3 * pen["start_distance"],
         f"with the penalty it converges: ‖w‖ {pen['start_distance']:.3f} → "
         f"{pen['final_distance']:.2e} (< 10⁻³×)"),
        (max(abs(x) for x in eig["plain"]["real"]) < 1e-9
         and min(eig["penalty"]["real"]) > 0,
         f"J's eigenvalues: Re λ = {eig['plain']['real']} without the penalty (rotation), "
         f"{eig['penalty']['real']} with it (> 0: attracting)"),
        (lin["SGD simultaneous"]["rho"] > 1 > lin["SGD + penalty"]["rho"],
         f"spectral radius of I − hJ: {lin['SGD simultaneous']['rho']:.5f} > 1 without the "
         f"penalty, {lin['SGD + penalty']['rho']:.5f} < 1 with it"),
    ]
    for name, r in lin.items():
        results.append((abs(r["measured_rate"] - r["rho"]) < 2e-3,
                        f"{name}: measured factor per step near the equilibrium "
                        f"{r['measured_rate']:.5f} is ρ = {r['rho']:.5f} (± 0.002)"))
    mix = m["mixture"]
    plain, damped = (mix[k]["final_mmd2"] for k in ("SGD simultaneous",
                                                     "SGD simultaneous + penalty"))
    results.append((damped < 0.8 * plain, f"mixture GAN, simultaneous SGD: MMD² to the data "
                    f"{damped:.3f} with the penalty < 0.8 × {plain:.3f} without"))
    a5, a0 = d["Adam β₁=0.5"]["final_distance"], d["Adam β₁=0"]["final_distance"]
    results.append((a0 < a5, f"Adam without the penalty: β₁ = 0 ends closer ({a0:.3f}) than "
                    f"β₁ = 0.5 ({a5:.3f})"))
    return results


lesson.finish(metrics, args, checks)
