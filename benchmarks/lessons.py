"""How long does each lesson's default (full) run take on this machine?

Runs ``python lessons/NN_name.py --out DIR`` for the lessons asked for (all by default), one
after another, and measures for each: the **wall time**, the **CPU time** of the lesson and
every process it started (user + system, ``RUSAGE_CHILDREN``: its worker processes count
too), whether its checks passed (exit status 0), and the machine's load average before and
after, which says whether the wall time is trustworthy (on two cores a load above ~2.5 means
another job took part of them, and the wall time is then an upper bound).

Goal (issue 12): every lesson's default run in at most 3 minutes of wall time on two idle
cores. The report prints a markdown table and the verdict per lesson; ``--json FILE``
writes the figures (atomically). ``--quick`` times the quick runs instead (the ones the test
suite makes; the CI budget asks each to stay under 20 s).

Run ``python benchmarks/lessons.py [12 13 ...] [--quick] [--json FILE]``, or import it and
call :func:`run`, which returns the figures as a list of dicts. A full pass over every
lesson takes well over an hour: measure the lessons you changed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
GOAL_FULL_S = 180.0   # a lesson's default run on two idle cores
GOAL_QUICK_S = 20.0   # a lesson's quick run (the test suite's)
BUSY_LOAD = 2.5       # a load average above this on two cores: the wall time is inflated


def lesson_files(numbers: list[str] | None = None) -> list[Path]:
    """The lesson scripts whose number is in ``numbers`` (all when None), in order."""
    files = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
    if numbers:
        wanted = {n.zfill(2) for n in numbers}
        unknown = wanted - {f.name[:2] for f in files}
        if unknown:
            raise SystemExit(f"lessons.py: no lesson numbered {sorted(unknown)}")
        files = [f for f in files if f.name[:2] in wanted]
    return files


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_lesson(path: Path, quick: bool = False, timeout: float | None = None,
                extra: list[str] | None = None, keep: Path | None = None) -> dict:
    """Run one lesson in a fresh process and measure it (see the module docstring); with
    ``keep``, its figures and metrics stay in ``keep/<lesson>`` (else a temporary folder)."""
    load_before = os.getloadavg()[0]
    cpu_before = _children_cpu()
    if keep is not None:
        (keep / path.stem).mkdir(parents=True, exist_ok=True)
    with (contextlib.nullcontext(str(keep / path.stem)) if keep is not None
          else tempfile.TemporaryDirectory()) as out:
        command = [sys.executable, str(path), "--out", out] + (["--quick"] if quick else [])
        started = time.perf_counter()
        try:
            done = subprocess.run(command + (extra or []), capture_output=True, text=True,
                                  timeout=timeout)
            status, tail = done.returncode, (done.stdout + done.stderr)[-400:]
        except subprocess.TimeoutExpired:
            status, tail = None, f"stopped after {timeout} s"
        wall = time.perf_counter() - started
    return {"lesson": path.stem, "quick": quick, "wall_s": round(wall, 1),
            "cpu_s": round(_children_cpu() - cpu_before, 1), "exit_status": status,
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
            "tail": tail}


def run(numbers: list[str] | None = None, quick: bool = False,
        timeout: float | None = None, extra: list[str] | None = None,
        keep: Path | None = None) -> list[dict]:
    """Time the lessons one after another; ``extra`` arguments go to every lesson."""
    results = []
    for path in lesson_files(numbers):
        r = time_lesson(path, quick, timeout, extra, keep)
        print(row(r), flush=True)
        results.append(r)
    return results


def row(r: dict) -> str:
    goal = GOAL_QUICK_S if r["quick"] else GOAL_FULL_S
    busy = max(r["load_before"], r["load_after"]) > BUSY_LOAD
    if r["exit_status"] is None:
        verdict = "stopped (timeout)"
    elif busy:
        verdict = "machine busy: wall time inflated"
    else:
        verdict = "met" if r["wall_s"] <= goal else "NOT MET"
    checks = {0: "passed", None: "-"}.get(r["exit_status"], f"FAILED ({r['exit_status']})")
    return (f"| `{r['lesson']}` | {r['wall_s']:.0f} s | {r['cpu_s']:.0f} s | {checks} | "
            f"{r['load_before']:.1f} / {r['load_after']:.1f} | ≤ {goal:.0f} s: {verdict} |")


HEADER = ("| lesson | wall | CPU (all processes) | checks | load before / after | goal |\n"
          "|---|---|---|---|---|---|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    parser.add_argument("--quick", action="store_true", help="time the quick runs")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per lesson")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep each lesson's outputs (metrics, figures) in KEEP/<lesson>")
    args = parser.parse_args()
    print(f"{'quick' if args.quick else 'default'} runs, {os.cpu_count()} CPUs, one lesson "
          f"at a time\n{HEADER}", flush=True)
    results = run(args.lessons or None, args.quick, args.timeout, keep=args.keep)
    if args.json is not None:
        from tinygen.fileio import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=1))
    failed = [r["lesson"] for r in results if r["exit_status"] != 0]
    if failed:
        print(f"lessons whose run failed: {failed}")


if __name__ == "__main__":
    main()
