"""Lesson 07 in quick mode: CNN + CRF word segmentation vs a per-character softmax on
People's Daily; figures, metrics, valid CRF segmentations, F1 far above the baseline."""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, failures, run_lesson
from tinygen.data import load_peoples_daily_seg

NAME = "07_crf_word_segmentation"


def test_crf_word_segmentation_quick(tmp_path):
    m = run_lesson(NAME, tmp_path)
    assert_figures(tmp_path, "transitions.png", "scores.png")
    assert m["train_sentences"] == 3000 and m["test_sentences"] == m["valid_sentences"] == 1000
    # the default is the post's network: characters only, uniform starting embeddings
    assert m["bigrams"] == 0 and m["word2vec_epochs"] == 0
    # the validation split is scored too, and the CRF is ahead there as well
    assert set(m["valid_scores"]) == {"CRF", "softmax", "softmax + valid decoding"}
    assert m["valid_scores"]["CRF"]["f1"] > m["valid_scores"]["softmax + valid decoding"]["f1"]

    # the baseline "every character a word", recomputed from the test tags: a predicted
    # one-character word is right exactly where the gold tag is s
    _, _, test = load_peoples_daily_seg()
    tags = [t for _, ts in test for t in ts]
    singles, gold_words = tags.count("s"), tags.count("s") + tags.count("b")
    p, r = singles / len(tags), singles / gold_words
    assert m["baseline_f1"] == pytest.approx(2 * p * r / (p + r), rel=1e-9)

    scores = m["word_scores"]
    for name in ("CRF", "softmax", "softmax + valid decoding", "every character a word"):
        s = scores[name]
        assert s["gold"] == gold_words
        assert s["f1"] == pytest.approx(2 * s["precision"] * s["recall"]
                                        / (s["precision"] + s["recall"]))
    assert m["crf_f1"] > m["baseline_f1"] + 0.2
    assert m["softmax_f1"] > m["baseline_f1"] + 0.2
    assert m["crf_forbidden_transitions"] == 0
    assert m["invalid_sentences"]["CRF"] == m["invalid_sentences"]["softmax + valid decoding"] == 0
    G = m["transitions"]
    assert len(G) == 4 and G[0][2] > G[0][0]  # b → e (a two-character word) beats b → b
    assert m["examples"] and all(" / " in ex["crf"] for ex in m["examples"])
    assert m["valid_softmax_f1"] == scores["softmax + valid decoding"]["f1"]

    # the checks are live: a CRF no better than the softmax decoded into valid sequences
    level = changed(m, "crf_f1", m["valid_softmax_f1"] + 0.005)
    assert_fails(NAME, level, "softmax with valid decoding")
    assert_fails(NAME, changed(m, "crf_f1", m["softmax_f1"]), "per-character softmax")
    # the README's full run passes; a CRF under 0.94 does not
    full = {"crf_f1": 0.9605, "softmax_f1": 0.9387, "valid_softmax_f1": 0.9409,
            "baseline_f1": 0.3611}
    assert failures(NAME, full, quick=False) == []
    assert_fails(NAME, changed(full, "crf_f1", 0.939), "≥ 0.94", quick=False)
