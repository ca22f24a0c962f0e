"""Every lesson in ``lessons/`` runs as a notebook in quick mode and shows its figures. The
lessons with a test of their own run there (``helpers.run_lesson`` executes the notebook);
this file covers any other lesson, so a new one is tested before it has its own test."""

from pathlib import Path

import pytest

from tests.lessons.helpers import run_lesson
from tinygen import cli

OWN_TESTS = "".join(p.read_text() for p in Path(__file__).parent.glob("test_lesson*.py"))
LESSONS = [p.stem for p in cli._lessons() if f'"{p.stem}"' not in OWN_TESTS]


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_as_a_notebook(name, tmp_path):
    run_lesson(name, tmp_path)  # no failed cell or check, every figure shown, quick metrics
    assert list(tmp_path.glob("*.png")), "a lesson draws at least one figure"
