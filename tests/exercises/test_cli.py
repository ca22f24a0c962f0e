"""``tinygen exercise``: list, start, check (reports, crashes, endless loops), hint, solution,
and the exercise files shipping as package data."""

import dataclasses
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from tinygen.cli import main
from tinygen.errors import TinygenError
from tinygen.exercises import STATE_FILE, all_exercises, get_exercise, load_state
from tinygen.exercises.cli import check_file

NAME = "activation_vjps"
ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    code = main(["exercise", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def status_of(out: str, name: str) -> str:
    """The STATUS column of ``name``'s row in `tinygen exercise list`."""
    row = next(line for line in out.splitlines() if line.split()[0:1] == [name])
    return row.split("  ")[-1].strip()


def test_list_shows_every_exercise_and_its_status(tmp_path, capsys):
    code, out, _ = run(capsys, "list", "--dir", str(tmp_path))
    assert code == 0
    for ex in all_exercises():
        assert ex.name in out
    assert status_of(out, NAME) == "not started"
    run(capsys, "start", NAME, "--dir", str(tmp_path))
    _, out, _ = run(capsys, "list", "--dir", str(tmp_path))
    assert status_of(out, NAME) == "started"
    run(capsys, "check", NAME, "--dir", str(tmp_path))
    _, out, _ = run(capsys, "list", "--dir", str(tmp_path))
    assert status_of(out, NAME) == "failing"
    run(capsys, "solution", NAME, "--dir", str(tmp_path), "--yes", "--write")
    run(capsys, "check", NAME, "--dir", str(tmp_path))
    _, out, _ = run(capsys, "list", "--dir", str(tmp_path))
    assert status_of(out, NAME) == "passing"


def test_start_writes_the_stub_and_never_overwrites_without_force(tmp_path, capsys):
    ex = get_exercise(NAME)
    code, out, _ = run(capsys, "start", NAME, "--dir", str(tmp_path))
    path = tmp_path / f"{NAME}.py"
    assert code == 0 and path.read_text() == ex.stub.read_text()
    path.write_text("# my work\n")
    code, _, err = run(capsys, "start", NAME, "--dir", str(tmp_path))
    assert code == 2 and "already exists" in err and "--force" in err
    assert path.read_text() == "# my work\n"
    assert run(capsys, "start", NAME, "--dir", str(tmp_path), "--force")[0] == 0
    assert path.read_text() == ex.stub.read_text()


def test_unknown_exercise_is_a_one_line_error(tmp_path, capsys):
    code, _, err = run(capsys, "start", "activation", "--dir", str(tmp_path))
    assert code == 2 and "no exercise called 'activation'" in err and NAME in err
    with pytest.raises(TinygenError, match="no exercise"):
        get_exercise("nope")


def test_check_json_report(tmp_path, capsys):
    (tmp_path / f"{NAME}.py").write_text(get_exercise(NAME).reference.read_text())
    code, out, _ = run(capsys, "check", NAME, "--dir", str(tmp_path), "--json", "--seed", "7")
    report = json.loads(out)
    assert code == 0 and report["passed"] and report["seed"] == 7
    assert report["exercise"] == NAME and len(report["results"]) >= 3
    assert all(r["passed"] and r["description"] for r in report["results"])


def test_check_prints_seed_counterexample_and_expected(tmp_path, capsys):
    ex = get_exercise(NAME)
    (tmp_path / f"{NAME}.py").write_text((ex.folder / "wrong_sign.py").read_text())
    code, out, _ = run(capsys, "check", NAME, "--dir", str(tmp_path), "--seed", "3")
    assert code == 1
    assert "seed 3" in out and "FAIL" in out and "PASS" in out
    assert "x = " in out and "got" in out and "expected" in out and "not yet" in out


def test_check_without_a_file_says_how_to_start(tmp_path, capsys):
    code, _, err = run(capsys, "check", NAME, "--dir", str(tmp_path))
    assert code == 2 and f"tinygen exercise start {NAME}" in err


@pytest.mark.parametrize("source, words", [
    ("def tanh_vjp(x, g:\n", "syntax error on line 1"),
    ("import no_such_module_xyz\n", "ModuleNotFoundError"),
    ("import sys\nsys.exit(3)\n", "could not import your file"),
    ("def tanh_vjp(x, g):\n    return g\n", "defines no function sigmoid_vjp, softplus_vjp"),
    ("import os\ndef f(x, g):\n    os._exit(0)\ntanh_vjp = sigmoid_vjp = softplus_vjp = f\n",
     "stopped early"),
    ("def f(x, g):\n    return 1 / 0\ntanh_vjp = sigmoid_vjp = softplus_vjp = f\n",
     "ZeroDivisionError"),
    ("input()\n", "EOFError"),
])
def test_broken_files_fail_clearly(tmp_path, source, words):
    path = tmp_path / f"{NAME}.py"
    path.write_text(source)
    report = check_file(get_exercise(NAME), path)
    text = "\n".join(r["message"] for r in report["results"])
    assert not report["passed"] and words in text
    assert "tinygen/exercises" not in text   # no traceback of tinygen's own


def test_endless_loop_times_out(tmp_path):
    path = tmp_path / f"{NAME}.py"
    path.write_text("def f(x, g):\n    while True:\n        pass\n"
                    "tanh_vjp = sigmoid_vjp = softplus_vjp = f\n")
    report = check_file(get_exercise(NAME), path, timeout=8)
    assert not report["passed"]
    assert report["results"][-1]["kind"] == "timeout"
    assert "endless loop" in report["results"][-1]["message"]
    assert "tanh_rule" in report["results"][-1]["message"]


def test_hints_come_one_more_per_call_and_are_remembered(tmp_path, capsys):
    hints = get_exercise(NAME).hints()
    for k in range(1, len(hints) + 2):
        code, out, _ = run(capsys, "hint", NAME, "--dir", str(tmp_path))
        assert code == 0 and out.count("hint ") == min(k, len(hints))
        assert load_state(tmp_path)[NAME]["hints_shown"] == min(k, len(hints))
    assert "last hint" in out
    assert not [p for p in tmp_path.iterdir() if p.name != STATE_FILE]  # no temp files left


def test_solution_prints_and_writes_keeping_the_students_file(tmp_path, capsys):
    ex = get_exercise(NAME)
    code, out, _ = run(capsys, "solution", NAME, "--yes")
    assert code == 0 and out == ex.reference.read_text()
    path = tmp_path / f"{NAME}.py"
    path.write_text("# my attempt\n")
    code, out, _ = run(capsys, "solution", NAME, "--dir", str(tmp_path), "--yes", "--write")
    assert path.read_text() == ex.reference.read_text()
    assert (tmp_path / f"{NAME}.py.orig").read_text() == "# my attempt\n"


def test_solution_asks_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code, out, _ = run(capsys, "solution", NAME)
    assert code == 0 and out.strip() == "not shown"


def test_exercise_files_ship_as_package_data():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "tinygen.exercises" in config["packages"]
    patterns = config["package-data"]["tinygen.exercises"]
    folder = ROOT / "tinygen" / "exercises"
    for ex in all_exercises():
        for path in ex.folder.iterdir():
            if path.is_file() and path.suffix in (".py", ".md"):
                rel = path.relative_to(folder)
                assert any(rel.match(p) for p in patterns), f"{rel} is not package data"


def test_check_without_hypothesis_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / f"{NAME}.py"
    path.write_text("")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "hypothesis" else real(name, *a))
    with pytest.raises(TinygenError, match="needs hypothesis: pip install hypothesis"):
        check_file(get_exercise(NAME), path)


def test_a_broken_exercise_folder_is_not_blamed_on_the_student(tmp_path, monkeypatch):
    folder = tmp_path / "broken"
    shutil.copytree(get_exercise(NAME).folder, folder)
    (folder / "reference.py").write_text("raise RuntimeError('oops')\n")
    ex = dataclasses.replace(get_exercise(NAME), folder=folder)
    path = tmp_path / f"{NAME}.py"
    path.write_text((folder / "stub.py").read_text())
    report = check_file(ex, path)
    assert not report["passed"]
    assert report["results"][0]["kind"] == "exercise"
    assert "itself failed to load (not your file)" in report["results"][0]["message"]


def test_check_leaves_nothing_but_the_state_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / f"{NAME}.py").write_text(get_exercise(NAME).reference.read_text())
    assert run(capsys, "check", NAME)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exercises"]
    assert sorted(p.name for p in (tmp_path / "exercises").iterdir()) == [
        STATE_FILE, f"{NAME}.py"]


def test_a_corrupt_state_file_is_named_with_the_fix(tmp_path, capsys):
    (tmp_path / STATE_FILE).write_text("{not json")
    code, _, err = run(capsys, "hint", NAME, "--dir", str(tmp_path))
    assert code == 2 and STATE_FILE in err and "delete it" in err


def test_exercise_metadata_must_be_complete(tmp_path):
    from tinygen.exercises import _metadata

    (tmp_path / "exercise.py").write_text('TITLE = "t"\nTOPIC = "x"\n')
    with pytest.raises(TinygenError, match="lacks DIFFICULTY, LESSON, FUNCTIONS"):
        _metadata(tmp_path / "exercise.py")
