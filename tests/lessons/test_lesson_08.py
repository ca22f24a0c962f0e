"""Lesson 08 in quick mode: CNN + CRF named-entity recognition on MSRA vs a per-character
softmax; figures, metrics, valid CRF tag sequences, entity F1 far above the all-O baseline.
(The span extraction itself is tested in tests/test_tagging.py and checked by the lesson.)"""

import pytest

from tests.lessons.helpers import assert_figures, run_lesson
from tinygen.data import load_msra_ner


def test_crf_ner_quick(tmp_path):
    m = run_lesson("08_crf_ner", tmp_path)
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
