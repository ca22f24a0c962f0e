"""Lessons 03–05 in quick mode: each runs end to end, writes its figures and metrics.json,
and its key result holds (the lesson's own checks make it exit non-zero otherwise)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_lesson(name: str, out: Path) -> dict:
    proc = subprocess.run([sys.executable, f"lessons/{name}.py", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "check failed" not in proc.stdout + proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["quick"] is True
    return metrics


def assert_figures(out: Path, *names: str) -> None:
    for name in names:
        path = out / name
        assert path.is_file() and path.stat().st_size > 10_000, name
        assert path.read_bytes()[:8] == PNG_MAGIC, name


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
