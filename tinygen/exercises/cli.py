"""``tinygen exercise``: list, start, check, hint and solution.

    tinygen exercise list [--dir D]
    tinygen exercise start NAME [--dir D] [--force]
    tinygen exercise check NAME [--dir D] [--json] [--seed N] [--timeout S]
    tinygen exercise hint NAME [--dir D]
    tinygen exercise solution NAME [--dir D] [--yes] [--write]

A student's attempt at ``NAME`` is the file ``D/NAME.py`` (default ``./exercises/``); the
hints shown and the last check's result are kept in ``D/.tinygen-exercises.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import TinygenError
from ..fileio import atomic_write_text
from . import (PACKAGE_DIR, Exercise, all_exercises, file_digest, get_exercise, load_state, status,
               student_file, update_state)

DEFAULT_DIR = "exercises"
DEFAULT_SEED = 20261204
DEFAULT_TIMEOUT = 30.0


# -- the check --------------------------------------------------------------------------------

def _records(output) -> list[dict]:
    if isinstance(output, bytes):
        output = output.decode("utf-8", "replace")
    records = []
    for line in (output or "").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def check_file(ex: Exercise, path: Path, seed: int = DEFAULT_SEED,
               timeout: float = DEFAULT_TIMEOUT) -> dict:
    """Check the student's file ``path`` against exercise ``ex`` in a fresh Python process
    (killed after ``timeout`` seconds). Returns the report: exercise, file, seed, passed and
    one entry per property (name, description, passed, message, advice)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise TinygenError(f"no file {path} to check: `tinygen exercise start {ex.name}` "
                           "writes the stub there")
    if importlib.util.find_spec("hypothesis") is None:
        raise TinygenError("checking an exercise needs hypothesis: pip install hypothesis "
                           '(or install tinygen with its test extra, pip install -e ".[test]")')
    cmd = [sys.executable, "-m", "tinygen.exercises.runner", str(ex.folder), str(path),
           str(seed)]
    # The same tinygen as this process, one BLAS thread, and an empty scratch folder as the
    # working directory (nothing there shadows a module; hypothesis's own files land there).
    path_entries = [str(PACKAGE_DIR.parent.parent), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(p for p in path_entries if p))
    with tempfile.TemporaryDirectory(prefix="tinygen-check-") as scratch:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env=env, cwd=scratch, stdin=subprocess.DEVNULL)
            output, stderr, code, timed_out = proc.stdout, proc.stderr, proc.returncode, False
        except subprocess.TimeoutExpired as exc:
            output, stderr, code, timed_out = exc.stdout, exc.stderr, None, True
    records = _records(output)
    results = [r for r in records if r.get("kind") in ("exercise", "import", "property")]
    started = [r["name"] for r in records if r.get("kind") == "start"]
    finished = any(r.get("kind") == "done" for r in records)
    if timed_out:
        where = f" in the property {started[-1]!r}" if started else ""
        results.append({"kind": "timeout", "name": "time limit", "passed": False,
                        "message": f"stopped after {timeout:g} s{where}: an endless loop, or "
                                   "a loop far too slow for small inputs?"})
    elif not finished and not any(r.get("kind") in ("exercise", "import") for r in results):
        if isinstance(stderr, bytes):
            stderr = stderr.decode("utf-8", "replace")
        tail = "\n  ".join((stderr or "").strip().splitlines()[-5:])
        results.append({"kind": "crash", "name": "crash", "passed": False,
                        "message": f"the check stopped early (exit code {code}): your code "
                                   "ended or crashed the Python process (sys.exit, os._exit, "
                                   f"a segfault?)\n  {tail}".rstrip()})
    passed = bool(results) and all(r["passed"] for r in results)
    return {"exercise": ex.name, "file": str(path), "digest": file_digest(path), "seed": seed,
            "passed": passed, "results": results}


def _print_report(report: dict) -> None:
    seed = report["seed"]
    print(f"checking {report['file']} (exercise {report['exercise']}, seed {seed}; replay "
          f"with --seed {seed})")
    for r in report["results"]:
        label = r.get("description", r["name"])
        print(f"{'PASS' if r['passed'] else 'FAIL'}  {label}")
        if not r["passed"]:
            print("      " + r.get("message", "").replace("\n", "\n      "))
            if r.get("advice"):
                print(f"      hint: {r['advice']}")
    props = [r for r in report["results"] if r.get("kind") == "property"]
    good = sum(r["passed"] for r in props)
    verdict = "all pass" if report["passed"] else "not yet"
    print(f"{good} of {len(props)} properties pass — {verdict}")


