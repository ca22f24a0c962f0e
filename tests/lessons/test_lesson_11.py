"""Lesson 11 in quick mode: the energy view, zero-centred vs two-sided gradient penalty on 8
Gaussians; figures, metrics.json and the key numbers."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ZC, TS = "zero-centred at real", "two-sided (WGAN-GP)"


def test_lesson_11_energy_view_quick(tmp_path):
    proc = subprocess.run([sys.executable, "lessons/11_energy_view.py", "--quick", "--out",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "check failed" not in proc.stdout + proc.stderr
    for name in ("energy_snapshots.png", "energy_curves.png"):
        path = tmp_path / name
        assert path.is_file() and path.stat().st_size > 10_000, name
        assert path.read_bytes()[:8] == PNG_MAGIC, name

    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["quick"] is True and m["seeds"] == [0]
    assert m["penalties"][ZC]["loss"] == "energy" and m["penalties"][TS]["loss"] == "wgan_gp"
    assert m["snapshots"][0] == 0 and m["snapshots"][-1] == m["steps"]
    s = m["summary"]
    assert set(s) == {ZC, TS}
    for name in (ZC, TS):
        assert set(s[name]) == {"modes", "hq", "grad_norm_real", "gap"}
        assert 6 <= s[name]["modes"]["mean"] <= 8
        assert 0 <= s[name]["hq"]["mean"] <= 1
    # the point of the lesson: zero-centred puts the data at flat bottoms of the energy,
    # the two-sided penalty keeps a slope of about one (or more) there
    assert s[ZC]["grad_norm_real"]["mean"] < 0.5 * s[TS]["grad_norm_real"]["mean"]
    assert s[TS]["grad_norm_real"]["mean"] > 0.5
