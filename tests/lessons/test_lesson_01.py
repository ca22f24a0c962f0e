"""Lesson 1 runs end to end in quick mode through tinygen.lesson, draws its figure and passes
its own checks; the checks fail on a record with a wrong or missing comparison; an unknown
flag is an error."""

import subprocess
import sys

from tests.lessons.helpers import ROOT, assert_fails, assert_figures, changed, run_lesson

NAME = "01_autodiff"


def test_lesson_01_quick(tmp_path):
    m = run_lesson(NAME, tmp_path, seed=3, device="cpu")
    assert_figures(tmp_path, "tanh_derivatives.png")
    assert m["seed"] == 3 and m["device"] == "cpu" and m["grid_points"] == 41
    errors = m["errors"]
    assert len(errors) == 10  # hand formula, finite differences, 2nd derivative, HVP, grid
    assert all(0 <= err <= 1e-6 for err in errors.values())
    assert m["max_abs_error"] == max(errors.values())

    # the checks are live: a wrong derivative, a NaN, a lost comparison each fail
    name = "tanh'' on the grid: autodiff vs closed form"
    assert_fails(NAME, changed(m, ("errors", name), 2e-6), name)
    assert_fails(NAME, changed(m, ("errors", name), float("nan")), name)
    lost = changed(m, "errors", {k: v for k, v in errors.items() if k != name})
    assert_fails(NAME, lost, "9 comparisons recorded")


def test_lesson_01_unknown_flag_is_an_error():
    proc = subprocess.run([sys.executable, f"lessons/{NAME}.py", "--quik"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "unrecognized arguments: --quik" in proc.stderr