# -- the commands -----------------------------------------------------------------------------

def _list(args: argparse.Namespace) -> int:
    rows = [("NAME", "TOPIC", "LEVEL", "LESSON", "STATUS")]
    for ex in all_exercises():
        rows.append((ex.name, ex.topic, "*" * ex.difficulty, ex.lesson, status(args.dir, ex)))
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    print(f"\nyour files: {Path(args.dir).resolve()}  (`tinygen exercise start NAME` begins one)")
    return 0


def _start(args: argparse.Namespace) -> int:
    ex = get_exercise(args.name)
    path = student_file(args.dir, ex.name)
    if path.exists() and not args.force:
        raise TinygenError(f"{path} already exists and is kept; --force overwrites it with "
                           "the stub")
    atomic_write_text(path, ex.stub.read_text(encoding="utf-8"))
    where = f" --dir {args.dir}" if args.dir != DEFAULT_DIR else ""
    print(f"wrote {path}: {ex.title}\nedit it, then run `tinygen exercise check {ex.name}"
          f"{where}`")
    return 0


def _check(args: argparse.Namespace) -> int:
    ex = get_exercise(args.name)
    report = check_file(ex, student_file(args.dir, ex.name), args.seed, args.timeout)
    update_state(args.dir, ex.name, checked_digest=report["digest"], passed=report["passed"],
                 seed=report["seed"])
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        _print_report(report)
    return 0 if report["passed"] else 1


def _hint(args: argparse.Namespace) -> int:
    ex = get_exercise(args.name)
    hints = ex.hints()
    shown = int(load_state(args.dir).get(ex.name, {}).get("hints_shown", 0))
    shown = min(shown + 1, len(hints))
    update_state(args.dir, ex.name, hints_shown=shown)
    for i, text in enumerate(hints[:shown], 1):
        print(f"hint {i} of {len(hints)}: " + text.replace("\n", "\n  "))
    if shown == len(hints):
        print("(that was the last hint; `tinygen exercise solution` shows the answer)")
    return 0


def _solution(args: argparse.Namespace) -> int:
    ex = get_exercise(args.name)
    if not args.yes and sys.stdin.isatty():
        answer = input(f"show the solution of {ex.name}? Trying once more teaches more. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not shown")
            return 0
    text = ex.reference.read_text(encoding="utf-8")
    if args.write:
        path = student_file(args.dir, ex.name)
        if path.is_file() and path.read_text(encoding="utf-8") != text:
            atomic_write_text(path.with_suffix(".py.orig"), path.read_text(encoding="utf-8"))
            print(f"your file is kept as {path.with_suffix('.py.orig')}")
        atomic_write_text(path, text)
        print(f"wrote the solution to {path}")
    else:
        print(text, end="")
    return 0


def add_parser(groups: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``tinygen exercise ...`` on the top-level subparsers ``groups``."""
    exercise = groups.add_parser("exercise", help="classroom exercises with checkers")
    cmds = exercise.add_subparsers(dest="command", metavar="{list,start,check,hint,solution}")

    def command(name: str, func, help: str, named: bool = True) -> argparse.ArgumentParser:
        p = cmds.add_parser(name, help=help)
        if named:
            p.add_argument("name", help="an exercise name from `tinygen exercise list`")
        p.add_argument("--dir", default=DEFAULT_DIR,
                       help=f"the folder of your exercise files (default ./{DEFAULT_DIR})")
        p.set_defaults(func=func)
        return p

    command("list", _list, "the exercises and how far you are with each", named=False)
    start = command("start", _start, "write the stub of an exercise into the folder")
    start.add_argument("--force", action="store_true", help="overwrite your file with the stub")
    check = command("check", _check, "run the checker's properties on your file")
    check.add_argument("--json", action="store_true", help="a machine-readable report")
    check.add_argument("--seed", type=int, default=DEFAULT_SEED,
                       help=f"hypothesis seed (default {DEFAULT_SEED}); a report names its seed")
    check.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                       help=f"seconds before the check is stopped (default {DEFAULT_TIMEOUT:g})")
    command("hint", _hint, "one more hint each time")
    solution = command("solution", _solution, "print the reference solution")
    solution.add_argument("--yes", action="store_true", help="do not ask first")
    solution.add_argument("--write", action="store_true",
                          help="put the solution in place of your file (yours is kept as .orig)")
    return exercise
