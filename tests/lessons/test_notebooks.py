"""Every lesson in ``lessons/`` runs as a notebook (jupytext + nbclient, quick mode through the
TINYGEN_* variables), writes its figures and metrics.json, and each figure is shown in the
executed notebook. New lessons are picked up without editing this file."""

import json

import pytest

from tinygen import book, cli

nbformat = pytest.importorskip("nbformat", reason="needs the notebooks extra")
pytest.importorskip("nbclient", reason="needs the notebooks extra")
pytest.importorskip("jupytext", reason="needs the notebooks extra")
pytest.importorskip("ipykernel", reason="needs the notebooks extra")

LESSONS = [path.stem for path in cli._lessons()]


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_as_a_notebook(name, tmp_path):
    executed = book.execute_lesson(name, tmp_path, quick=True, timeout=300)
    assert executed == tmp_path / f"{name}.ipynb"
    assert json.loads((tmp_path / "metrics.json").read_text())["quick"] is True
    figures = {p.name for p in tmp_path.glob("*.png")}
    assert figures, "a lesson draws at least one figure"
    nb = nbformat.read(executed, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    shown = {o.metadata["tinygen"]["figure"] for o in outputs if "tinygen" in o.get("metadata", {})}
    assert shown == figures
    printed = "".join(o.get("text", "") for o in outputs)
    assert "check failed" not in printed
    assert not [o for o in outputs if o.output_type == "error"]
