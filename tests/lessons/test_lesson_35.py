"""Lesson 35 in quick mode: ON-LSTM and a parameter-matched LSTM on Penn Treebank text, trees
from the master forget gate against random ones; every check can fail."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "35_on_lstm"


run = lesson_record(NAME)


def test_figures_and_metrics(run):
    out, m = run
    assert_figures(out, "learning_curves.png", "trees.png", "tree_statistics.png")
    sizes = m["sizes"]
    assert sizes["onlstm"]["levels"] == 12 and sizes["onlstm"]["hidden"] == 120
    assert abs(sizes["onlstm"]["parameters"] - sizes["lstm"]["parameters"]) < 10_000
    p = m["perplexity"]
    for kind in ("onlstm", "lstm"):
        assert 1 < p[kind]["test"] < p["unigram"]["test"] < 10_000
    assert m["published_onlstm_test_perplexity"] == 56.17
    t = m["trees"]
    assert t["sentences"] == 40 and t["random_draws"] == 100
    assert t["stats"]["right_branching"]["f1_right"] == 1.0
    assert t["stats"]["left_branching"]["f1_right"] == 0.0
    assert 0 < t["stats"]["random"]["depth"] < t["stats"]["right_branching"]["depth"]
    assert set(t["z"]) == {"onlstm", "untrained_onlstm"}


def test_checks_can_fail(run):
    _, m = run
    p = m["perplexity"]
    assert_fails(NAME, changed(m, ("perplexity", "onlstm", "test"), p["unigram"]["test"] + 1),
                 "onlstm: test perplexity")
    assert_fails(NAME, changed(m, ("perplexity", "lstm", "test"), p["unigram"]["test"] * 2),
                 "lstm: test perplexity")
    assert_fails(NAME, changed(m, ("perplexity", "onlstm", "test"), 1.2 * p["lstm"]["test"]),
                 "within 10% of the LSTM")
    assert_fails(NAME, changed(m, ("sizes", "lstm", "parameters"),
                               2 * m["sizes"]["onlstm"]["parameters"]), "same number of")
    assert_fails(NAME, changed(m, ("trees", "z", "onlstm", "depth"), 1.0),
                 "induced trees differ from random", quick=False)
