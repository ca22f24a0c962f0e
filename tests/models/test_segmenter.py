"""The CRF segmenter as a tool: trained briefly on People's Daily it cuts held-out sentences
far better than one word per character, and its words always put the text back together."""

import pytest

import tinygen as tg
from tinygen.models.tagger import Segmenter
from tinygen.tagging import span_scores, words


@pytest.fixture(scope="module")
def segmenter_and_test():
    from tinygen.data import load_peoples_daily_seg

    train, _, test = load_peoples_daily_seg()
    tg.manual_seed(0)
    return Segmenter.train(train[:600], epochs=1), test[:150]


def _spans(pieces):
    out, start = [], 0
    for w in pieces:
        out.append((start, start + len(w)))
        start += len(w)
    return out


def test_cut_beats_one_word_per_character(segmenter_and_test):
    seg, test = segmenter_and_test
    texts = ["".join(chars) for chars, _ in test]
    gold = [words(tags) for _, tags in test]
    cut = span_scores([_spans(w) for w in seg.cut(texts)], gold)["f1"]
    single = span_scores([[(i, i + 1) for i in range(len(t))] for t in texts], gold)["f1"]
    assert cut > single + 0.2, (cut, single)


def test_cut_keeps_every_character(segmenter_and_test):
    seg, _ = segmenter_and_test
    texts = ["这个手机很好用，电池也耐用！", "", "Ω≠好", "a"]
    out = seg.cut(texts)
    assert out[1] == [] and all("".join(w) == t for w, t in zip(out, texts))
    assert all(w for ws in out for w in ws)
