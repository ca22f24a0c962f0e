"""Lesson 13 in quick mode: SGAN vs RSGAN (spectral-norm critic, 1 critic : 2 generator
steps) on 8×8 digits; both beat an untrained generator, the figures and metrics are written."""

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_rsgan_quick(tmp_path):
    run = subprocess.run([sys.executable, "lessons/13_rsgan.py", "--quick", "--out",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("samples.png", "training.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["quick"] and m["data"] == "digits 8x8"
    assert (m["d_steps"], m["g_steps"], m["spectral_norm"]) == (1, 2, True)
    assert m["reference"]["score"] > 4.0 and m["untrained"]["score"] < 1.5
    for name in ("SGAN", "RSGAN"):
        r = m[name]
        q = r["quality"]
        assert m["untrained"]["score"] + 0.5 < q["score"] < m["reference"]["score"]
        assert 0.0 < r["pair_confidence"] < 1.0
        assert r["score_over_training"]["0"] == m["untrained"]["score"]  # same initial G
        # a spectral-norm critic hovers near "cannot tell": log 2 per term
        chance = 2 * math.log(2) if name == "SGAN" else math.log(2)
        assert abs(r["final_d_loss"] - chance) < 0.3
    assert m["score_rsgan_minus_sgan"] == m["RSGAN"]["quality"]["score"] - \
        m["SGAN"]["quality"]["score"]
