"""Shared by the lesson tests: run a lesson as a notebook in quick mode in a fresh kernel,
read its metrics, check its figures, and load its ``checks`` function alone to show each
check can fail."""

import ast
import copy
import json
from pathlib import Path

import pytest

from tinygen.book import execute_lesson

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_lesson(name: str, out: Path, seed: int | None = None, device: str | None = None) -> dict:
    """Run ``lessons/NAME.py`` as a notebook in quick mode (``tinygen.book.execute_lesson``:
    jupytext + nbclient, settings through the TINYGEN_* variables): no cell may fail, every
    figure it writes is shown in the notebook; returns its metrics.json (which must say
    quick), which its own checks must pass."""
    notebook = execute_lesson(name, out, quick=True, seed=seed, device=device, timeout=300)
    cells = json.loads(notebook.read_text())["cells"]
    outputs = [o for c in cells for o in c.get("outputs", [])]
    printed = "".join("".join(o.get("text", "")) for o in outputs)
    assert "check failed" not in printed and "check passed" in printed
    shown = {o["metadata"]["tinygen"]["figure"] for o in outputs
             if "tinygen" in o.get("metadata", {})}
    assert shown == {p.name for p in out.glob("*.png")}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["quick"] is True
    assert failures(name, metrics) == []
    return metrics


def lesson_record(name: str):
    """A module-scoped fixture that runs lesson ``name`` once in quick mode (``run_lesson``)
    and gives ``(out, metrics)``; a test module says ``record = lesson_record(NAME)``."""

    @pytest.fixture(scope="module")
    def record(tmp_path_factory):
        out = tmp_path_factory.mktemp(name)
        return out, run_lesson(name, out)

    return record


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
