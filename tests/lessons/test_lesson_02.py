"""Lesson 02 in quick mode: fit on MNIST-5k, custom metric, extra loss, capture, EMA."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_keras_tricks_quick(tmp_path):
    run = subprocess.run([sys.executable, "lessons/02_keras_tricks.py", "--quick", "--out",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "training.png").stat().st_size > 10_000
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["quick"] and m["test_accuracy_raw"] > 0.8
    assert m["test_accuracy_ema"] >= m["test_accuracy_raw"] - 0.005
    assert 0.8 < m["top2_train"] <= 1.0
