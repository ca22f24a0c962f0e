"""Shared by the lesson tests: run a lesson in quick mode in a fresh process, read its
metrics, check its figures."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_lesson(name: str, out: Path) -> dict:
    """``python lessons/NAME.py --quick --out OUT``: it must exit 0 with no failed check;
    returns its metrics.json (which must say quick)."""
    proc = subprocess.run([sys.executable, f"lessons/{name}.py", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "check failed" not in proc.stdout + proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["quick"] is True
    return metrics


def assert_figures(out: Path, *names: str, min_bytes: int = 10_000) -> None:
    """Each ``out/name`` is a PNG file of at least ``min_bytes``."""
    for name in names:
        path = out / name
        assert path.is_file() and path.stat().st_size > min_bytes, name
        assert path.read_bytes()[:8] == PNG_MAGIC, name
