"""Spans from per-character tags, and span-level precision, recall and F1.

Sequence labelling turns a segmentation into one tag per character. Word segmentation uses
``b``/``m``/``e``/``s`` (begin, middle, end of a word, single-character word)::

    我 们 是 学 生      tags  b e s b e      words  我们 / 是 / 学生

and named-entity recognition the same letters with an entity type, plus ``O`` outside any
entity (MSRA NER: ``B-PER, M-PER, E-PER, S-PER``, ``…-LOC``, ``…-ORG``, ``O``). A predicted
word or entity counts only if it is exactly right: it is a **span** (type, start, end), with
the characters start … end − 1, and a prediction is scored by comparing span sets::

    precision = |pred ∩ gold| / |pred|,   recall = |pred ∩ gold| / |gold|,
    F1 = 2·P·R / (P + R).

A per-character classifier can emit tags that are not a valid segmentation (``b b``, or
``O E-PER``). :func:`spans` reads every tag sequence by one rule, conlleval's "chunk" rule
with M in the role of I: a span of type X **starts** at a B-X or S-X, or at an M-X/E-X that
does not continue the tag before it (which is O, E-·, S-·, or of another type); it **ends** at
an E-X or S-X, or before a tag that does not continue it (O, B-·, S-·, another type, or the
end of the sentence). On valid sequences this gives exactly the intended spans; on invalid
ones it gives the reading that breaks the fewest tags (``b b e`` → ``b`` + ``b e``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = ["span_scores", "spans", "spans_to_tags", "words"]


def parse_tag(tag: str, op: str = "spans") -> tuple[str, str]:
    """``"B-PER"`` → ("b", "PER"); ``"e"`` → ("e", ""); ``"O"`` → ("o", ""). The one parser
    of the b/m/e/s scheme (the CRF layer's constraints use it too); ``op`` names the caller
    in the error."""
    prefix, _, kind = tag.partition("-") if isinstance(tag, str) else ("", "", "")
    prefix = prefix.lower()
    if prefix not in ("b", "m", "e", "s", "o") or (prefix == "o" and kind):
        raise ValueError(f"{op}: expected b/m/e/s tags (optionally typed, e.g. 'B-PER') or "
                         f"'O', got {tag!r}")
    return prefix, kind


def spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The spans (type, start, end) of a tag sequence, end exclusive, in order (type ``""``
    for untyped b/m/e/s tags). Reads invalid sequences by the chunk rule of the module
    docstring, so every tag other than ``O`` lies in exactly one span."""
    parsed = [parse_tag(t) for t in tags]
    out = []
    start = None
    for t, (prefix, kind) in enumerate(parsed):
        if prefix == "o":
            continue
        prev = parsed[t - 1] if t > 0 else ("o", "")
        continues = prefix in ("m", "e") and prev[0] in ("b", "m") and prev[1] == kind
        if not continues:
            start = t
        nxt = parsed[t + 1] if t + 1 < len(parsed) else ("o", "")
        continued = prefix in ("b", "m") and nxt[0] in ("m", "e") and nxt[1] == kind
        if not continued:
            out.append((kind, start, t + 1))
    return out


def words(tags: Sequence[str]) -> list[tuple[int, int]]:
    """The words (start, end) of b/m/e/s tags: :func:`spans` without the type."""
    return [(start, end) for _, start, end in spans(tags)]


def spans_to_tags(items: Iterable[tuple[str, int, int]], length: int,
                  typed: bool = True) -> list[str]:
    """Tags of ``length`` characters with the given non-overlapping spans (type, start, end):
    ``B-X M-X … E-X`` or ``S-X`` (``b m … e`` / ``s`` when not ``typed``), ``O`` elsewhere."""
    tags = ["O"] * length
    for kind, start, end in items:
        if not 0 <= start < end <= length or any(t != "O" for t in tags[start:end]):
            raise ValueError(f"spans_to_tags: span ({kind!r}, {start}, {end}) is empty, "
                             f"outside [0, {length}) or overlaps another")
        letters = ["s"] if end - start == 1 else ["b"] + ["m"] * (end - start - 2) + ["e"]
        tags[start:end] = [f"{x.upper()}-{kind}" if typed else x for x in letters]
    return tags


def span_scores(predicted: Iterable[Iterable], gold: Iterable[Iterable]) -> dict:
    """Precision, recall and F1 of predicted spans against gold spans, one collection of
    spans per sentence (compared as sets, exact matches only), totalled over sentences.

    Returns ``{"precision", "recall", "f1", "correct", "predicted", "gold"}``; and when the
    spans are (type, start, end) triples, ``"by_type"``: the same numbers per type. An
    empty prediction has precision 0 (so F1 0), not undefined."""
    totals: Counter = Counter()
    per_type: dict[str, Counter] = {}
    typed = False
    for p, g in zip(predicted, gold, strict=True):
        p, g = set(p), set(g)
        for name, group in (("predicted", p), ("gold", g), ("correct", p & g)):
            totals[name] += len(group)
            for item in group:
                if isinstance(item, tuple) and len(item) == 3:
                    typed = True
                    per_type.setdefault(item[0], Counter())[name] += 1
    result = _prf(totals)
    if typed:
        result["by_type"] = {kind: _prf(c) for kind, c in sorted(per_type.items())}
    return result


def _prf(c: Counter) -> dict:
    p = c["correct"] / c["predicted"] if c["predicted"] else 0.0
    r = c["correct"] / c["gold"] if c["gold"] else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "correct": c["correct"],
            "predicted": c["predicted"], "gold": c["gold"]}
