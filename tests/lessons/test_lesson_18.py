"""Lesson 18 in quick mode: a VAE on binarised 8×8 digits; the importance-sampled
log-likelihood lies above the ELBO and above the factorised Bernoulli model; the figures and
metrics are written, and every check can fail."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "18_vae"


record = lesson_record(NAME)


def test_vae_quick_run(record):
    out, m = record
    assert_figures(out, "likelihood_vs_k.png", "reconstructions_samples.png", "latent_map.png")
    assert m["datasets"] == ["digits 8x8"] and m["k_max"] == 500
    r = m["digits 8x8"]
    assert set(r["is_curve"]) == {"1", "2", "5", "10", "50", "100", "500"}
    assert r["is_curve"]["500"] == r["is_loglik"]
    # an 8×8 binary image: between −64·log 2 ≈ −44 nats (coin flips) and 0
    assert -44.4 < r["baseline_subset"] < r["elbo_subset"] <= r["is_loglik"] < 0
    assert r["test_elbo"] > r["untrained_test_elbo"] + 10


def test_every_check_can_fail(record):
    _, m = record
    r = ("digits 8x8",)
    assert_fails(NAME, changed(m, r + ("is_loglik",), m["digits 8x8"]["elbo_subset"] - 0.1),
                 "≥ ELBO")
    assert_fails(NAME, changed(m, r + ("baseline_subset",), m["digits 8x8"]["is_loglik"] - 1),
                 "beats the factorised Bernoulli")
    assert_fails(NAME, changed(m, r + ("untrained_test_elbo",), m["digits 8x8"]["test_elbo"]),
                 "well above the untrained")
    assert_fails(NAME, changed(m, r + ("is_curve", "1"), 0.0), "rises from k=1")
