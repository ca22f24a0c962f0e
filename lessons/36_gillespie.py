# %% [markdown]
# # Lesson 36: Gillespie's stochastic simulation — exact trajectories of a chemical system
#
# A well-stirred cell holds whole numbers of molecules, and reactions fire at random. With
# counts x, reaction r fires in the next dt with probability a_r(x)·dt, where under mass
# action (the Gillespie post)
#
#     a_r(x) = k_r ∏_s C(x_s, ν_rs)        (ν_rs reactant counts; C the binomial coefficient)
#
# The **direct method** simulates this chain exactly: with a₀ = Σ_r a_r, the time to the next
# reaction is exponential with rate a₀, τ = −ln(u₁)/a₀, and it is reaction r with
# probability a_r/a₀ (the first r with Σ_{j≤r} a_j > u₂·a₀). Then x moves by r's row of the
# stoichiometry matrix, and again.
#
# The post's example is a gene: mRNA m is made at rate 20, each m makes protein n at rate
# 2.5, and both decay at rate 1:
#
#     ∅ → m (20),   m → m + n (2.5),   m → ∅ (1),   n → ∅ (1)
#
# Every reaction is at most first order, so the means obey the rate equations exactly: from
# m = n = 0, E m(t) = 20(1 − e^{−t}) and E n(t) = 50(1 − e^{−t} − t·e^{−t}); at stationarity
# m is Poisson(20).
#
# **Two things to get right.** 1. Output on a time grid: the state *at* each grid time (the
# state after every event up to it), not one row per event. 2. Histograms weigh time. The
# post histograms the state at every event, but the chain leaves state x at rate a₀(x), so
# busy states (here: large m, which raises a₀ = 20 + 3.5m + n) are over-counted; weighing
# each state by the time spent in it gives the true distribution.
#
# **What we do.** Simulate many trajectories in the Numba kernel (one counter-based random
# stream per trajectory, the same numbers as the pure-Python twin), compare the means and the
# Poisson variance with the exact values (the DSMTS Z and Y scores), and compare the
# time-weighted and the event-counted histograms of m on one long trajectory with Poisson(20).
#
# Run it with `python lessons/36_gillespie.py [--quick] [--out DIR]`.

# %%
import math
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from tinygen import lesson
from tinygen.stochastic import ssa

args = lesson.parse("36_gillespie", "Gillespie's direct method on the post's gene network")
started = time.perf_counter()

TRAJECTORIES = 4_000 if args.quick else 40_000
T_LONG = 1_000.0 if args.quick else 10_000.0  # the long trajectory for the histograms
gene = ssa.ReactionNetwork.build(
    {"m": 0, "n": 0},
    [({}, {"m": 1}, 20.0), ({"m": 1}, {"m": 1, "n": 1}, 2.5), ({"m": 1}, {}, 1.0),
     ({"n": 1}, {}, 1.0)])
print("stoichiometry (rows: reactions, columns: m, n):", gene.stoichiometry.tolist())

# %% [markdown]
# ## 1. Many trajectories on a grid, against the exact means
#
# The kernel runs trajectory i with the random stream of (seed, i); the twin, run on the same
# (seed, i), must give the same grid states. The scores are the DSMTS ones, with n runs:
# Z = √n (X̄ − μ)/σ within ±3 for the means, Y = √(n/2)(S²/σ² − 1) within ±5 for the variance
# of m (Poisson: σ² = μ). For n the exact σ is not in closed form here, so its Z uses the
# sample SD.

# %%
grid = np.linspace(0.0, 10.0, 41)
t0 = time.perf_counter()
X = ssa.simulate_many(gene, grid, TRAJECTORIES, seed=args.seed)
kernel_seconds = time.perf_counter() - t0
twin_equal = all(np.array_equal(X[i], ssa.simulate(gene, grid, args.seed, trajectory=i))
                 for i in range(3))
mean_m = 20 * (1 - np.exp(-grid))
mean_n = 50 * (1 - np.exp(-grid) - grid * np.exp(-grid))
live = grid > 0
z_m, y_m = ssa.moment_scores(X[:, live, 0], mean_m[live], np.sqrt(mean_m[live]))
z_n, _ = ssa.moment_scores(X[:, live, 1], mean_n[live], X[:, live, 1].std(0, ddof=1))
print(f"{TRAJECTORIES:,} trajectories to t = 10 in {kernel_seconds:.2f} s; the first three "
      f"equal the twin's: {twin_equal}")
print(f"max |Z| of m: {np.abs(z_m).max():.2f}, of n: {np.abs(z_n).max():.2f};  "
      f"max |Y| of m: {np.abs(y_m).max():.2f}")

