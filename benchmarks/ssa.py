"""How many Gillespie trajectories per second: tinygen's Numba kernel against GillesPy2's
NumPy SSA solver and the post's plain-Python algorithm, in the same run.

Two networks, each sampled on a time grid:

* **gene** (the post's example): ∅ → m (20), m → m + n (2.5), m → ∅ (1), n → ∅ (1), from
  m = n = 0, 41 times on [0, 10] (about 1,300 reactions per trajectory);
* **birth-death** (DSMTS 001-01): X → 2X (0.1), X → ∅ (0.11), from X = 100, 51 times on
  [0, 50] (about 800 reactions).

Paths: **kernel** — :func:`tinygen.stochastic.ssa.simulate_many` (the CPU kernel, ``prange``
over trajectories) at each thread count asked for (``numba.set_num_threads``; the process
must start with ``NUMBA_NUM_THREADS`` at least that large); **twin** — the pure-Python
direct method of the post (:func:`tinygen.stochastic.ssa.simulate`, one trajectory at a
time); **gillespy2** — GillesPy2's ``NumPySSASolver`` (pure Python on NumPy, one thread),
``solver.run(number_of_trajectories=N)``, after one untimed run. GillesPy2 is a reference
library, in the ``ref`` extra (``pip install "tinygen[ref]"``, which pins 1.8.3); without it
that column is skipped. Before timing, the kernel's final-time mean is compared with the
exact mean (both networks are linear, so the means are known in closed form) and with
GillesPy2's.

Speeds are trajectories per wall-clock second (best of ``repeats``); the CPU-time rate of
the one-thread paths is printed too, as it is less sensitive to a busy shared machine (the
load average is printed before and after). Goal: kernel on 1 thread ≥ 30× GillesPy2.

Run ``NUMBA_NUM_THREADS=2 python benchmarks/ssa.py [--threads 1 2] [--repeats N]``, or import
it and call :func:`run` (small sizes make a smoke test).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable

import numba
import numpy as np

from tinygen.stochastic import ssa

SPEEDUP_GOAL = 30.0  # kernel on one thread against GillesPy2's NumPy SSA solver
GILLESPY2_VERSION = "1.8.3"
SEED = 7


def networks() -> dict[str, tuple[ssa.ReactionNetwork, np.ndarray, np.ndarray]]:
    """{name: (network, grid, exact mean at the last grid time per species)}."""
    gene = ssa.ReactionNetwork.build(
        {"m": 0, "n": 0}, [({}, {"m": 1}, 20.0), ({"m": 1}, {"m": 1, "n": 1}, 2.5),
                           ({"m": 1}, {}, 1.0), ({"n": 1}, {}, 1.0)])
    t = 10.0
    gene_mean = np.array([20 * (1 - math.exp(-t)), 50 * (1 - math.exp(-t) - t * math.exp(-t))])
    bd = ssa.ReactionNetwork.build({"X": 100}, [({"X": 1}, {"X": 2}, 0.1), ({"X": 1}, {}, 0.11)])
    return {"gene": (gene, np.linspace(0.0, 10.0, 41), gene_mean),
            "birth-death": (bd, np.linspace(0.0, 50.0, 51),
                            np.array([100 * math.exp(-0.01 * 50.0)]))}


def optional_gillespy2():
    """GillesPy2 if it imports, else None (the ``ref`` extra is not installed)."""
    try:
        import gillespy2
    except Exception:  # noqa: BLE001 - any failure means "no reference"
        return None
    return gillespy2


def gillespy2_runner(gillespy2, net: ssa.ReactionNetwork, grid: np.ndarray
                     ) -> Callable[[int, int], np.ndarray]:
    """``f(n, seed) -> (n, S)`` final counts from GillesPy2's NumPy SSA solver on the same
    network (mass-action reactions, discrete species)."""
    model = gillespy2.Model(name="bench")
    species = [gillespy2.Species(name=s, initial_value=int(c), mode="discrete")
               for s, c in zip(net.species, net.initial)]
    model.add_species(species)
    for r, k in enumerate(net.rates):
        p = gillespy2.Parameter(name=f"k{r}", expression=float(k))
        model.add_parameter(p)
        side = [{species[s]: int(c) for s, c in enumerate(row) if c}
                for row in (net.reactants[r], net.products[r])]
        model.add_reaction(gillespy2.Reaction(name=f"r{r}", reactants=side[0],
                                              products=side[1], rate=p))
    model.timespan(grid)
    solver = gillespy2.NumPySSASolver(model=model)

    def run(n: int, seed: int) -> np.ndarray:
        results = solver.run(number_of_trajectories=n, seed=seed)
        return np.array([[traj[s][-1] for s in net.species] for traj in results])

    return run


def rate(fn: Callable[[], object], n: int, repeats: int) -> dict[str, float]:
    """Trajectories per second of ``fn`` (which runs n of them): the best wall-clock and the
    best CPU-time (all threads of this process) rate over ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return {"per_s": n / min(wall), "per_cpu_s": n / min(cpu)}


