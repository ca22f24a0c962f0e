"""Lesson 1 runs end to end in quick mode, draws its figure and passes its own checks."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "lessons" / "01_autodiff.py"
TOL = 1e-6


def test_lesson_01_quick(tmp_path):
    proc = subprocess.run([sys.executable, str(LESSON), "--quick", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    figure = tmp_path / "tanh_derivatives.png"
    assert figure.is_file() and figure.stat().st_size > 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["passed"] is True
    assert metrics["quick"] is True
    errors = metrics["errors"]
    assert len(errors) >= 8  # hand formula, finite differences, 2nd derivative, HVP, grid
    for name, err in errors.items():
        assert 0 <= err <= TOL, f"{name}: {err}"
    assert metrics["max_abs_error"] == max(errors.values())
    assert "PASS" in proc.stdout.strip().splitlines()[-1]
