"""Lesson 08 in quick mode: CNN + CRF named-entity recognition on MSRA vs a per-character
softmax; figures, metrics, valid CRF tag sequences, entity F1 far above the all-O baseline.
(The span extraction itself is tested in tests/test_tagging.py and checked by the lesson.)"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tinygen.data import load_msra_ner

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_crf_ner_quick(tmp_path):
    run = subprocess.run([sys.executable, "lessons/08_crf_ner.py", "--quick", "--out",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "check failed" not in run.stdout
    for name in ("entity_f1.png", "transitions.png"):
        path = tmp_path / name
        assert path.stat().st_size > 10_000 and path.read_bytes()[:8] == PNG_MAGIC
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["quick"] and m["train_sentences"] == 5000 and m["test_sentences"] == 5000

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
