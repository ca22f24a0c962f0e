"""Lesson 26 in quick mode: LAPGAN (4×4 → 8×8 on 8×8 digits) vs a single-scale DCGAN, each
part trained as its own job in worker processes, scored by the Fréchet digit distance; the
figures and numbers are written and every check can fail."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "26_lapgan"


record = lesson_record(NAME)


def test_figures_and_numbers(record):
    out, m = record
    assert_figures(out, "pyramid.png", "samples.png")
    assert m["data"] == "digits 8x8" and m["sides"] == [4, 8] and m["fd_side"] == 8
    f = m["fdd"]
    assert f["real_test"] < f["LAPGAN"] < f["untrained_pyramid"]
    assert f["real_test"] < f["DCGAN"] < f["untrained_pyramid"]
    assert m["stage_fdd"]["1"] == f["LAPGAN"]        # the last stage is the full sample
    assert m["finest_residual"]["real"] > 0 and m["finest_residual"]["LAPGAN"] > 0
    assert m["parameters"]["LAPGAN"] > 0 and m["parameters"]["DCGAN"] > 0
    # every part was one job, with the same penalised loss for every critic
    assert set(m["cpu_seconds"]) == {"coarse", "level 1", "DCGAN"} and m["r1"] > 0


def test_checks_can_fail(record):
    _, m = record
    f = m["fdd"]
    assert_fails(NAME, changed(m, ("fdd", "LAPGAN"), 0.6 * f["untrained_pyramid"]),
                 "LAPGAN's FDD")
    assert_fails(NAME, changed(m, ("stage_fdd", "1"), m["stage_fdd"]["0"] + 1.0),
                 "level 1 improves on its input")
    assert_fails(NAME, changed(m, "max_abs_loss", float("nan")), "the losses stayed finite")
    assert_fails(NAME, changed(m, ("fdd", "DCGAN"), f["LAPGAN"] - 0.1), "beats the "
                 "single-scale DCGAN", quick=False)
