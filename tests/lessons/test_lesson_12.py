"""Lesson 12 in quick mode: GAN-QP with d = L1 and L2 on 8×8 digits; ΔT stays within λ·d,
the samples beat an untrained generator's, the figures and metrics are written."""

from tests.lessons.helpers import assert_figures, run_lesson


def test_gan_qp_quick(tmp_path):
    m = run_lesson("12_gan_qp", tmp_path)
    assert_figures(tmp_path, "samples_l1.png", "samples_l2.png", "critic_ratio.png",
                   "losses.png")
    assert m["data"] == "digits 8x8" and m["lambda"] == 10.0
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
