"""The checker's subprocess: ``python -m tinygen.exercises.runner FOLDER STUDENT_FILE SEED``.

It imports the student's file and runs the exercise's properties against it, writing one
JSON line per result to its standard output; the student's own prints go to standard error,
so they cannot garble the report. The parent (:mod:`tinygen.exercises.cli`) gives it a
time limit, so a crash or an endless loop here is a failed check, not a hung command.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path


def _load(path: Path, module_name: str):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module     # as an import would (dataclasses look it up)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    folder, student_path, seed = Path(argv[0]), str(Path(argv[1]).resolve()), int(argv[2])
    report = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)                     # the student's print() now goes to stderr
    sys.stdout = sys.stderr

    def emit(**record) -> None:
        report.write(json.dumps(record) + "\n")
        report.flush()

    from .check import describe_exception, properties, run_property

    try:
        spec = _load(folder / "exercise.py", f"_exercise_{folder.name}")
        reference = _load(folder / "reference.py", f"_reference_{folder.name}")
    except Exception as exc:          # a broken exercise folder: say whose fault it is
        emit(kind="exercise", passed=False,
             message=f"the exercise {folder.name} itself failed to load (not your file): "
                     f"{type(exc).__name__}: {exc}")
        return 0
    try:
        student = _load(Path(student_path), f"_student_{folder.name}")
    except BaseException as exc:      # SyntaxError, ImportError, sys.exit(): all the student's
        if isinstance(exc, SyntaxError) and exc.filename == student_path:
            message = f"syntax error on line {exc.lineno}: {exc.msg}\n  {(exc.text or '').strip()}"
        else:
            message = describe_exception(exc, student_path)
        emit(kind="import", passed=False, message=f"could not import your file: {message}")
        return 0
    missing = [f for f in spec.FUNCTIONS if not callable(getattr(student, f, None))]
    if missing:
        emit(kind="import", passed=False,
             message=f"your file defines no function {', '.join(missing)} (keep the names "
                     "and signatures of the stub)")
        return 0
    for p in properties(spec):
        emit(kind="start", name=p.name)
        emit(kind="property", **run_property(p, student, reference, seed, student_path))
    emit(kind="done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
