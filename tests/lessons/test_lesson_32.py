"""Lesson 32 in quick mode: the post's embedding → LSTM → dense → sigmoid on the Chinese
reviews, as characters and as words (lesson 7's segmenter, word2vec starts), with the
TF-IDF baseline (the weights averaged; the two LSTMs' mean reported); the
figure and metrics are written, and every check fails
for a doctored record (the baseline checks on a full-run record)."""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, failures, run_lesson

NAME = "32_sentiment_lstm"


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("lesson32")
    m = run_lesson(NAME, out)
    assert_figures(out, "sentiment.png")
    return m


def test_lesson_32_quick_metrics(record):
    a = record["test_accuracy"]
    assert record["train_reviews"] == 2000 and len(record["history"]) == 2
    assert 0.5 <= a["majority"] < 0.6 and 0.6 < a["tfidf_logistic"] < 1
    assert a["snownlp_bayes"] is None  # not run in --quick
    assert 0.6 < record["tfidf_valid"] < 1  # TF-IDF on validation, where the LSTMs are chosen
    # --quick reads the first characters and words only; a full run their last ones too
    assert (record["length"], record["tail"]) == (60, 0) and record["words"]["tail"] == 0
    assert record["bigrams"] > 5_000  # the character LSTM reads the training bigrams too
    # words from lesson 7's segmenter, embedding from word2vec; the LSTM chosen by validation
    assert record["words"]["from_word2vec"] > 0.9 * record["words"]["vocab"]
    assert 20 < record["words"]["per_review"] < 70 and len(record["word_history"]) == 1
    # both LSTMs validate and keep an average of their weights
    assert record["average"] == 0.9
    for h in record["history"] + record["word_history"]:
        assert 0.3 < h["raw_valid_accuracy"] < 1 and h["valid_accuracy"] != h["raw_valid_accuracy"]
    # chosen among the two LSTMs and their mean p(positive) by validation accuracy
    assert set(record["best_valid"]) == {"characters", "words", "ensemble"}
    assert a["lstm"] == a[f"lstm_{record['chosen']}"] and 0.3 < a["lstm_ensemble"] < 1
    assert record["best_valid"][record["chosen"]] == max(record["best_valid"].values())
    # the two LSTMs trained in two worker processes, each reporting its CPU time
    cpu = record["seconds"]["cpu"]
    assert set(cpu["workers"]) == {"characters", "words"} and min(cpu["workers"].values()) > 0
    assert cpu["two_cores"] == pytest.approx(cpu["serial"] + max(cpu["workers"].values()),
                                             abs=0.11)


def test_lesson_32_checks_can_fail(record):
    a = record["test_accuracy"]
    assert_fails(NAME, changed(record, ("test_accuracy", "lstm"), a["majority"] + 0.01),
                 "beats the majority class")
    full = changed(changed(record, ("test_accuracy", "lstm"), 0.9),
                   ("test_accuracy", "tfidf_logistic"), 0.85)
    full = changed(full, ("test_accuracy", "snownlp_bayes"), 0.72)
    assert failures(NAME, full, quick=False) == []
    assert_fails(NAME, changed(full, ("test_accuracy", "tfidf_logistic"), 0.95),
                 "beats TF-IDF", quick=False)
    assert_fails(NAME, changed(full, ("test_accuracy", "snownlp_bayes"), 0.95),
                 "beats snownlp", quick=False)
    # without snownlp the Bayes check is left out, not failed
    assert failures(NAME, changed(full, ("test_accuracy", "snownlp_bayes"), None),
                    quick=False) == []
