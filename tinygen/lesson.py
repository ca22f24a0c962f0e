"""The little plumbing every lesson script shares: its flags, output folder, seed, figures
and ``metrics.json`` (both written atomically), and a check that fails loudly.

Flags (the ``tinygen lesson run`` command passes them through): ``--quick`` (a small run for
the tests), ``--out DIR`` (default ``runs/NAME``), ``--device cpu|cuda``, ``--seed N``.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

from . import backend, errors
from .fileio import atomic_write, make_dir
from .random import manual_seed


def parse(name: str, description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the lesson flags, create the output folder, seed the generators.

    Unknown flags are ignored so a lesson also runs cell by cell in Jupyter.
    """
    errors.install_excepthook(f"lessons/{name}.py")  # a TinygenError prints one line
    parser = argparse.ArgumentParser(prog=f"lessons/{name}.py", description=description)
    parser.add_argument("--quick", action="store_true", help="a small, fast run (for tests)")
    parser.add_argument("--out", type=Path, default=Path("runs") / name,
                        help="folder for figures and metrics.json")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args, _ = parser.parse_known_args(argv)
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


def check(condition: bool, message: str) -> None:
    """Stop the lesson with a non-zero exit status when a result is not what it should be."""
    if not condition:
        raise SystemExit(f"check failed: {message}")
    print(f"check passed: {message}")
