"""Lessons 03–05 in quick mode: each runs end to end, writes its figures and metrics.json,
and its key result holds (the lesson's own checks make it exit non-zero otherwise)."""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, run_lesson


def test_lesson_03_mixup_quick(tmp_path):
    m = run_lesson("03_mixup", tmp_path)
    assert_figures(tmp_path, "segment_probabilities.png", "accuracy_linearity.png")
    for method in ("plain", "SamplePairing", "mixup"):
        assert m["test_accuracy"][method]["mean"] > 0.6  # chance is 0.1
    lin = m["linearity_deviation"]
    assert 0 <= lin["mixup"] < lin["plain"]
    assert 0 <= lin["SamplePairing"] < lin["plain"]
    assert m["pairs"] >= 50

    assert m["untrained_accuracy"] < 0.3

    # the checks are live: an untrained model, mixup no more linear than plain training
    assert_fails("03_mixup", changed(m, ("test_accuracy", "mixup", "mean"), 0.1), "mixup test")
    near = changed(m, "untrained_accuracy", m["test_accuracy"]["plain"]["mean"] - 0.3)
    assert_fails("03_mixup", near, "plain test accuracy")
    assert_fails("03_mixup", changed(m, ("linearity_deviation", "mixup"), lin["plain"]),
                 "mixup is more linear")


def test_lesson_04_self_orthogonality_quick(tmp_path):
    m = run_lesson("04_self_orthogonality", tmp_path)
    assert_figures(tmp_path, "gram_matrices.png", "training.png")
    for variant in ("none", "averaged", "summed"):
        assert m["test_accuracy"][variant] > 0.6
    gram, theta = m["gram_mean_abs_offdiag"], m["theta_mean_abs_offdiag"]
    assert 0 < gram["averaged"] < gram["none"] <= 1
    assert 0 < theta["averaged"] < theta["none"] <= 1
    assert (m["lambda1"], m["lambda2"], m["gamma"]) == (100.0, 1.0, 10.0)

    # the checks are live: an untrained model, a regulariser that does nothing
    name = "04_self_orthogonality"
    assert m["untrained_accuracy"] < 0.3
    assert_fails(name, changed(m, ("test_accuracy", "summed"), 0.1), "summed: test accuracy")
    near = changed(m, "untrained_accuracy", m["test_accuracy"]["none"] - 0.3)
    assert_fails(name, near, "none: test accuracy")
    assert_fails(name, changed(m, ("gram_mean_abs_offdiag", "averaged"), gram["none"]),
                 "filters are more orthogonal")
    assert_fails(name, changed(m, ("theta_mean_abs_offdiag", "averaged"), theta["none"]), "ϑ")


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

    # the checks are live: a smooth max off its bound or gradient, an untrained model
    name = "05_function_smoothing"
    assert_fails(name, changed(m, ("smooth_max", "max_bound_violation"), 1e-3), "max <= smax")
    assert_fails(name, changed(m, ("smooth_max", "max_grad_softmax_error"), float("nan")),
                 "softmax(Kx)")
    assert_fails(name, changed(m, ("test_accuracy", "cross-entropy"), 0.1), "cross-entropy:")
    assert m["untrained_accuracy"] < 0.3
    near = changed(m, "untrained_accuracy", m["test_accuracy"]["smooth accuracy"] - 0.3)
    assert_fails(name, near, "smooth accuracy: test accuracy")
