"""Lesson 09 in quick mode: the couplet tagger beats the trivial baselines clearly, writes
its figures and metrics, and never echoes the input character at the same position."""

import numpy as np

from tests.lessons.helpers import assert_fails, assert_figures, changed, failures, run_lesson

NAME = "09_couplet_tagger"


def test_couplet_tagger_quick(tmp_path):
    m = run_lesson(NAME, tmp_path)
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
    assert m["vocab_size"] == 1000 and 0.8 < m["vocab_coverage"] < 1

    # the checks are live: a network level with the lookup table in cross-entropy, one no
    # better than the trivial baselines
    level = changed(m, ("test_cross_entropy", "network"), ce["lookup table"] - 0.01)
    assert_fails(NAME, level, "lookup table")
    assert_fails(NAME, changed(m, ("test_accuracy", "with rule"), m["trivial_baseline"]),
                 "trivial baseline")
    # the README's full run passes (5.96 vs 6.26 nats, 4.35% vs 1.55%); a margin of 0.1 does not
    full = {"test_cross_entropy": {"network": 5.96, "lookup table": 6.26},
            "test_accuracy": {"with rule": 0.0435}, "trivial_baseline": 0.0155}
    assert failures(NAME, full, quick=False) == []
    assert_fails(NAME, changed(full, ("test_cross_entropy", "network"), 6.16), "lookup table",
                 quick=False)
