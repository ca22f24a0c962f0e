"""Lesson 02 in quick mode: fit on MNIST-5k, custom metric, extra loss, capture, EMA."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, failures, run_lesson

NAME = "02_keras_tricks"


def test_keras_tricks_quick(tmp_path):
    m = run_lesson(NAME, tmp_path)
    assert_figures(tmp_path, "training.png")
    assert m["test_accuracy_raw"] > 0.8
    assert m["test_accuracy_ema"] >= m["test_accuracy_raw"] - 0.005
    assert 0.8 < m["top2_train"] <= 1.0

    assert m["untrained_accuracy"] < 0.3  # measured before training: about chance

    # the checks are live: a model that learned too little, an EMA that hurts
    near = changed(m, "untrained_accuracy", m["test_accuracy_raw"] - 0.3)
    assert_fails(NAME, near, "> untrained")
    untrained = changed(changed(m, "test_accuracy_raw", 0.1), "test_accuracy_ema", 0.1)
    assert_fails(NAME, untrained, "raw test accuracy 0.100 > 0.8")
    assert_fails(NAME, changed(m, "test_accuracy_ema", m["test_accuracy_raw"] - 0.02), "EMA")
    full = changed(changed(m, "test_accuracy_raw", 0.935), "test_accuracy_ema", 0.934)
    assert failures(NAME, full, quick=False) == []  # the README's full run
    assert_fails(NAME, changed(full, "test_accuracy_raw", 0.91), "raw test accuracy", quick=False)