def run(threads: tuple[int, ...] = (1, 2), repeats: int = 3, n_kernel: int = 20_000,
        n_twin: int = 20, n_gillespy2: int = 100, names: tuple[str, ...] | None = None
        ) -> dict:
    """Every path on every network; the kernel at each thread count that this process
    allows. Returns rates, ratios, checks and the load average."""
    gillespy2 = optional_gillespy2()
    usable = [t for t in threads if t <= numba.config.NUMBA_NUM_THREADS]
    out: dict = {"load_before": os.getloadavg()[0], "threads": usable,
                 "skipped_threads": [t for t in threads if t not in usable],
                 "gillespy2": None if gillespy2 is None else gillespy2.__version__,
                 "networks": {}}
    old_threads = numba.get_num_threads()
    for name, (net, grid, exact) in networks().items():
        if names is not None and name not in names:
            continue
        r: dict = {"kernel": {}}
        numba.set_num_threads(1)
        check = ssa.simulate_many(net, grid, n_kernel, SEED)[:, -1, :]  # also compiles
        r["kernel_mean"] = check.mean(0).tolist()
        r["exact_mean"] = exact.tolist()
        se = check.std(0, ddof=1) / math.sqrt(n_kernel)
        r["mean_ok"] = bool((np.abs(check.mean(0) - exact) < 4 * se).all())
        for t in usable:
            numba.set_num_threads(t)
            r["kernel"][t] = rate(lambda net=net, grid=grid: ssa.simulate_many(
                net, grid, n_kernel, SEED), n_kernel, repeats)
        numba.set_num_threads(old_threads)
        r["twin"] = rate(lambda net=net, grid=grid: [
            ssa.simulate(net, grid, SEED, trajectory=i) for i in range(n_twin)], n_twin, 1)
        if gillespy2 is not None:
            g = gillespy2_runner(gillespy2, net, grid)
            g(2, SEED)  # untimed: the solver's first-run set-up
            r["gillespy2"] = rate(lambda g=g: g(n_gillespy2, SEED), n_gillespy2, 1)
            final = g(n_gillespy2, SEED + 1)
            r["gillespy2_mean"] = final.mean(0).tolist()
            gse = np.sqrt(check.var(0, ddof=1) / n_gillespy2 + se**2)
            r["gillespy2_agrees"] = bool((np.abs(final.mean(0) - check.mean(0))
                                          < 4 * gse).all())
        one = r["kernel"].get(1)
        if one is not None:
            r["over_twin"] = one["per_s"] / r["twin"]["per_s"]
            r["over_twin_cpu"] = one["per_cpu_s"] / r["twin"]["per_cpu_s"]
            if "gillespy2" in r:
                r["over_gillespy2"] = one["per_s"] / r["gillespy2"]["per_s"]
                r["over_gillespy2_cpu"] = one["per_cpu_s"] / r["gillespy2"]["per_cpu_s"]
                r["goal_met"] = r["over_gillespy2"] >= SPEEDUP_GOAL
        out["networks"][name] = r
    out["load_after"] = os.getloadavg()[0]
    return out


def report(r: dict) -> str:
    lines = [f"load average (1 min) before/after: {r['load_before']:.1f} / "
             f"{r['load_after']:.1f}"]
    if r["skipped_threads"]:
        lines.append(f"skipped thread counts {r['skipped_threads']}: start with "
                     f"NUMBA_NUM_THREADS={max(r['skipped_threads'])}")
    if r["gillespy2"] is None:
        lines.append(f"GillesPy2 not installed: its column is skipped (pip install "
                     f"gillespy2=={GILLESPY2_VERSION}, or the ref extra)")
    else:
        lines.append(f"GillesPy2 {r['gillespy2']} NumPySSASolver")
    for name, n in r["networks"].items():
        lines.append(f"\n{name}: final mean kernel {np.round(n['kernel_mean'], 2).tolist()}, "
                     f"exact {np.round(n['exact_mean'], 2).tolist()} "
                     f"({'ok' if n['mean_ok'] else 'OFF'})"
                     + ("" if "gillespy2_mean" not in n else
                        f", GillesPy2 {np.round(n['gillespy2_mean'], 2).tolist()} "
                        f"({'agrees' if n['gillespy2_agrees'] else 'DISAGREES'})"))
        lines.append(f"  {'path':<22}{'traj/s (wall)':>16}{'traj/s (CPU)':>16}")
        rows = [(f"kernel, {t} thread{'s' * (t > 1)}", v) for t, v in n["kernel"].items()]
        rows += [("twin (pure Python)", n["twin"])]
        if "gillespy2" in n:
            rows += [("GillesPy2 NumPySSA", n["gillespy2"])]
        for label, v in rows:
            lines.append(f"  {label:<22}{v['per_s']:>16,.1f}{v['per_cpu_s']:>16,.1f}")
        if "over_twin" in n:
            lines.append(f"  kernel (1 thread) / twin: {n['over_twin']:,.0f}× "
                         f"(CPU time {n['over_twin_cpu']:,.0f}×)")
        if "over_gillespy2" in n:
            lines.append(f"  kernel (1 thread) / GillesPy2: {n['over_gillespy2']:,.0f}× "
                         f"(CPU time {n['over_gillespy2_cpu']:,.0f}×); goal ≥ "
                         f"{SPEEDUP_GOAL:.0f}×: {'met' if n['goal_met'] else 'NOT met'}")
        if 1 in n["kernel"] and 2 in n["kernel"]:
            lines.append(f"  kernel 2 threads / 1 thread: "
                         f"{n['kernel'][2]['per_s'] / n['kernel'][1]['per_s']:.2f}×")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--n-kernel", type=int, default=20_000)
    p.add_argument("--n-twin", type=int, default=20)
    p.add_argument("--n-gillespy2", type=int, default=100)
    a = p.parse_args(argv)
    print(report(run(tuple(a.threads), a.repeats, a.n_kernel, a.n_twin, a.n_gillespy2)))


if __name__ == "__main__":
    sys.exit(main())
