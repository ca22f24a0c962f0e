"""Lesson 22 in quick mode: InfoGAN on 8×8 digits; the categorical code, found without
labels, beats a random Q head's clustering; every check can fail."""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, run_lesson

NAME = "22_infogan"


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp(NAME)
    return out, run_lesson(NAME, out)


def test_figures_and_numbers(record):
    out, m = record
    assert_figures(out, "categorical.png", "continuous.png")
    assert m["chance"] < m["untrained_accuracy"] < m["categorical_accuracy"] <= 1
    assert len(m["code_to_digit"]) == 10 and 1 <= m["digits_found"] <= 10
    assert 0 <= m["generated_agreement"] <= 1 and m["final_info_loss"] >= 0
    assert m["cont_weight"] == 0.1      # the continuous codes' λ, chosen on seeds 2-4


def test_every_check_can_fail(record):
    _, m = record
    assert_fails(NAME, changed(m, "categorical_accuracy", 0.25), "categorical code matches")
    assert_fails(NAME, changed(m, "categorical_accuracy", 0.65), "categorical code matches",
                 quick=False)
    assert_fails(NAME, changed(m, "untrained_accuracy", m["categorical_accuracy"] - 0.05),
                 "categorical code matches")
    assert_fails(NAME, changed(m, "max_abs_loss", float("inf")), "losses stayed finite")
