"""Lesson 31 in quick mode: SGNS, CBOW (sum) and the post's random softmax on Brown and
People's Daily, the PPMI-SVD baseline and random vectors; the figure and metrics are written,
and every check fails for a doctored record."""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, failures, run_lesson

NAME = "31_word2vec"


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("lesson31")
    m = run_lesson(NAME, out)
    assert_figures(out, "word2vec.png")
    return m


def test_lesson_31_quick_metrics(record):
    b = record["brown"]
    assert set(b["scores"]) >= {"sgns", "cbow_sum", "cbow_softmax", "ppmi_svd", "random"}
    assert b["sentences"] == 15_000 and record["daily"]["sentences"] == 6_000
    assert record["twin"]["max_diff"] < 1e-9
    assert 0.1 < b["scores"]["random"]["pos_agreement"] < 0.4
    assert all(len(near) == 6 for near in b["neighbours"].values())


def test_lesson_31_checks_can_fail(record):
    m = record
    assert_fails(NAME, changed(m, ("twin", "max_diff"), 1e-3), "kernel equals its twin")
    assert_fails(NAME, changed(m, ("twin", "moved"), 0.0), "kernel equals its twin")
    rand = m["brown"]["scores"]["random"]
    for name in ("sgns", "cbow_sum", "cbow_softmax", "ppmi_svd"):
        assert_fails(NAME, changed(m, ("brown", "scores", name, "pos_agreement"),
                                   rand["pos_agreement"] + 0.01), f"{name}: POS agreement")
    for name in ("sgns", "cbow_sum"):
        d = m["daily"]["pos_agreement"]
        assert_fails(NAME, changed(m, ("daily", "pos_agreement", name), d["random"]),
                     f"People's Daily {name}")


def test_lesson_31_full_run_checks_similarity_and_analogies(record):
    """The full-run checks, on a record made to pass them, then broken one at a time."""
    good = record
    for name in ("sgns", "cbow_sum", "cbow_softmax", "ppmi_svd"):
        good = changed(good, ("brown", "scores", name, "wordsim353"), 0.3)
        good = changed(good, ("brown", "scores", name, "simlex999"), 0.2)
    good = changed(good, ("brown", "scores", "random", "wordsim353"), 0.0)
    good = changed(good, ("brown", "scores", "random", "simlex999"), 0.0)
    good = changed(good, ("brown", "scores", "sgns", "analogy"), 0.05)
    good = changed(good, ("brown", "scores", "random", "analogy"), 0.0)
    assert failures(NAME, good, quick=False) == []
    weak = changed(good, ("brown", "scores", "cbow_sum", "wordsim353"), 0.04)
    assert_fails(NAME, changed(weak, ("brown", "scores", "cbow_sum", "simlex999"), 0.04),
                 "cbow_sum: mean ρ", quick=False)
    assert failures(NAME, weak, quick=False) == []  # the mean of 0.04 and 0.2 still passes
    assert_fails(NAME, changed(good, ("brown", "scores", "random", "simlex999"), 0.45),
                 "ppmi_svd: mean ρ", quick=False)
    assert_fails(NAME, changed(good, ("brown", "scores", "sgns", "analogy"), 0.01),
                 "SGNS answers more analogies", quick=False)
