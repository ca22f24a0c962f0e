"""Lesson 10 in quick mode: four GANs on the PacGAN ring and grid; figures, metrics.json,
the saved samples (2,500 × 2 per model, dataset and seed) and the table they give."""

import numpy as np

from tests.lessons.helpers import assert_fails, assert_figures, changed, failures, run_lesson
from tinygen.data import toys
from tinygen.metrics import mode_coverage

MODELS = ("SGAN", "WGAN-GP", "GAN-QP", "RSGAN")
NAME = "10_gan_mode_coverage"
# the README's full run: (modes, HQ) means over 3 seeds
FULL = {"ring": {"GAN-QP": (8.0, 0.930), "WGAN-GP": (8.0, 0.942)},
        "grid": {"GAN-QP": (24.7, 0.943), "WGAN-GP": (25.0, 0.916)}}


def test_lesson_10_gan_mode_coverage_quick(tmp_path):
    m = run_lesson(NAME, tmp_path)
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

    # the checks are live: a quick run that has not learned the ring
    assert_fails(NAME, changed(m, ("table", "ring", "WGAN-GP", "hq_mean"), 0.3), "WGAN-GP ring")
    assert_fails(NAME, changed(m, ("table", "ring", "GAN-QP", "modes_mean"), 6), "GAN-QP ring")
    # a full run is checked against the goal itself: the README's run meets it, a point of
    # HQ or half a grid mode less does not
    full = {"table": {d: {k: {"modes_mean": modes, "hq_mean": hq}
                          for k, (modes, hq) in rows.items()} for d, rows in FULL.items()}}
    assert failures(NAME, full, quick=False) == []
    assert_fails(NAME, changed(full, ("table", "grid", "WGAN-GP", "hq_mean"), 0.89),
                 "WGAN-GP grid", quick=False)
    assert_fails(NAME, changed(full, ("table", "grid", "GAN-QP", "modes_mean"), 24.3),
                 "GAN-QP grid", quick=False)
    assert_fails(NAME, changed(full, ("table", "ring", "GAN-QP", "modes_mean"), 7.7),
                 "GAN-QP ring", quick=False)
