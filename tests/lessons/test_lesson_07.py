"""Lesson 07 in quick mode: CNN + CRF word segmentation vs a per-character softmax on
People's Daily; figures, metrics, valid CRF segmentations, F1 far above the baseline."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tinygen.data import load_peoples_daily_seg

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_crf_word_segmentation_quick(tmp_path):
    run = subprocess.run([sys.executable, "lessons/07_crf_word_segmentation.py", "--quick",
                          "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "check failed" not in run.stdout
    for name in ("transitions.png", "scores.png"):
        path = tmp_path / name
        assert path.stat().st_size > 10_000 and path.read_bytes()[:8] == PNG_MAGIC
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["quick"] and m["train_sentences"] == 3000 and m["test_sentences"] == 1000

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
