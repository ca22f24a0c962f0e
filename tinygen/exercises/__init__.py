"""Classroom exercises, one folder each under this package, found without any registry.

A folder ``NAME/`` holds:

- ``exercise.py``: ``TITLE``, ``TOPIC``, ``DIFFICULTY`` (1–3), ``LESSON`` (a lesson's file
  stem, or "—") and ``FUNCTIONS`` as plain literals (read here without importing the file),
  then the checker's properties (:mod:`tinygen.exercises.check`);
- ``stub.py``: what the student starts from — the task in its docstring, bodies that raise
  ``NotImplementedError``;
- ``reference.py``: a solution; ``wrong_*.py``: plausible mistakes the checker must catch,
  each with an ``Expect:`` line in its docstring naming words its failure message contains;
- ``hints.md``: hints, from gentle to nearly the answer, separated by lines ``---``.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import TinygenError
from ..fileio import atomic_write_text

PACKAGE_DIR = Path(__file__).resolve().parent
STATE_FILE = ".tinygen-exercises.json"
META_FIELDS = ("TITLE", "TOPIC", "DIFFICULTY", "LESSON", "FUNCTIONS")


@dataclass(frozen=True)
class Exercise:
    """One exercise folder and the metadata of its ``exercise.py``."""

    name: str
    folder: Path
    title: str
    topic: str
    difficulty: int
    lesson: str
    functions: tuple[str, ...]

    @property
    def stub(self) -> Path:
        return self.folder / "stub.py"

    @property
    def reference(self) -> Path:
        return self.folder / "reference.py"

    @property
    def wrong_variants(self) -> list[Path]:
        return sorted(self.folder.glob("wrong_*.py"))

    def hints(self) -> list[str]:
        """The hints in order: ``hints.md`` split at lines that are exactly ``---``."""
        text = (self.folder / "hints.md").read_text(encoding="utf-8")
        parts, current = [], []
        for line in text.splitlines():
            if line.strip() == "---":
                parts.append("\n".join(current).strip())
                current = []
            else:
                current.append(line)
        parts.append("\n".join(current).strip())
        return [p for p in parts if p]


def _metadata(path: Path) -> dict:
    """The literal ``TITLE = ...``-style assignments at the top level of ``exercise.py``."""
    found = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in META_FIELDS:
                found[target.id] = ast.literal_eval(node.value)
    missing = [f for f in META_FIELDS if f not in found]
    if missing:
        raise TinygenError(f"exercise file {path} lacks {', '.join(missing)}")
    return found


def all_exercises() -> list[Exercise]:
    """Every folder here with an ``exercise.py``, by name."""
    out = []
    for meta_file in sorted(PACKAGE_DIR.glob("*/exercise.py")):
        m = _metadata(meta_file)
        out.append(Exercise(meta_file.parent.name, meta_file.parent, m["TITLE"], m["TOPIC"],
                            int(m["DIFFICULTY"]), m["LESSON"], tuple(m["FUNCTIONS"])))
    return out


def get_exercise(name: str) -> Exercise:
    """The exercise called ``name`` (with or without ``.py``), or an error listing them."""
    name = name[:-3] if name.endswith(".py") else name
    exercises = all_exercises()
    for ex in exercises:
        if ex.name == name:
            return ex
    close = [ex.name for ex in exercises if name in ex.name]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise TinygenError(f"no exercise called {name!r}{hint} (`tinygen exercise list` shows "
                       f"all {len(exercises)})")


def student_file(folder: str | Path, name: str) -> Path:
    """Where a student's attempt at exercise ``name`` lives: ``folder/NAME.py``."""
    return Path(folder) / f"{name}.py"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (the status remembers which version was checked)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_state(folder: str | Path) -> dict:
    """The exercise folder's state: per exercise, hints shown and the last check's result."""
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        return {}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TinygenError(f"cannot read the exercise state {path}: {exc}; delete it to start "
                           "the hint counts afresh") from exc
    return state if isinstance(state, dict) else {}


def update_state(folder: str | Path, name: str, **fields) -> dict:
    """Set ``fields`` of exercise ``name`` in the state file (written atomically)."""
    state = load_state(folder)
    state.setdefault(name, {}).update(fields)
    atomic_write_text(Path(folder) / STATE_FILE, json.dumps(state, indent=1, sort_keys=True))
    return state


def status(folder: str | Path, ex: Exercise) -> str:
    """not started, started (no check since the last edit), failing or passing."""
    path = student_file(folder, ex.name)
    if not path.is_file():
        return "not started"
    last = load_state(folder).get(ex.name, {})
    if last.get("checked_digest") != file_digest(path):
        return "started"
    return "passing" if last.get("passed") else "failing"