# %% [markdown]
# ## 2. Histograms: time-weighted against event-counted
#
# One long trajectory from the stationary mean. `time_weighted_histogram` weighs each visited
# state by how long it lasted; the post's histogram counts one per event.

# %%
times, states = ssa.path(gene, T_LONG, seed=args.seed, trajectory=10**6)
by_time = ssa.time_weighted_histogram(times, states, T_LONG, species=0)
by_events = np.bincount(states[:, 0]) / len(states)
K = max(len(by_time), len(by_events), 45)
by_time = np.pad(by_time, (0, K - len(by_time)))
by_events = np.pad(by_events, (0, K - len(by_events)))
counts = np.arange(K)
poisson = np.exp(-20 + counts * math.log(20) - np.array([math.lgamma(c + 1) for c in counts]))
tv_time = 0.5 * float(np.abs(by_time - poisson).sum())
tv_events = 0.5 * float(np.abs(by_events - poisson).sum())
mean_time, mean_events = float(by_time @ counts), float(by_events @ counts)
print(f"{len(times) - 1:,} events on [0, {T_LONG:g}]: mean of m by time {mean_time:.2f}, by "
      f"events {mean_events:.2f} (exact 20); distance to Poisson(20): by time {tv_time:.3f}, "
      f"by events {tv_events:.3f}")

# %% [markdown]
# ## Figures
#
# Left: twenty trajectories of m and n sampled on the grid, with the exact means. Right: the
# distribution of m on the long trajectory, weighed by time (it sits on Poisson(20)) and by
# events (shifted to larger m, where reactions are more frequent).

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
for i in range(20):
    ax1.step(grid, X[i, :, 0], where="post", color="tab:blue", alpha=0.25, lw=0.8)
    ax1.step(grid, X[i, :, 1], where="post", color="tab:orange", alpha=0.25, lw=0.8)
ax1.plot(grid, mean_m, "b", lw=2, label="E m(t) = 20(1 − e⁻ᵗ)")
ax1.plot(grid, mean_n, color="darkorange", lw=2, label="E n(t) = 50(1 − e⁻ᵗ − t·e⁻ᵗ)")
ax1.set(xlabel="t", ylabel="molecules", title="trajectories on the grid and the exact means")
ax1.legend(fontsize=8)
ax2.bar(counts - 0.2, by_time, width=0.4, label=f"time-weighted (TV {tv_time:.3f})")
ax2.bar(counts + 0.2, by_events, width=0.4, label=f"event-counted (TV {tv_events:.3f})")
ax2.plot(counts, poisson, "k.-", label="Poisson(20)")
ax2.set(xlim=(0, 44), xlabel="m", ylabel="probability", title="stationary distribution of m")
ax2.legend(fontsize=8)
fig.tight_layout()
lesson.save_figure(fig, args, "gillespie.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# The kernel's trajectories are the twin's, the means and the Poisson variance pass the
# DSMTS scores at every grid time, the time-weighted histogram sits on Poisson(20), and the
# event-counted one is shifted up by about 0.7 molecules (events happen more often when m is
# large). The checks compare these in the same run.

# %%
metrics = {"trajectories": TRAJECTORIES, "kernel_seconds": round(kernel_seconds, 2),
           "twin_equal": twin_equal,
           "scores": {"max_abs_z_m": float(np.abs(z_m).max()),
                      "max_abs_z_n": float(np.abs(z_n).max()),
                      "max_abs_y_m": float(np.abs(y_m).max())},
           "histogram": {"t_end": T_LONG, "events": len(times) - 1, "tv_time": tv_time,
                         "tv_events": tv_events, "mean_time": mean_time,
                         "mean_events": mean_events},
           "seconds": round(time.perf_counter() - started, 1)}


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """(passed, message) for each check on the metrics of one run."""
    s, h = m["scores"], m["histogram"]
    tv = 0.08 if quick else 0.03
    return [
        (m["twin_equal"], "the kernel's first trajectories equal the pure-Python twin's"),
        (s["max_abs_z_m"] < 3 and s["max_abs_z_n"] < 3,
         f"means: max |Z| {s['max_abs_z_m']:.2f} (m), {s['max_abs_z_n']:.2f} (n) below 3"),
        (s["max_abs_y_m"] < 5, f"Poisson variance of m: max |Y| {s['max_abs_y_m']:.2f} below 5"),
        (h["tv_time"] < tv, f"time-weighted histogram within TV {tv} of Poisson(20) "
                            f"({h['tv_time']:.3f})"),
        (h["mean_events"] - h["mean_time"] > 0.3,
         f"event counting shifts the mean up ({h['mean_events']:.2f} vs {h['mean_time']:.2f})"),
    ]


print(f"{time.perf_counter() - started:.1f} s")
lesson.finish(metrics, args, checks)
