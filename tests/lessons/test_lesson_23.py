"""Lesson 23 in quick mode: plain vs self-modulated BatchNorm, 2 seeds each on 8×8 digits;
both learn, the comparison is reported with its spread; every check can fail."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "23_self_mod"


record = lesson_record(NAME)


def test_figures_and_numbers(record):
    out, m = record
    assert_figures(out, "samples.png", "seeds.png")
    assert len(m["seeds"]) == 2
    for key in ("plain", "self_mod"):
        r = m[key]
        assert len(r["fdd_per_seed"]) == 2
        assert abs(r["fdd"][0] - sum(r["fdd_per_seed"]) / 2) < 1e-9
        assert min(r["fdd_per_seed"]) > m["real"]["fdd"]
    assert m["lower_fdd"] in ("plain BN", "self-modulated BN")
    assert m["generator_parameters"]["self-modulated BN"] > m["generator_parameters"]["plain BN"]


def test_every_check_can_fail(record):
    _, m = record
    top = m["untrained"]["plain BN"]["fdd"]
    assert_fails(NAME, changed(m, ("plain", "fdd_per_seed"), [1.0, top / 2]), "plain BN: worst")
    top = m["untrained"]["self-modulated BN"]["fdd"]
    assert_fails(NAME, changed(m, ("self_mod", "fdd_per_seed"), [top, 1.0]), "self-modulated BN")
    assert_fails(NAME, changed(m, "finite", False), "finite")
