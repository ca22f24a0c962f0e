"""Lesson 02 in quick mode: fit on MNIST-5k, custom metric, extra loss, capture, EMA."""

from tests.lessons.helpers import assert_figures, run_lesson


def test_keras_tricks_quick(tmp_path):
    m = run_lesson("02_keras_tricks", tmp_path)
    assert_figures(tmp_path, "training.png")
    assert m["test_accuracy_raw"] > 0.8
    assert m["test_accuracy_ema"] >= m["test_accuracy_raw"] - 0.005
    assert 0.8 < m["top2_train"] <= 1.0
