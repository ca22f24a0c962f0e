"""Lesson 34 in quick mode: seq2seq titles for Tang poems with and without the copy prior,
greedy and beam search, baselines measured in the same run; every check can fail."""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "34_seq2seq_titles"


run = lesson_record(NAME)


def test_figures_and_metrics(run):
    out, m = run
    assert_figures(out, "loss_curves.png", "attention.png", "scores.png")
    assert set(m["models"]) == {"copy prior", "no prior"}
    assert set(m["min_title_length"]) == set(m["models"])
    assert set(m["min_title_length"].values()) <= {1, 2, 3, 4}
    assert m["pairs"]["test"] == 200 and m["steps"] == 60
    for r in m["models"].values():
        assert set(r) == {"test_cross_entropy", "greedy", "greedy_on_beam_subset", "beam"}
        for s in (r["greedy"], r["beam"]):
            assert 0.0 <= s["rouge_l"] <= 1.0 and 0.0 <= s["bleu4"] <= 1.0
        assert r["test_cross_entropy"] < m["unigram_cross_entropy"]
    assert 0.0 < m["baselines"]["first_k"]["rouge_l"] < 0.2
    assert m["baselines"]["most_frequent_title"]["rouge_l"] < m["baselines"]["first_k"]["rouge_l"]
    effect, models = m["copy_prior_effect"], m["models"]
    assert effect["rouge_l_greedy"] == pytest.approx(
        models["copy prior"]["greedy"]["rouge_l"] - models["no prior"]["greedy"]["rouge_l"])
    assert len(m["examples"]) == 10 and all(e["real"] for e in m["examples"])
    # the two networks trained in two worker processes (--jobs 2, the default)
    assert set(m["cpu_seconds"]["workers"]) == set(m["decode_seconds"]) == set(m["models"])


def test_checks_can_fail(run):
    _, m = run
    unigram = m["unigram_cross_entropy"]
    assert_fails(NAME, changed(m, ("models", "copy prior", "test_cross_entropy"), unigram),
                 "copy prior: test cross-entropy")
    assert_fails(NAME, changed(m, ("models", "no prior", "test_cross_entropy"), unigram + 1),
                 "no prior: test cross-entropy")
    assert_fails(NAME, changed(m, ("models", "copy prior", "beam", "rouge_l"), 0.0),
                 "beam search writes titles")
    first_k = m["baselines"]["first_k"]["rouge_l"]
    full = changed(m, ("models", "copy prior", "greedy", "rouge_l"), first_k)
    assert_fails(NAME, full, "beats the first", quick=False)
