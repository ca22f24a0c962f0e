"""Lesson 10 in quick mode: four GANs on the PacGAN ring and grid; figures, metrics.json,
the saved samples (2,500 × 2 per model, dataset and seed) and the table they give."""

import numpy as np

from tests.lessons.helpers import assert_figures, run_lesson
from tinygen.data import toys
from tinygen.metrics import mode_coverage

MODELS = ("SGAN", "WGAN-GP", "GAN-QP", "RSGAN")


def test_lesson_10_gan_mode_coverage_quick(tmp_path):
    m = run_lesson("10_gan_mode_coverage", tmp_path)
    assert_figures(tmp_path, "mode_table.png", "samples.png")
    assert m["seed"] == 0
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
