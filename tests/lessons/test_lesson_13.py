"""Lesson 13 in quick mode: SGAN vs RSGAN (spectral-norm critic, 1 critic : 2 generator
steps) on 8×8 digits; both beat an untrained generator, the figures and metrics are written."""

import math

from tests.lessons.helpers import assert_fails, assert_figures, changed, run_lesson

NAME = "13_rsgan"


def test_rsgan_quick(tmp_path):
    m = run_lesson(NAME, tmp_path)
    assert_figures(tmp_path, "samples.png", "training.png")
    assert m["data"] == "digits 8x8"
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

    # the checks are live: a generator no better than the untrained one, a loss gone NaN
    untrained = m["untrained"]["score"]
    assert_fails(NAME, changed(m, ("RSGAN", "quality", "score"), untrained + 0.2),
                 "RSGAN: classifier score")
    assert_fails(NAME, changed(m, ("SGAN", "max_abs_loss"), float("nan")), "SGAN: the losses")
    assert_fails(NAME, changed(m, ("SGAN", "quality", "coverage"), 7), "SGAN: the samples "
                 "cover", quick=False)
