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
# Then three classic systems — immigration–death against its exact Poisson stationary law
# (a chi-square test), the Schlögl model's two stable states, Lotka–Volterra's noise-driven
# cycles — and the Discrete Stochastic Models Test Suite (DSMTS), the standard validation of
# a stochastic simulator, with a deliberately wrong model run beside it to show the test
# would notice.
#
# **Sizes.** The full run simulates 40,000 gene trajectories, 4,000 Schlögl trajectories and
# the whole DSMTS at its prescribed 10,000 runs a case; `--quick` (for the tests) uses 4,000
# and 600 trajectories and four DSMTS cases at 2,000 runs.
#
# Run it with `python lessons/36_gillespie.py [--quick] [--out DIR]`.

# %%
import dataclasses
import math
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from scipy import stats

from tinygen import lesson
from tinygen.stochastic import dsmts, ssa

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
# ## 3. Immigration–death against its exact stationary law
#
# ∅ → X at rate λ = 10, X → ∅ at rate μ = 1 per molecule. The stationary law is Poisson(λ/μ)
# exactly (detailed balance: π(x)·λ = π(x + 1)·μ(x + 1)). From X = 0, after t = 20 (twenty
# relaxation times 1/μ) the trajectories are independent draws from it, so a **chi-square
# test** applies: bins with at least 5 expected counts, p = P(χ² ≥ observed). Beside it, the
# same samples against a slightly wrong law, Poisson(10.5), show the test's power.

# %%
birth_death = ssa.ReactionNetwork.build({"X": 0}, [({}, {"X": 1}, 10.0), ({"X": 1}, {}, 1.0)])
BD_RUNS = 5_000 if args.quick else 50_000
bd = ssa.simulate_many(birth_death, [0.0, 20.0], BD_RUNS, seed=args.seed + 1)[:, -1, 0]


def chi_square_poisson(samples: np.ndarray, rate: float) -> tuple[float, float, int]:
    """(χ², p, degrees of freedom) of ``samples`` against Poisson(rate), bins merged so that
    every expected count is at least 5 (the two tails become one bin each)."""
    n = len(samples)
    top = int(max(samples.max(), rate * 3)) + 1
    pmf = stats.poisson.pmf(np.arange(top), rate)
    pmf[-1] += stats.poisson.sf(top - 1, rate)  # the last bin holds the whole upper tail
    observed = np.bincount(np.minimum(samples, top - 1), minlength=top).astype(float)
    edges, acc = [0], 0.0
    for i in range(top):  # cut bins where the expected count has reached 5
        acc += pmf[i] * n
        if acc >= 5 and (pmf[i + 1:].sum() * n >= 5):
            edges.append(i + 1)
            acc = 0.0
    edges.append(top)
    exp_b = np.array([pmf[a:b].sum() * n for a, b in zip(edges[:-1], edges[1:])])
    obs_b = np.array([observed[a:b].sum() for a, b in zip(edges[:-1], edges[1:])])
    chi2 = float(((obs_b - exp_b) ** 2 / exp_b).sum())
    dof = len(exp_b) - 1
    return chi2, float(stats.chi2.sf(chi2, dof)), dof


chi2_true, p_true, dof_true = chi_square_poisson(bd, 10.0)
chi2_wrong, p_wrong, _ = chi_square_poisson(bd, 10.5)
print(f"immigration–death, {BD_RUNS:,} runs at t = 20: mean {bd.mean():.3f}, variance "
      f"{bd.var():.3f} (Poisson(10): both 10); chi-square vs Poisson(10) {chi2_true:.1f} on "
      f"{dof_true} dof, p = {p_true:.3f}; vs Poisson(10.5) p = {p_wrong:.1e}")

