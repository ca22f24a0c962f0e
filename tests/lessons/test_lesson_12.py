"""Lesson 12 in quick mode: GAN-QP with d = L1 and L2 on 8×8 digits; ΔT stays within λ·d,
the samples beat an untrained generator's, the figures and metrics are written."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gan_qp_quick(tmp_path):
    run = subprocess.run([sys.executable, "lessons/12_gan_qp.py", "--quick", "--out",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("samples_l1.png", "samples_l2.png", "critic_ratio.png", "losses.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["quick"] and m["data"] == "digits 8x8" and m["lambda"] == 10.0
    assert m["scorer_test_accuracy"] > 0.85
    assert m["reference"]["score"] > 4.0 and m["reference"]["coverage"] == 10
    assert m["untrained"]["score"] < 1.5
    for distance in ("l1", "l2"):
        r = m[distance]
        assert r["within_bound_tol"] >= 0.9 and r["within_bound"] <= r["within_bound_tol"]
        p = r["ratio_percentiles"]
        assert p["1"] <= p["50"] <= p["99"] and p["50"] < 1.0  # ratios sit below λ·d
        q = r["quality"]
        assert m["untrained"]["score"] + 0.5 < q["score"] < m["reference"]["score"]
        assert 0.1 <= q["confidence"] <= 1.0 and 1 <= q["coverage"] <= 10
        assert sorted(map(int, r["score_over_training"])) == [0, 25, 50, 100, 200]
        assert r["score_over_training"]["0"] == m["untrained"]["score"]
