"""Every exercise folder, found automatically: the untouched stub fails with a helpful
message, the reference passes, and each wrong variant fails naming its mistake (the words
of its ``Expect:`` lines). One checker subprocess per case, as a student's check runs."""

import ast
import re
import shutil

import pytest

from tinygen.cli import lessons_dir
from tinygen.exercises import all_exercises
from tinygen.exercises.cli import check_file

EXERCISES = all_exercises()
CASES = [pytest.param(ex, path, id=f"{ex.name}-{path.stem}")
         for ex in EXERCISES for path in [ex.stub, ex.reference, *ex.wrong_variants]]


def _text(report: dict) -> str:
    return "\n".join(f"{r.get('description', r['name'])}\n{r.get('message', '')}\n"
                     f"{r.get('advice', '')}" for r in report["results"] if not r["passed"])


def _expected(path) -> list[str]:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return re.findall(r"^Expect: (.+)$", doc, flags=re.M)


def test_there_are_at_least_fifteen_exercises():
    assert len(EXERCISES) >= 15, [ex.name for ex in EXERCISES]


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda ex: ex.name)
def test_exercise_folder_is_complete(ex):
    lessons = {p.stem for p in lessons_dir().glob("*.py")}
    assert ex.lesson == "—" or ex.lesson in lessons, ex.lesson
    assert 1 <= ex.difficulty <= 3 and ex.title and ex.topic
    assert len(ex.wrong_variants) >= 2
    assert all(_expected(p) for p in ex.wrong_variants), "each wrong variant needs Expect:"
    assert len(ex.hints()) >= 2
    stub = ast.parse(ex.stub.read_text(encoding="utf-8"))
    assert len(ast.get_docstring(stub) or "") > 200, "the stub's docstring states the task"
    defined = {n.name for n in stub.body if isinstance(n, ast.FunctionDef)}
    assert set(ex.functions) <= defined


@pytest.mark.parametrize("ex, path", CASES)
def test_checker_verdict(ex, path, tmp_path):
    target = tmp_path / f"{ex.name}.py"
    shutil.copy(path, target)
    report = check_file(ex, target, timeout=60)
    text = _text(report)
    assert all(r["kind"] == "property" for r in report["results"]), text
    if path == ex.reference:
        assert report["passed"], text
    elif path == ex.stub:
        assert not report["passed"]
        assert all("NotImplementedError" in r["message"] for r in report["results"]), text
    else:
        assert not report["passed"], f"{path.name} passes the checker"
        for words in _expected(path):
            assert words.lower() in text.lower(), f"{words!r} not in:\n{text}"