# %% [markdown]
# ## 4. The Schlögl model: one system, two stable states
#
# A + 2X ⇌ 3X and B ⇌ X with A and B held fixed (folded into the rates): with
# k₁ = 0.03 (on C(x, 2)), k₂ = 10⁻⁴ (on C(x, 3)), 200 and 3.5 per molecule, the rate
# equation dx/dt = k₁x(x−1)/2 − k₂x(x−1)(x−2)/6 + 200 − 3.5x has stable fixed points near 85
# and 565 and an unstable one near 250. Started at 250, the ODE goes to one of them; the
# stochastic trajectories split between both. The stationary law of this one-species
# birth–death chain is known exactly, π(x + 1)/π(x) = b(x)/d(x + 1) (births b, deaths d):
# bimodal, with peaks where the ODE has its stable points. (Which peak a trajectory picks
# reflects the start: switching between them takes far longer than we simulate.)

# %%
schlogl = ssa.ReactionNetwork.build(
    {"X": 250}, [({"X": 2}, {"X": 3}, 0.03), ({"X": 3}, {"X": 2}, 1e-4), ({}, {"X": 1}, 200.0),
                 ({"X": 1}, {}, 3.5)])
SCHLOGL_RUNS = 600 if args.quick else 4_000
sch_grid = np.linspace(0.0, 5.0, 51)
sch = ssa.simulate_many(schlogl, sch_grid, SCHLOGL_RUNS, seed=args.seed + 2)[:, :, 0]


