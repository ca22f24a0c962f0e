"""tinygen.lesson: strict flags as a script, TINYGEN_* variables in a notebook, and a verdict
judged from the saved metrics.json."""

import json
import sys
from pathlib import Path

import pytest

from tinygen import lesson

ENV = ("TINYGEN_QUICK", "TINYGEN_DEVICE", "TINYGEN_SEED", "TINYGEN_OUT")


@pytest.fixture
def script(monkeypatch):
    """Not in a notebook, with no TINYGEN_* variables set."""
    monkeypatch.setattr(lesson, "in_notebook", lambda: False)
    for variable in ENV:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


@pytest.fixture
def notebook(script, monkeypatch):
    """Inside a Jupyter kernel, whose command line holds its own flags."""
    monkeypatch.setattr(lesson, "in_notebook", lambda: True)
    monkeypatch.setattr("sys.argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    return monkeypatch


def test_flags(script, tmp_path):
    args = lesson.parse("x", "test", ["--quick", "--seed", "3", "--out", str(tmp_path / "o")])
    assert args.quick and args.seed == 3 and args.device == "cpu"
    assert (tmp_path / "o").is_dir()


def test_unknown_flag_is_an_error(script, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        lesson.parse("x", "test", ["--quik", "--out", str(tmp_path)])
    assert stop.value.code == 2
    assert "unrecognized arguments: --quik" in capsys.readouterr().err


def test_script_reads_its_command_line_not_the_environment(script, tmp_path):
    script.setattr("sys.argv", ["lessons/x.py", "--out", str(tmp_path)])
    script.setenv("TINYGEN_QUICK", "1")
    assert not lesson.parse("x", "test").quick
    script.setattr("sys.argv", ["lessons/x.py", "-f", "/tmp/kernel-1.json"])
    with pytest.raises(SystemExit):
        lesson.parse("x", "test")


def test_lesson_flags(script, tmp_path):
    flags = {"--jobs": {"type": int, "default": 2}}
    assert lesson.parse("x", "test", ["--out", str(tmp_path)], flags).jobs == 2
    assert lesson.parse("x", "test", ["--jobs", "1", "--out", str(tmp_path)], flags).jobs == 1


def test_notebook_ignores_the_kernel_flags(notebook, tmp_path):
    notebook.chdir(tmp_path)
    args = lesson.parse("x", "test")
    assert not args.quick and args.seed == 0 and args.device == "cpu"
    assert args.out == Path("runs") / "x" and (tmp_path / "runs" / "x").is_dir()


def test_notebook_takes_settings_from_the_environment(notebook, tmp_path, capsys):
    notebook.setenv("TINYGEN_QUICK", "1")
    notebook.setenv("TINYGEN_SEED", "7")
    notebook.setenv("TINYGEN_DEVICE", "cpu")
    notebook.setenv("TINYGEN_OUT", str(tmp_path / "nb"))
    args = lesson.parse("x", "test")
    assert args.quick and args.seed == 7 and args.device == "cpu" and args.out == tmp_path / "nb"
    assert "TINYGEN_" in capsys.readouterr().out
    notebook.setenv("TINYGEN_QUICK", "0")
    assert not lesson.parse("x", "test").quick


@pytest.mark.parametrize("variable, value, expected", [
    ("TINYGEN_QUICK", "maybe", "TINYGEN_QUICK='maybe'"),
    ("TINYGEN_SEED", "seven", "invalid int value: 'seven'"),
])
def test_notebook_bad_variable(notebook, tmp_path, capsys, variable, value, expected):
    notebook.setenv("TINYGEN_OUT", str(tmp_path))
    notebook.setenv(variable, value)
    with pytest.raises(SystemExit):
        lesson.parse("x", "test")
    assert expected in capsys.readouterr().err


def test_notebook_detection(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert not lesson.in_notebook()
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    assert lesson.in_notebook()


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    return [(m["score"] > m["baseline"], f"score {m['score']} > baseline {m['baseline']}"),
            (quick, "quick")]


def test_finish_judges_the_saved_record(script, tmp_path, capsys):
    args = lesson.parse("x", "test", ["--quick", "--out", str(tmp_path)])
    lesson.finish({"score": 2, "baseline": 1}, args, checks)
    out = capsys.readouterr().out
    assert "check passed: score 2 > baseline 1" in out and "check passed: quick" in out
    assert json.loads((tmp_path / "metrics.json").read_text())["score"] == 2


def test_finish_fails_loudly(script, tmp_path, capsys):
    args = lesson.parse("x", "test", ["--out", str(tmp_path)])
    with pytest.raises(SystemExit) as stop:
        lesson.finish({"score": 1, "baseline": 1}, args, checks)
    assert str(stop.value) == "2 of 2 checks failed"
    out = capsys.readouterr().out
    assert "check failed: score 1 > baseline 1" in out and "check failed: quick" in out
    assert (tmp_path / "metrics.json").is_file()  # the record is kept for a post-mortem
