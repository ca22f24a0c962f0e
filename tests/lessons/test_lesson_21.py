"""Lesson 21 in quick mode: DCGAN and a projection CGAN on 8×8 digits, scored by the Fréchet
digit distance; the CGAN draws the classes it is asked for; every check can fail."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, failures, lesson_record

NAME = "21_dcgan_cgan"


record = lesson_record(NAME)


def test_figures_and_numbers(record):
    out, m = record
    assert_figures(out, "cgan_grid.png", "samples.png", "scores.png")
    assert m["data"] == "digits 8x8" and m["classifier_test_accuracy"] > 0.9
    assert m["real"]["fdd"] < m["dcgan"]["fdd"] < m["untrained"]["fdd"]
    assert m["real"]["fdd"] < m["cgan"]["fdd"] < m["untrained"]["fdd"]
    assert len(m["cgan_class_accuracy_per_class"]) == 10
    assert abs(sum(m["cgan_class_accuracy_per_class"]) / 10 - m["cgan_class_accuracy"]) < 1e-9
    assert m["untrained_cgan_class_accuracy"] < 0.4


def test_every_check_can_fail(record):
    _, m = record
    assert_fails(NAME, changed(m, "cgan_class_accuracy", 0.45), "CGAN samples are recognised")
    assert_fails(NAME, changed(m, "cgan_class_accuracy", 0.85), "CGAN samples are recognised",
                 quick=False)
    assert_fails(NAME, changed(m, "untrained_cgan_class_accuracy", m["cgan_class_accuracy"]),
                 "CGAN samples are recognised")
    top = m["untrained"]
    assert_fails(NAME, changed(m, ("dcgan", "fdd"), top["fdd"] / 2), "dcgan: FDD")
    assert_fails(NAME, changed(m, ("cgan", "score"), top["score"] + 0.5), "cgan: classifier")
    assert_fails(NAME, changed(m, ("real", "fdd"), m["cgan"]["fdd"] + 1), "cgan: real test")
    assert_fails(NAME, changed(m, "max_abs_loss", float("nan")), "losses stayed finite")


def test_fashion_bar_is_relative_to_the_classifier(record):
    """With --fashion the CGAN must reach 90% of the Fashion classifier's accuracy on real
    images: 0.70 fails and 0.80 passes when that classifier is right 85% of the time."""
    _, m = record
    fashion = changed(changed(m, "data", "fashion 14x14"), "classifier_test_accuracy", 0.85)
    assert_fails(NAME, changed(fashion, "cgan_class_accuracy", 0.70),
                 "CGAN samples are recognised", quick=False)
    passing = changed(fashion, "cgan_class_accuracy", 0.80)
    assert not any("CGAN samples" in f for f in failures(NAME, passing, quick=False))
