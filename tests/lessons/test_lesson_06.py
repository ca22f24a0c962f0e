"""Lesson 06 in quick mode: a CNN on MNIST-5k, its figures and metrics, kernel == twin."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ocr_cnn_quick(tmp_path):
    run = subprocess.run([sys.executable, "lessons/06_ocr_cnn.py", "--quick", "--out",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "confusion.png").stat().st_size > 10_000
    assert (tmp_path / "misclassified.png").stat().st_size > 5_000
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["quick"] and m["test_images"] == 1000 and m["train_images"] == 1000
    assert 0.7 < m["test_accuracy"] <= 1.0
    assert m["test_errors"] == round((1 - m["test_accuracy"]) * m["test_images"])
    assert m["fashion"] is None  # quick mode never touches Fashion-MNIST
    for dtype, tolerance in (("float32", 1e-5), ("float64", 1e-10)):
        c = m["twin_vs_kernel"][dtype]
        assert c["max_abs_diff"] < tolerance and c["grad_rel_diff"] < tolerance
        assert c["kernel_ms"] > 0 and c["twin_ms"] > 0
