"""Lesson 16 in quick mode: Glow and the RealNVP-style fixed permutation on 8×8 digits (the
full ablation, additive/affine × reverse/shuffle/1×1 conv, runs only in the full lesson);
figures, metrics, and that every check fails on a doctored record."""

import pytest

from tests.lessons.helpers import (assert_fails, assert_figures, changed, failures,
                                   load_checks, run_lesson)

NAME = "16_glow"
DATA = "digits 8×8"


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("lesson16")
    return run_lesson(NAME, out), out


def test_lesson_16_writes_its_figures_and_metrics(record):
    m, out = record
    assert_figures(out, "training_curves.png", "samples.png")
    assert_figures(out, "interpolation.png", min_bytes=3_000)
    assert set(m["datasets"]) == {DATA}
    d = m["datasets"][DATA]
    assert d["levels"] == 17 and d["side"] == 8 and d["test_images"] == 360
    assert set(d["variants"]) == {"affine, reverse", "affine, 1×1 conv"}
    for v in d["variants"].values():
        # between the per-pixel uniform model (log2 17 = 4.09) and zero
        assert 0 < v["bits_per_dim"] < 4.09 and v["se"] > 0 and v["params"] > 1000
    assert 0 < d["categorical"] < 4.09 and m["settings"]["logit_alpha"] == 1e-6
    # the LU 1×1 conv adds C² − C parameters per step over a fixed permutation
    assert d["variants"]["affine, 1×1 conv"]["params"] > d["variants"]["affine, reverse"][
        "params"]
    assert m["published_28x28_full_mnist"] == {"RealNVP": 1.06, "Glow": 1.05}
    assert m["interpolation_roundtrip"] < 1e-4


def test_lesson_16_checks_can_fail(record):
    m, _ = record
    d = m["datasets"][DATA]
    cat = d["categorical"]
    # a Glow no better than its untrained self
    assert_fails(NAME, changed(m, ("datasets", DATA, "untrained_diff"), [0.01, 0.005]),
                 "below the same Glow untrained")
    # a Glow no better than the fixed permutation
    assert_fails(NAME, changed(m, ("datasets", DATA, "variants", "affine, reverse",
                                   "diff_from_glow"), [0.02, 0.005]),
                 "below the RealNVP-style fixed permutation")
    assert_fails(NAME, changed(m, "interpolation_roundtrip", 0.1), "encoding then decoding")
    # a Glow no better than the per-pixel categorical model: worse on average, or better by
    # less than 3 paired standard errors; in quick and full runs
    for quick in (True, False):
        for diff in ([0.01, 0.005], [-0.01, 0.005]):
            assert_fails(NAME, changed(m, ("datasets", DATA, "categorical_diff"), diff),
                         "below the independent per-pixel categorical", quick)
        # a full run's record: both datasets, the ablation on one
        full = changed(m, "datasets", {"MNIST 14×14": d, "Fashion-MNIST 14×14": d})
        assert load_checks(NAME)(full, quick) and not failures(NAME, full, quick)
        assert_fails(NAME, changed(full, ("datasets", "Fashion-MNIST 14×14", "variants",
                                          "affine, reverse", "diff_from_glow"), [0.02, 0.005]),
                     "Fashion-MNIST 14×14: Glow", quick)
    assert cat > 0
