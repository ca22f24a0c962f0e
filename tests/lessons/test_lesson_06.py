"""Lesson 06 in quick mode: a CNN on MNIST-5k, its figures and metrics, kernel == twin."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, run_lesson

NAME = "06_ocr_cnn"


def test_ocr_cnn_quick(tmp_path):
    m = run_lesson(NAME, tmp_path)
    assert_figures(tmp_path, "confusion.png")
    assert_figures(tmp_path, "misclassified.png", min_bytes=5_000)
    assert m["test_images"] == 1000 and m["train_images"] == 1000
    assert 0.7 < m["test_accuracy"] <= 1.0
    assert m["test_errors"] == round((1 - m["test_accuracy"]) * m["test_images"])
    assert m["fashion"] is None  # quick mode never touches Fashion-MNIST
    for dtype, tolerance in (("float32", 1e-5), ("float64", 1e-10)):
        c = m["twin_vs_kernel"][dtype]
        assert c["max_abs_diff"] < tolerance and c["grad_rel_diff"] < tolerance
        assert c["kernel_ms"] > 0 and c["twin_ms"] > 0

    assert m["untrained_accuracy"] < 0.3

    # the checks are live: an untrained model, a kernel that drifts from its twin
    assert_fails(NAME, changed(m, "test_accuracy", 0.1), "held-out test accuracy 0.100 >")
    near = changed(m, "untrained_accuracy", m["test_accuracy"] - 0.3)
    assert_fails(NAME, near, "> untrained")
    assert_fails(NAME, changed(m, ("twin_vs_kernel", "float64", "grad_rel_diff"), 1e-8),
                 "float64: the kernel and the composed twin agree")
    assert_fails(NAME, changed(m, "test_accuracy", 0.96), "held-out", quick=False)
