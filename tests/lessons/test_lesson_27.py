"""Lesson 27 in quick mode: GRAN with T = 3 and T = 1 on 8×8 digits, three seeds each in two
worker processes, scored by the Fréchet digit distance; the canvas after each step is drawn
and every check can fail."""

from tests.lessons.helpers import (assert_fails, assert_figures, changed, failures,
                                   lesson_record)

NAME = "27_gran"


record = lesson_record(NAME)


def test_figures_and_numbers(record):
    out, m = record
    assert_figures(out, "canvas_steps.png", "fdd.png")
    assert m["data"] == "digits 8x8" and m["steps"] == 3 and m["seeds"] == [0, 1, 2]
    assert (m["many"], m["one"]) == ("T = 3", "T = 1")
    assert m["T = 3"]["params"] == m["T = 1"]["params"] > 0
    for name, steps in (("T = 3", 3), ("T = 1", 1)):
        r = m[name]
        assert [len(s) for s in r["step_fdd"]] == [steps] * 3
        assert [s[-1] for s in r["step_fdd"]] == r["fdd"]   # the last canvas is the sample
        for f, f0 in zip(r["fdd"], r["untrained_fdd"]):
            assert m["reference_fdd"] < f < f0
        assert len(r["cpu_seconds"]) == 3 and min(r["cpu_seconds"]) > 0


def test_checks_can_fail(record):
    _, m = record
    untrained = m["T = 3"]["untrained_fdd"]
    fdd = m["T = 3"]["fdd"]
    assert_fails(NAME, changed(m, ("T = 3", "fdd"), fdd[:2] + [0.6 * untrained[2]]),
                 "T = 3: FDD below half")
    assert_fails(NAME, changed(m, ("T = 1", "max_abs_loss"), float("nan")),
                 "T = 1: the losses stayed finite")
    assert_fails(NAME, changed(m, ("T = 1", "params"), m["T = 3"]["params"] + 1),
                 "the same parameters")
    steps = m["T = 3"]["step_fdd"]
    first = steps[1][0]
    assert_fails(NAME, changed(m, ("T = 3", "step_fdd"),
                               [steps[0], [first, first + 1, first + 2], steps[2]]),
                 "the last canvas")
    one = m["T = 1"]["fdd"]
    better = [f - 1.0 for f in one]   # ahead on every seed: that check passes ...
    assert not [f for f in failures(NAME, changed(m, ("T = 3", "fdd"), better), quick=False)
                if "beats T = 1" in f]
    assert_fails(NAME, changed(m, ("T = 3", "fdd"), better[:2] + [one[2] + 1.0]),
                 "T = 3 beats T = 1 on every seed", quick=False)   # ... behind on one: fails
