"""Lesson 25 in quick mode: f-GAN fits of one Gaussian to a two-mode mixture; reverse KL
seeks the major mode, KL and Pearson χ² cover both, as the exact optima say; every check
can fail."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "25_f_gan"


record = lesson_record(NAME)


def test_figures_and_numbers(record):
    out, m = record
    assert_figures(out, "densities.png", "paths.png")
    for d in ("kl", "reverse_kl", "js", "pearson"):
        r = m[d]
        assert len(r["fits"]) == len(m["seeds"]) == 1
        # the game does not go below the exact optimum of its own divergence
        assert min(r["divergence_at_fits"]) >= r["divergence_at_optimum"] - 1e-6
    assert abs(m["kl"]["optimum"][0] + 1.0) < 1e-2            # moment matching: μ = −1
    assert m["reverse_kl"]["optimum_minor_mass"] < 1e-3


def test_every_check_can_fail(record):
    _, m = record
    assert_fails(NAME, changed(m, ("reverse_kl", "minor_mass_per_seed"), [0.2]),
                 "reverse KL is mode-seeking")
    assert_fails(NAME, changed(m, ("kl", "minor_mass_per_seed"), [0.1]), "KL is mode-covering")
    assert_fails(NAME, changed(m, ("pearson", "minor_mass_per_seed"), [0.05]), "Pearson")
    assert_fails(NAME, changed(m, ("kl", "fits"), [[-2.0, 0.5]]), "KL's fits are within")
    assert_fails(NAME, changed(m, ("js", "finite"), False), "finite")


def test_digits_part(record):
    out, m = record
    assert_figures(out, "digits.png")
    digits = m["digits"]
    assert digits["real"]["fdd"] < digits["untrained"]["fdd"]
    for d in ("kl", "reverse_kl", "js", "pearson"):
        assert 0 < digits[d]["fdd"] < digits["untrained"]["fdd"]
        assert 1 <= digits[d]["score"] <= 10 and 0 <= digits[d]["coverage"] <= 10
    assert_fails(NAME, changed(m, ("digits", "js", "fdd"), m["digits"]["untrained"]["fdd"] / 1.5),
                 "on digits every divergence")
    assert_fails(NAME, changed(m, ("digits", "kl", "fdd"), m["digits"]["untrained"]["fdd"] / 4),
                 "on digits every divergence", quick=False)
    assert_fails(NAME, changed(m, ("digits", "pearson", "finite"), False), "finite")
