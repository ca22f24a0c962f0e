"""Lesson 24 in quick mode: BiGAN-QP on 8×8 digits; encoded-then-generated test digits keep
their class, its samples beat a plain autoencoder's; every check can fail."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "24_bigan_qp"


record = lesson_record(NAME)


def test_figures_and_numbers(record):
    out, m = record
    assert_figures(out, "reconstructions.png", "interpolations.png")
    b, a, u = m["bigan_qp"], m["autoencoder"], m["untrained"]
    assert a["mse"] < b["mse"] < u["mse"]           # the autoencoder copies pixels best
    assert u["class_kept"] < 0.4 < b["class_kept"]
    assert 0.3 < b["code_std"] < 2.0


def test_every_check_can_fail(record):
    _, m = record
    assert_fails(NAME, changed(m, ("bigan_qp", "class_kept"), 0.45), "keep their class")
    assert_fails(NAME, changed(m, ("bigan_qp", "class_kept"), 0.65), "keep their class",
                 quick=False)
    assert_fails(NAME, changed(m, ("autoencoder", "fdd_samples"), 1.0), "closer to real")
    assert_fails(NAME, changed(m, ("untrained", "mse"), 0.01), "reconstructions beat")
    assert_fails(NAME, changed(m, "max_abs_loss", float("nan")), "finite")
