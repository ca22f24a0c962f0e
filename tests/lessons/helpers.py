"""Shared by the lesson tests: run a lesson in quick mode in a fresh process, read its
metrics, check its figures, and load its ``checks`` function alone to show each check can
fail."""

import ast
import copy
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_lesson(name: str, out: Path, *flags: str) -> dict:
    """``python lessons/NAME.py --quick --out OUT [FLAGS]``: it must exit 0 with no failed
    check; returns its metrics.json (which must say quick), which its own checks must pass."""
    proc = subprocess.run([sys.executable, f"lessons/{name}.py", "--quick", "--out", str(out),
                           *flags], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "check failed" not in proc.stdout + proc.stderr
    assert "check passed" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["quick"] is True
    assert failures(name, metrics) == []
    return metrics


def assert_figures(out: Path, *names: str, min_bytes: int = 10_000) -> None:
    """Each ``out/name`` is a PNG file of at least ``min_bytes``."""
    for name in names:
        path = out / name
        assert path.is_file() and path.stat().st_size > min_bytes, name
        assert path.read_bytes()[:8] == PNG_MAGIC, name


def load_checks(name: str):
    """The lesson's ``checks(record, quick)`` without running the lesson: its definition is
    cut out of the source and run alone, with nothing but Python's builtins in reach (so it
    can only judge the record it is given)."""
    tree = ast.parse((ROOT / "lessons" / f"{name}.py").read_text())
    found = [node for node in tree.body
             if isinstance(node, ast.FunctionDef) and node.name == "checks"]
    assert len(found) == 1, f"lessons/{name}.py must define checks() once at top level"
    namespace: dict = {}
    exec(compile(ast.Module(found, type_ignores=[]), f"lessons/{name}.py", "exec"), namespace)
    return namespace["checks"]


def failures(name: str, record: dict, quick: bool = True) -> list[str]:
    """The messages of the lesson's checks that ``record`` fails."""
    return [message for ok, message in load_checks(name)(record, quick) if not ok]


def changed(record: dict, path: str | tuple, value) -> dict:
    """A deep copy of ``record`` with one value replaced: ``changed(m, ("a", "b"), 1)`` sets
    ``m["a"]["b"] = 1``."""
    *parents, key = (path,) if isinstance(path, str) else path
    record = copy.deepcopy(record)
    target = record
    for parent in parents:
        target = target[parent]
    target[key] = value
    return record


def assert_fails(name: str, record: dict, expected: str, quick: bool = True) -> None:
    """The lesson's checks reject ``record``, and a failed message contains ``expected``."""
    failed = failures(name, record, quick)
    assert any(expected in message for message in failed), failed
