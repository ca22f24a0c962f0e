"""Lesson 09 in quick mode: the couplet tagger beats the trivial baselines clearly, writes
its figures and metrics, and never echoes the input character at the same position."""

import numpy as np

from tests.lessons.helpers import assert_figures, run_lesson


def test_couplet_tagger_quick(tmp_path):
    m = run_lesson("09_couplet_tagger", tmp_path)
    assert_figures(tmp_path, "training.png", "per_position.png")
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
