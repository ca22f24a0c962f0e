"""Lesson 09 in quick mode: the couplet tagger beats the trivial baselines clearly, writes
its figures and metrics, and never echoes the input character at the same position."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_couplet_tagger_quick(tmp_path):
    run = subprocess.run([sys.executable, "lessons/09_couplet_tagger.py", "--quick", "--out",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "check failed" not in run.stdout + run.stderr
    for name in ("training.png", "per_position.png"):
        path = tmp_path / name
        assert path.stat().st_size > 10_000 and path.read_bytes()[:8] == PNG_MAGIC, name

    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["quick"] is True
    base = m["baseline_test_accuracy"]
    assert m["trivial_baseline"] == max(base["copy"], base["position majority"])
    acc = m["test_accuracy"]
    assert acc["with rule"] > 1.4 * m["trivial_baseline"]
    assert acc["without rule"] > 1.4 * m["trivial_baseline"]
    assert m["echoes"]["with rule"] == 0 and m["echoes"]["without rule"] > 0
    ce = m["test_cross_entropy"]  # nats per character: context beats any one-position count
    assert ce["network"] < ce["lookup table"] < ce["unigram"] < np.log(m["vocab_size"])

    assert len(m["examples"]) == 10
    for e in m["examples"]:
        first, generated, real = e["first"], e["generated"], e["real"]
        assert len(generated) == len(first) == len(real) and len(first) in (5, 7)
        assert all(g != f for g, f in zip(generated, first))  # the no-repeat rule
        assert "<unk>" not in generated
        assert e["right"] == sum(g == r for g, r in zip(generated, real))
    assert m["converter"] in ("none", "opencc", "zhconv", "hanziconv")
    assert m["vocab_size"] == 2000 and 0.9 < m["vocab_coverage"] < 1
