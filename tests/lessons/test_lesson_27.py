"""Lesson 27 in quick mode: GRAN with T = 3 and T = 1 on 8×8 digits, scored by the Fréchet
digit distance; the canvas after each step is drawn and every check can fail."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "27_gran"


record = lesson_record(NAME)


def test_figures_and_numbers(record):
    out, m = record
    assert_figures(out, "canvas_steps.png", "fdd.png")
    assert m["data"] == "digits 8x8" and m["steps"] == 3
    assert (m["many"], m["one"]) == ("T = 3", "T = 1")
    assert len(m["T = 3"]["step_fdd"]) == 3 and len(m["T = 1"]["step_fdd"]) == 1
    for name in ("T = 3", "T = 1"):
        r = m[name]
        assert r["step_fdd"][-1] == r["quality"]["fdd"]   # the last canvas is the sample
        assert m["reference"]["fdd"] < r["quality"]["fdd"] < r["untrained"]["fdd"]
        assert r["cpu_seconds"] > 0


def test_checks_can_fail(record):
    _, m = record
    untrained = m["T = 3"]["untrained"]["fdd"]
    assert_fails(NAME, changed(m, ("T = 3", "quality", "fdd"), 0.6 * untrained),
                 "T = 3: FDD")
    assert_fails(NAME, changed(m, ("T = 1", "max_abs_loss"), float("nan")),
                 "T = 1: the losses stayed finite")
    first = m["T = 3"]["step_fdd"][0]
    assert_fails(NAME, changed(m, ("T = 3", "step_fdd"), [first, first + 1, first + 2]),
                 "the last canvas")
    one = m["T = 1"]["quality"]["fdd"]
    assert_fails(NAME, changed(m, ("T = 3", "quality", "fdd"), one + 1.0), "T = 3 (FDD",
                 quick=False)
