"""The whole DSMTS (Discrete Stochastic Models Test Suite) against tinygen's SSA kernel:
n = 10,000 trajectories per case, the suite's rule at every species and output time, and how
many failing points a correct simulator is expected to show by chance.

The rule (per species, per time, n runs): Z = √n (X̄ − μ)/σ ∈ (−3, 3) and
Y = √(n/2)(S²/σ² − 1) ∈ (−5, 5). With about 50 times per species and ~40 cases, some points
fail by chance: for Z, P(|Z| ≥ 3) = 0.27% per point; for Y, Y is about normal with variance
(κ − 1)/2 (κ the kurtosis of X at that time; 1 for a Gaussian X), so P(|Y| ≥ 5) is tiny for
a near-Gaussian X but not where X is heavy-tailed (e.g. near extinction). The table shows, per
case, the failing points of each score and the expected number of chance failures (Y's from
each point's sample kurtosis). Points where the exact SD is 0 (t = 0, right after a reset
event) are checked for every run sitting on the mean instead. Cases the loader refuses are
listed with the reason.

Run ``python benchmarks/dsmts.py [--n 10000] [--seed 7] [--cases 001-01 ...]`` (one thread:
``NUMBA_NUM_THREADS=1``); it prints the table and a suite-wide summary.
"""

from __future__ import annotations

import argparse
import sys


from tinygen.stochastic import dsmts

def run(n: int = 10_000, seed: int = 7, cases: list[str] | None = None) -> dict:
    """The whole suite (or ``cases``): :func:`tinygen.stochastic.dsmts.run_suite`."""
    return dsmts.run_suite(n, seed, cases)


def report(r: dict) -> str:
    lines = [f"DSMTS, n = {r['n']:,} runs per case, seed {r['seed']}",
             f"{'case':<8}{'points':>7}{'Z fails':>9}{'(exp.)':>8}{'Y fails':>9}{'(exp.)':>8}"
             f"{'max|Z|':>8}{'max|Y|':>8}{'max κ':>8}{'fixed':>7}{'CPU s':>7}  verdict"]
    for name, c in r["cases"].items():
        lines.append(f"{name:<8}{c['points']:>7}{c['z_fail']:>9}{c['z_expected']:>8.2f}"
                     f"{c['y_fail']:>9}{c['y_expected']:>8.2f}{c['max_z']:>8.2f}"
                     f"{c['max_y']:>8.2f}{c['max_kurtosis']:>8.1f}"
                     f"{'ok' if c['fixed_ok'] else 'NO':>7}{c['cpu_s']:>7.1f}  "
                     f"{'pass' if c['passed'] else 'FAIL'}")
    for name, why in r["refused"].items():
        lines.append(f"{name:<8}not run: {why}")
    cs = r["cases"].values()
    tot = {k: sum(c[k] for c in cs) for k in ("points", "z_fail", "y_fail", "z_expected",
                                              "y_expected", "y_expected_gaussian")}
    lines.append(
        f"\n{len(r['cases'])} cases run ({len(r['refused'])} refused), "
        f"{sum(c['passed'] for c in cs)} pass every point; {tot['points']} live points: "
        f"Z fails at {tot['z_fail']} (expected by chance {tot['z_expected']:.1f}), Y fails at "
        f"{tot['y_fail']} (expected {tot['y_expected']:.1f} from the sample kurtosis, "
        f"{tot['y_expected_gaussian']:.1e} for Gaussian X); fixed points "
        f"{'all exact' if all(c['fixed_ok'] for c in cs) else 'NOT all exact'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cases", nargs="+")
    a = p.parse_args(argv)
    print(report(run(a.n, a.seed, a.cases)))


if __name__ == "__main__":
    sys.exit(main())
