"""Lesson 20 in quick mode: categorical VAEs of two latent shapes on 8×8 digits trained with
Gumbel-softmax, straight-through and REINFORCE; the figures and metrics are written, and
every check can fail."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "20_gumbel_vae"


record = lesson_record(NAME)


def test_gumbel_vae_quick_run(record):
    out, m = record
    assert_figures(out, "elbo_and_variance.png", "samples.png")
    assert m["configs"] == ["8x10", "5x10"] and (m["classes"], m["pixels"]) == (10, 64)
    for config, latents in (("8x10", 8), ("5x10", 5)):
        c = m[config]
        assert c["latents"] == latents
        starts = {c[e]["initial_neg_elbo"] for e in ("gumbel", "st", "reinforce")}
        assert len(starts) == 1  # the same initial weights for the three runs of a shape
        for e in ("gumbel", "st", "reinforce"):
            # an 8×8 binary image: below 64·log 2 ≈ 44 nats (coin flips) once trained
            assert 0 < c[e]["test_neg_elbo"] < 44.4
        assert set(c["variance"]) == {"0", "150", "300"}


def test_every_check_can_fail(record):
    _, m = record
    for config in ("8x10", "5x10"):
        assert_fails(NAME, changed(m, (config, "st", "test_neg_elbo"),
                                   m[config]["st"]["initial_neg_elbo"]),
                     f"{config} straight-through: test −ELBO")
        v = m[config]["variance"]["150"]
        assert_fails(NAME, changed(m, (config, "variance", "150", "gumbel"),
                                   2 * v["reinforce"]),
                     f"{config} step 150: Gumbel-softmax's gradient variance")
