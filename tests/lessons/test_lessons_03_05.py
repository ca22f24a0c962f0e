"""Lessons 03–05 in quick mode: each runs end to end, writes its figures and metrics.json,
and its key result holds (the lesson's own checks make it exit non-zero otherwise)."""

import pytest

from tests.lessons.helpers import assert_figures, run_lesson


def test_lesson_03_mixup_quick(tmp_path):
    m = run_lesson("03_mixup", tmp_path)
    assert_figures(tmp_path, "segment_probabilities.png", "accuracy_linearity.png")
    for method in ("plain", "SamplePairing", "mixup"):
        assert m["test_accuracy"][method]["mean"] > 0.6  # chance is 0.1
    lin = m["linearity_deviation"]
    assert 0 <= lin["mixup"] < lin["plain"]
    assert 0 <= lin["SamplePairing"] < lin["plain"]
    assert m["pairs"] >= 50


def test_lesson_04_self_orthogonality_quick(tmp_path):
    m = run_lesson("04_self_orthogonality", tmp_path)
    assert_figures(tmp_path, "gram_matrices.png", "training.png")
    for variant in ("none", "averaged", "summed"):
        assert m["test_accuracy"][variant] > 0.6
    gram, theta = m["gram_mean_abs_offdiag"], m["theta_mean_abs_offdiag"]
    assert 0 < gram["averaged"] < gram["none"] <= 1
    assert 0 < theta["averaged"] < theta["none"] <= 1
    assert (m["lambda1"], m["lambda2"], m["gamma"]) == (100.0, 1.0, 10.0)


def test_lesson_05_function_smoothing_quick(tmp_path):
    m = run_lesson("05_function_smoothing", tmp_path)
    assert_figures(tmp_path, "smooth_max.png", "training.png")
    assert m["smooth_max"]["max_bound_violation"] <= 1e-5
    assert m["smooth_max"]["max_grad_softmax_error"] <= 1e-5
    for name in ("cross-entropy", "smooth accuracy"):
        assert m["test_accuracy"][name] > 0.6
    diff = m["accuracy_difference_smooth_minus_ce"]
    assert diff == pytest.approx(m["test_accuracy"]["smooth accuracy"]
                                 - m["test_accuracy"]["cross-entropy"])
