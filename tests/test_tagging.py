"""tinygen.tagging: spans from b/m/e/s and typed BMES tags (valid and invalid sequences),
the round trip spans → tags → spans, and span-level precision/recall/F1."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygen.tagging import span_scores, spans, spans_to_tags, words


@pytest.mark.parametrize("tags, expected", [
    ("b e s b m e".split(), [(0, 2), (2, 3), (3, 6)]),
    (["s"], [(0, 1)]),
    ([], []),
    # invalid sequences, read by the chunk rule
    ("b b e".split(), [(0, 1), (1, 3)]),
    ("m e".split(), [(0, 2)]),              # starts inside a word: the word starts there
    ("e e".split(), [(0, 1), (1, 2)]),
    ("b s m".split(), [(0, 1), (1, 2), (2, 3)]),
    ("b m".split(), [(0, 2)]),              # the sentence ends inside a word: it ends there
])
def test_words(tags, expected):
    assert words(tags) == expected


@pytest.mark.parametrize("tags, expected", [
    ("O B-PER E-PER O S-LOC B-ORG M-ORG M-ORG E-ORG".split(),
     [("PER", 1, 3), ("LOC", 4, 5), ("ORG", 5, 9)]),
    ("O O O".split(), []),
    ("B-PER E-LOC".split(), [("PER", 0, 1), ("LOC", 1, 2)]),  # a type change splits
    ("O M-ORG E-ORG O".split(), [("ORG", 1, 3)]),
    ("B-LOC O E-LOC".split(), [("LOC", 0, 1), ("LOC", 2, 3)]),
    ("B-PER M-PER S-PER".split(), [("PER", 0, 2), ("PER", 2, 3)]),
])
def test_entity_spans(tags, expected):
    assert spans(tags) == expected


def test_bad_tags():
    with pytest.raises(ValueError, match="expected b/m/e/s tags"):
        spans(["B-PER", "I-PER"])
    with pytest.raises(ValueError, match="overlaps"):
        spans_to_tags([("PER", 0, 2), ("LOC", 1, 3)], 4)


@st.composite
def segmentations(draw):
    """A sentence length and a random set of non-overlapping typed spans in it."""
    length = draw(st.integers(0, 30))
    cuts = sorted(draw(st.sets(st.integers(0, length), max_size=length + 1)) | {0, length})
    items = []
    for a, b in zip(cuts, cuts[1:]):
        if draw(st.booleans()):
            items.append((draw(st.sampled_from(["PER", "LOC", "ORG"])), a, b))
    return length, items


@given(segmentations())
def test_round_trip(case):
    length, items = case
    tags = spans_to_tags(items, length)
    assert len(tags) == length and spans(tags) == items
    # every character a word (untyped): the words are the cut points
    cut = [("", a, b) for _, a, b in items]
    assert words(spans_to_tags(cut, length, typed=False)) == [(a, b) for _, a, b in cut]


def test_span_scores():
    gold = [[(0, 2), (2, 3)], [(0, 1)]]
    pred = [[(0, 2), (2, 4)], [(0, 1), (1, 2)]]
    s = span_scores(pred, gold)
    assert (s["correct"], s["predicted"], s["gold"]) == (2, 4, 3)
    assert s["precision"] == pytest.approx(0.5) and s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert "by_type" not in s
    typed = span_scores([[("PER", 0, 2), ("LOC", 3, 4)]], [[("PER", 0, 2), ("ORG", 3, 4)]])
    assert typed["by_type"]["PER"]["f1"] == 1.0
    assert typed["by_type"]["LOC"]["precision"] == 0.0
    assert typed["by_type"]["ORG"]["recall"] == 0.0
    nothing = span_scores([[]], [[("PER", 0, 2)]])
    assert nothing["precision"] == nothing["f1"] == 0.0
    with pytest.raises(ValueError):
        span_scores([[]], [[], []])  # one prediction per sentence
