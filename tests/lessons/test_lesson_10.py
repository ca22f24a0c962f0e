"""Lesson 10 in quick mode: four GANs on the PacGAN ring and grid; figures, metrics.json,
the saved samples (2,500 × 2 per model, dataset and seed) and the table they give."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tinygen.data import toys
from tinygen.metrics import mode_coverage

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MODELS = ("SGAN", "WGAN-GP", "GAN-QP", "RSGAN")


def test_lesson_10_gan_mode_coverage_quick(tmp_path):
    proc = subprocess.run([sys.executable, "lessons/10_gan_mode_coverage.py", "--quick",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "check failed" not in proc.stdout + proc.stderr
    for name in ("mode_table.png", "samples.png"):
        path = tmp_path / name
        assert path.is_file() and path.stat().st_size > 10_000, name
        assert path.read_bytes()[:8] == PNG_MAGIC, name

    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["quick"] is True and m["seed"] == 0
    seeds = m["settings"]["seeds"]
    assert seeds == [0] and m["settings"]["samples"] == 2500
    assert set(m["table"]) == {"ring", "grid"}
    assert m["published"]["GAN (PacGAN paper)"]["ring"] == {"modes": 6.3, "hq": 0.982}
    assert m["published"]["PacGAN4 (PacGAN paper)"]["grid"] == {"modes": 24.8, "hq": 0.936}
    for dataset, modes in (("ring", toys.RING), ("grid", toys.GRID)):
        assert set(m["table"][dataset]) == set(MODELS)
        for model in MODELS:
            row = m["table"][dataset][model]
            x = np.load(tmp_path / f"samples_{dataset}_{model}_seed0.npy")
            assert x.shape == (2500, 2) and np.isfinite(x).all()
            # the table is what the saved samples score under the PacGAN protocol
            score = mode_coverage(x, modes)
            assert row["modes_per_seed"] == [score["modes"]]
            assert abs(row["hq_per_seed"][0] - score["high_quality"]) < 1e-12
            assert row["modes_mean"] == score["modes"] and row["modes_std"] == 0.0
            assert 0 <= row["modes_mean"] <= len(modes.centres)
    # the key result of the quick run: the two Lipschitz-style critics learn the ring
    for model in ("GAN-QP", "WGAN-GP"):
        row = m["table"]["ring"][model]
        assert row["modes_mean"] >= 7 and row["hq_mean"] >= 0.5, (model, row)
