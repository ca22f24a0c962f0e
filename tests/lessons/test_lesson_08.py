"""Lesson 08 in quick mode: CNN + CRF named-entity recognition on MSRA vs a per-character
softmax; figures, metrics, valid CRF tag sequences, entity F1 far above the all-O baseline.
(The span extraction itself is tested in tests/test_tagging.py and checked by the lesson.)"""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, failures, run_lesson
from tinygen.data import load_msra_ner

NAME = "08_crf_ner"


def test_crf_ner_quick(tmp_path):
    m = run_lesson(NAME, tmp_path)
    assert_figures(tmp_path, "entity_f1.png", "transitions.png")
    assert m["train_sentences"] == 5000 and m["test_sentences"] == 5000

    # the gold entities: one per B-/S- tag, up to the few invalid gold sentences
    _, _, test = load_msra_ner()
    begins = sum(tag[0] in "BS" for _, tags in test for tag in tags)
    total = sum(m["test_entities"].values())
    assert abs(total - begins) <= 2 * m["invalid_gold_sentences"]["test"]
    assert set(m["test_entities"]) == {"PER", "LOC", "ORG"}

    scores = m["entity_scores"]
    for name in ("CRF", "softmax", "softmax + valid decoding", "all O"):
        s = scores[name]
        assert s["gold"] == total
        assert s["correct"] == sum(t["correct"] for t in s["by_type"].values())
        if s["predicted"]:
            assert s["precision"] == pytest.approx(s["correct"] / s["predicted"])
    assert m["baseline_f1"] == 0.0 and scores["all O"]["predicted"] == 0
    assert m["crf_f1"] > 0.2
    assert m["crf_forbidden_transitions"] == 0 and m["invalid_sentences"]["CRF"] == 0
    assert m["invalid_sentences"]["softmax + valid decoding"] == 0
    assert len(m["transitions"]) == len(m["tags"]) == 13
    assert m["examples"] and all("[" in ex["gold"] for ex in m["examples"])

    # the checks are live: a CRF barely ahead of the softmax, with or without valid decoding
    assert_fails(NAME, changed(m, "crf_f1", m["softmax_f1"] + 0.03), "per-character softmax")
    assert_fails(NAME, changed(m, "crf_f1", m["valid_softmax_f1"] + 0.01), "valid decoding")
    # the README's full run passes; a CRF under 0.80 does not
    full = {"crf_f1": 0.844, "softmax_f1": 0.645, "valid_softmax_f1": 0.806, "baseline_f1": 0.0}
    assert failures(NAME, full, quick=False) == []
    assert_fails(NAME, changed(full, "crf_f1", 0.79), "≥ 0.80", quick=False)
