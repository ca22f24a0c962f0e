"""Lesson 20 in quick mode: a categorical VAE on 8×8 digits trained with Gumbel-softmax,
straight-through and REINFORCE; the figures and metrics are written, and every check can
fail."""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, run_lesson

NAME = "20_gumbel_vae"


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("lesson20")
    return out, run_lesson(NAME, out)


def test_gumbel_vae_quick_run(record):
    out, m = record
    assert_figures(out, "elbo_and_variance.png", "samples.png")
    assert (m["latents"], m["classes"], m["pixels"]) == (8, 10, 64)
    starts = {m[e]["initial_neg_elbo"] for e in ("gumbel", "st", "reinforce")}
    assert len(starts) == 1  # the same initial weights for the three runs
    for e in ("gumbel", "st", "reinforce"):
        # an 8×8 binary image: below 64·log 2 ≈ 44 nats (coin flips) once trained
        assert 0 < m[e]["test_neg_elbo"] < 44.4
    assert set(m["variance"]) == {"0", "150", "300"}


def test_every_check_can_fail(record):
    _, m = record
    assert_fails(NAME, changed(m, ("st", "test_neg_elbo"), m["st"]["initial_neg_elbo"]),
                 "straight-through: test −ELBO")
    v = m["variance"]["150"]
    assert_fails(NAME, changed(m, ("variance", "150", "gumbel"), 2 * v["reinforce"]),
                 "step 150: Gumbel-softmax's gradient variance")
