"""Lesson 28 in quick mode: DRAW with attention (tiled and zero-point starts of the grids) and
without on 8×8 binarised digits; all learn, the figures and metrics are written, and every
check can fail (the full run's "attention beats no attention" included)."""

import pytest

from tests.lessons.helpers import (assert_fails, assert_figures, changed, failures,
                                   run_lesson)

NAME = "28_draw"
MODELS = ("attention", "no attention", "attention, zero-point init")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lesson28")
    return out, run_lesson(NAME, out)


def test_figures_and_numbers(run):
    out, m = run
    assert_figures(out, "canvas.png", "training.png")
    assert m["data"] == "digits 8x8"
    for name in MODELS:
        test = m[name]["test"]
        assert test["neg_elbo"] == pytest.approx(test["reconstruction"] + test["kl"], rel=1e-5)
        assert test["kl"] > 0
    assert m["attention"]["steps"] == m["no attention"]["steps"] == 100
    assert m["attention, zero-point init"]["steps"] == 50
    for name in ("attention", "no attention"):
        assert [step for step, _ in m[name]["test_curve"]] == [25, 50, 75, 100]
    assert [step for step, _ in m["attention, zero-point init"]["test_curve"]] == [25, 50]
    # the paired gain is the difference of the two means, with a positive standard error
    assert m["attention_gain_nats"] == pytest.approx(
        m["no attention"]["test"]["neg_elbo"] - m["attention"]["test"]["neg_elbo"], abs=1e-4)
    assert m["attention_gain_se"] > 0
    assert m["tiled_at_zero_point_steps"] == dict(m["attention"]["test_curve"])[50]


def test_checks_can_fail(run):
    _, m = run
    for name in MODELS:
        assert_fails(NAME, changed(m, (name, "test", "neg_elbo"),
                                   m[name]["untrained"]["neg_elbo"]), f"{name}: test")
    no_attention = m["no attention"]["test"]["neg_elbo"]
    assert_fails(NAME, changed(m, ("attention", "test", "neg_elbo"), no_attention + 0.01),
                 "attention beats no attention", quick=False)
    better = changed(m, ("attention", "test", "neg_elbo"), no_attention - 0.01)
    assert not any("attention beats" in f for f in failures(NAME, better, quick=False))
    worse = m["attention, zero-point init"]["test"]["neg_elbo"] + 1
    assert_fails(NAME, changed(m, "tiled_at_zero_point_steps", worse),
                 "the tiled start beats the zero point", quick=False)
