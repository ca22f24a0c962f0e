"""The little plumbing every lesson script shares: its flags, output folder, seed, figures
and ``metrics.json`` (both written atomically), and a verdict that fails loudly.

Flags (the ``tinygen lesson run`` command passes them through): ``--quick`` (a small run for
the tests), ``--out DIR`` (default ``runs/NAME``), ``--device cpu|cuda``, ``--seed N``. An
unknown flag is an error, so a typo such as ``--quik`` never runs the full lesson silently.

In a notebook (a Jupyter kernel, whose command line holds the kernel's own ``-f ...json``)
the command line is not read: the settings come from the environment variables
``TINYGEN_QUICK=1``, ``TINYGEN_DEVICE``, ``TINYGEN_SEED`` and ``TINYGEN_OUT``, else their
defaults.

A lesson ends with ``finish(metrics, args, checks)``: ``checks(record, quick)`` judges the
run from its ``metrics.json`` record alone, so anyone can re-judge a saved record (the tests
feed it wrong records to show each check can fail).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from . import backend, errors
from .fileio import atomic_write, make_dir
from .random import manual_seed

ENV_FLAGS = {"TINYGEN_DEVICE": "--device", "TINYGEN_SEED": "--seed", "TINYGEN_OUT": "--out"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")

Checks = Callable[[dict, bool], list[tuple[bool, str]]]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (``ipykernel`` is loaded), whose ``sys.argv`` is not ours."""
    return "ipykernel" in sys.modules


def _environment_argv(parser: argparse.ArgumentParser) -> list[str]:
    """The lesson flags that the ``TINYGEN_*`` environment variables ask for."""
    argv = []
    quick = os.environ.get("TINYGEN_QUICK", "").strip().lower()
    if quick not in _TRUE + _FALSE:
        parser.error(f"TINYGEN_QUICK={quick!r}: expected 1 or 0 (true/false, yes/no, on/off)")
    if quick in _TRUE:
        argv.append("--quick")
    for variable, flag in ENV_FLAGS.items():
        if os.environ.get(variable):
            argv += [flag, os.environ[variable]]
    return argv


def parse(name: str, description: str, argv: list[str] | None = None,
          flags: dict[str, dict] | None = None) -> argparse.Namespace:
    """Parse the lesson flags, create the output folder, seed the generators.

    ``flags`` adds a lesson's own options, ``{"--jobs": {"type": int, "default": 2}}``
    (``argparse.add_argument`` keywords). ``argv`` defaults to the command line, or in a
    notebook to the ``TINYGEN_*`` environment variables.
    """
    errors.install_excepthook(f"lessons/{name}.py")  # a TinygenError prints one line
    parser = argparse.ArgumentParser(prog=f"lessons/{name}.py", description=description)
    parser.add_argument("--quick", action="store_true", help="a small, fast run (for tests)")
    parser.add_argument("--out", type=Path, default=Path("runs") / name,
                        help="folder for figures and metrics.json")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    for flag, options in (flags or {}).items():
        parser.add_argument(flag, **options)
    if argv is None and in_notebook():
        argv = _environment_argv(parser)
        print(f"notebook: settings from TINYGEN_* variables: {' '.join(argv) or 'defaults'}")
    args = parser.parse_args(argv)
    args.device = backend.check_device(args.device)
    make_dir(args.out, "--out", "pass --out a folder you can write to")
    manual_seed(args.seed)
    return args


def save_figure(fig, args: argparse.Namespace, filename: str) -> Path:
    """Save a matplotlib figure as a PNG in the lesson's output folder (atomically)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    path = args.out / filename
    atomic_write(path, buffer.getvalue())
    print(f"figure: {path}")
    return path


def save_metrics(metrics: dict, args: argparse.Namespace) -> Path:
    """Write the lesson's key numbers to ``metrics.json`` (atomically) and print them."""
    path = args.out / "metrics.json"
    record = {"quick": bool(args.quick), "seed": args.seed, "device": args.device, **metrics}
    atomic_write(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
    print(f"metrics: {path}")
    return path


def finish(metrics: dict, args: argparse.Namespace, checks: Checks) -> None:
    """Save ``metrics.json``, then judge the run from that file alone with
    ``checks(record, quick)`` (pairs ``(passed, message)``): print every check and stop with
    exit status 1 if any failed."""
    record = json.loads(save_metrics(metrics, args).read_text())
    results = checks(record, bool(args.quick))
    for ok, message in results:
        print(f"check {'passed' if ok else 'failed'}: {message}")
    failed = [message for ok, message in results if not ok]
    if failed:
        raise SystemExit(f"{len(failed)} of {len(results)} checks failed")