def schlogl_rates(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Birth and death propensities of the Schlögl chain at counts x."""
    births = 0.03 * x * (x - 1) / 2 + 200.0
    deaths = 1e-4 * x * (x - 1) * (x - 2) / 6 + 3.5 * x
    return births, deaths


xs = np.arange(0, 1000)
b_rate, d_rate = schlogl_rates(xs.astype(float))
log_pi = np.concatenate([[0.0], np.cumsum(np.log(b_rate[:-1]) - np.log(d_rate[1:]))])
pi_exact = np.exp(log_pi - log_pi.max())
pi_exact /= pi_exact.sum()
x_ode = 250.0
for _ in range(20_000):  # the rate equation by Euler steps of 10⁻³ to t = 20
    b_, d_ = schlogl_rates(np.array(x_ode))
    x_ode += 1e-3 * float(b_ - d_)
low_share = float((sch[:, -1] < 250).mean())
print(f"Schlögl, {SCHLOGL_RUNS} runs from 250 to t = 5: {low_share:.1%} end near the low "
      f"state, {1 - low_share:.1%} near the high one; the ODE from 250 is at {x_ode:.0f} by "
      f"t = 20; the exact "
      f"stationary law peaks at {int(xs[:250][pi_exact[:250].argmax()])} and "
      f"{int(xs[250:][pi_exact[250:].argmax()])}")

# %% [markdown]
# ## 5. Lotka–Volterra: cycles that noise keeps alive
#
# Prey X → 2X (1) and crowding 2X → X (0.002 on C(x, 2), so about 0.001·x²), predation
# X + Y → 2Y (0.005), predator death Y → ∅ (0.6), from (50, 100). With crowding, the rate
# equations spiral *into* the equilibrium (120, 176): the oscillation dies out. The
# stochastic system keeps oscillating with a random amplitude, because every random event
# kicks it off the equilibrium again and the system answers at its own frequency (near
# √(0.6·120·0.005) ≈ 0.6, a period of about 10): **noise-driven oscillations**. We measure
# the amplitude as each run's standard deviation of X over t ∈ [40, 80], against the rate
# equations' over the same window.

# %%
lv = ssa.ReactionNetwork.build({"X": 50, "Y": 100}, [({"X": 1}, {"X": 2}, 1.0),
                                                     ({"X": 2}, {"X": 1}, 0.002),
                                                     ({"X": 1, "Y": 1}, {"Y": 2}, 0.005),
                                                     ({"Y": 1}, {}, 0.6)])
lv_grid = np.linspace(0.0, 80.0, 401)
LV_RUNS = 200 if args.quick else 1_000
lv_runs = ssa.simulate_many(lv, lv_grid, LV_RUNS, seed=args.seed + 3)


def lv_field(u: np.ndarray) -> np.ndarray:
    x, y = u
    return np.array([x - 0.001 * x * (x - 1) - 0.005 * x * y, 0.005 * x * y - 0.6 * y])


ode = np.empty((len(lv_grid), 2))
ode[0] = (50.0, 100.0)
dt_rk = (lv_grid[1] - lv_grid[0]) / 20  # RK4, 20 steps a grid step
for i in range(1, len(lv_grid)):
    v = ode[i - 1].copy()
    for _ in range(20):
        k1 = lv_field(v)
        k2 = lv_field(v + dt_rk / 2 * k1)
        k3 = lv_field(v + dt_rk / 2 * k2)
        v = v + dt_rk / 6 * (k1 + 2 * k2 + 2 * k3 + lv_field(v + dt_rk * k3))
    ode[i] = v
late = lv_grid >= 40
lv_amplitude = float(lv_runs[:, late, 0].std(axis=1).mean())
ode_amplitude = float(ode[late, 0].std())
print(f"Lotka–Volterra with crowding, {LV_RUNS} runs to t = 80: prey amplitude over [40, 80] "
      f"{lv_amplitude:.1f} (mean per-run SD) vs {ode_amplitude:.1f} for the rate equations")

# %% [markdown]
# ## 6. The DSMTS: the standard test of a stochastic simulator
#
# Each case gives a model and the exact mean and SD of its species at 50 or so times. With n
# runs the rule is |Z| < 3 and |Y| < 5 at every point (section 1). A correct simulator still
# fails a few points by chance (Z: 0.27% of points; Y: more where X is heavy-tailed), so the
# table also shows the expected number of chance failures. As a **negative control**, case
# 001-01 (birth–death) runs again with its rates 10% too high: a test that passes a wrong
# simulator would be worthless.

# %%
DSMTS_RUNS = 2_000 if args.quick else 10_000
DSMTS_CASES = ["001-01", "002-01", "003-01", "004-01"] if args.quick else None
suite = dsmts.run_suite(DSMTS_RUNS, seed=args.seed + 7, cases=DSMTS_CASES)
bd_case = dsmts.load_dsmts("001-01")
wrong_net = dataclasses.replace(bd_case.network, rates=bd_case.network.rates * 1.1)
wrong = dsmts.score_case(bd_case, DSMTS_RUNS, args.seed + 7,
                         model=dataclasses.replace(bd_case.model, network=wrong_net))
rows = suite["cases"]
z_fail = sum(c["z_fail"] for c in rows.values())
y_fail = sum(c["y_fail"] for c in rows.values())
expected = sum(c["z_expected"] + c["y_expected"] for c in rows.values())
print(f"DSMTS, {DSMTS_RUNS:,} runs a case, {len(rows)} cases run, {len(suite['refused'])} "
      f"refused (features the loader lacks)")
print(f"{'case':<8}{'points':>7}{'Z fails':>9}{'Y fails':>9}{'expected':>10}{'max|Z|':>8}"
      f"{'max|Y|':>8}")
for name, c in rows.items():
    print(f"{name:<8}{c['points']:>7}{c['z_fail']:>9}{c['y_fail']:>9}"
          f"{c['z_expected'] + c['y_expected']:>10.2f}{c['max_z']:>8.2f}{c['max_y']:>8.2f}")
print(f"all: Z fails at {z_fail}, Y at {y_fail} of {sum(c['points'] for c in rows.values())} "
      f"points ({expected:.1f} expected by chance); the 10%-wrong birth–death fails Z at "
      f"{wrong['z_fail']} and Y at {wrong['y_fail']} of its {wrong['points']} points (max |Z| "
      f"{wrong['max_z']:.1f})")
for name, why in suite["refused"].items():
    print(f"  {name} not run: {why}")

# %%
fig, axes = plt.subplots(1, 4, figsize=(20, 4.5))
ax = axes[0]
vals = np.arange(0, 26)
ax.bar(vals, np.bincount(bd, minlength=26)[:26] / BD_RUNS, color="tab:blue", alpha=0.7,
       label=f"{BD_RUNS:,} runs at t = 20")
ax.plot(vals, stats.poisson.pmf(vals, 10.0), "k.-", label=f"Poisson(10), p = {p_true:.2f}")
ax.set(xlabel="X", ylabel="probability", title="immigration–death: stationary law")
ax.legend(fontsize=8)
ax = axes[1]
for i in range(30):
    ax.plot(sch_grid, sch[i], color="tab:purple", alpha=0.3, lw=0.8)
ax.axhline(x_ode, color="k", ls="--", label=f"ODE from 250 → {x_ode:.0f} (t = 20)")
ax.set(xlabel="t", ylabel="X", title="Schlögl: 30 trajectories from X = 250")
ax.legend(fontsize=8)
ax = axes[2]
ax.hist(sch[:, -1], bins=np.arange(0, 900, 20), density=True, alpha=0.6,
        label=f"SSA at t = 5 ({low_share:.0%} low)")
ax.plot(xs, pi_exact, "k", label="exact stationary law")
ax.set(xlabel="X", title="Schlögl: bimodal")
ax.legend(fontsize=8)
ax = axes[3]
for i in range(3):
    ax.plot(lv_runs[i, :, 0], lv_runs[i, :, 1], lw=0.8, alpha=0.8)
ax.plot(ode[:, 0], ode[:, 1], "k--", lw=1.5, label="rate equations (spiral in)")
ax.set(xlabel="prey X", ylabel="predators Y",
       title=f"Lotka–Volterra: amplitude {lv_amplitude:.0f} vs ODE {ode_amplitude:.0f}")
ax.legend(fontsize=8)
fig.tight_layout()
lesson.save_figure(fig, args, "classic_systems.png")
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
           "immigration_death": {"runs": BD_RUNS, "mean": float(bd.mean()),
                                 "var": float(bd.var()), "p_poisson": p_true,
                                 "p_wrong_poisson": p_wrong},
           "schlogl": {"runs": SCHLOGL_RUNS, "low_share": low_share, "ode_end": x_ode},
           "lotka_volterra": {"runs": LV_RUNS, "amplitude": lv_amplitude,
                              "ode_amplitude": ode_amplitude},
           "dsmts": {"runs": DSMTS_RUNS, "cases": len(rows), "refused": len(suite["refused"]),
                     "points": sum(c["points"] for c in rows.values()), "z_fail": z_fail,
                     "y_fail": y_fail, "expected_chance": expected,
                     "fixed_ok": all(c["fixed_ok"] for c in rows.values()),
                     "wrong_model_fails": wrong["z_fail"] + wrong["y_fail"]},
           "seconds": round(time.perf_counter() - started, 1)}


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """(passed, message) for each check on the metrics of one run."""
    s, h = m["scores"], m["histogram"]
    bd, sc, d = m["immigration_death"], m["schlogl"], m["dsmts"]
    lv = m["lotka_volterra"]
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
        (bd["p_poisson"] > 0.001 and bd["p_wrong_poisson"] < 1e-4,
         f"immigration–death passes the chi-square test against Poisson(10) (p = "
         f"{bd['p_poisson']:.3f}) and the same samples fail it against Poisson(10.5) (p = "
         f"{bd['p_wrong_poisson']:.1e})"),
        (0.05 < sc["low_share"] < 0.95 and not 150 < sc["ode_end"] < 350,
         f"Schlögl: the runs split between both states ({sc['low_share']:.1%} low) while the "
         f"ODE goes to one ({sc['ode_end']:.0f})"),
        (lv["amplitude"] > 3 * lv["ode_amplitude"],
         f"Lotka–Volterra: noise keeps the cycles going (prey amplitude {lv['amplitude']:.1f}"
         f" vs {lv['ode_amplitude']:.1f} for the damped rate equations)"),
        (d["z_fail"] + d["y_fail"] <= max(3.0, 3 * d["expected_chance"]) and d["fixed_ok"],
         f"DSMTS: {d['z_fail'] + d['y_fail']} failing points of {d['points']} (chance "
         f"expects {d['expected_chance']:.1f}; allowed max(3, 3x that)), fixed points exact"),
        (d["wrong_model_fails"] >= 10,
         f"DSMTS: the 10%-wrong birth–death model fails {d['wrong_model_fails']} Z/Y scores "
         "(≥ 10)"),
    ]


print(f"{time.perf_counter() - started:.1f} s")
lesson.finish(metrics, args, checks)
