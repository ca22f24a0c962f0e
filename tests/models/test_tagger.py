"""The shared CNN tagger: padding never changes a sentence's emissions, every decoder gives
one tag per character, the CRF decoder obeys the b/m/e/s rules, bad decoder names fail."""

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.models.tagger import ConvTagger, train_tagger

TAGS = ("b", "m", "e", "s")


def test_padding_does_not_change_a_sentence():
    tg.manual_seed(0)
    model = ConvTagger(20, 8, TAGS, crf=True)
    model.eval()
    short, long = [3, 4, 5], [6, 7, 8, 9, 10, 11]
    alone = model(tg.tensor([short]), tg.tensor([[True] * 3]))
    ids = tg.tensor([short + [0] * 3, long])
    mask = tg.tensor([[True] * 3 + [False] * 3, [True] * 6])
    batched = model(ids, mask)
    np.testing.assert_allclose(batched.numpy()[0, :3], alone.numpy()[0], rtol=1e-5, atol=1e-6)


def test_decoders_and_training():
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = [list(rng.integers(2, 12, size=n)) for n in rng.integers(2, 9, size=40)]
    y = [[3] * len(s) for s in x]  # every character a word: s s s ...
    model = ConvTagger(12, 8, TAGS, crf=True)
    train_tagger(model, x, y, batch=8, epochs=3, lr=1e-2, crf_lr=1e-1, seed=0, verbose=False)
    allowed, first, last = nn.bmes_constraints(TAGS)
    for how in ("crf", "argmax", "valid"):
        out = model.predict(x, how)
        assert [len(p) for p in out] == [len(s) for s in x]
    for p in model.predict(x, "crf") + model.predict(x, "valid"):
        assert first[p[0]] and last[p[-1]] and allowed[p[:-1], p[1:]].all()
    assert np.mean([(p == 3).mean() for p in model.predict(x, "crf")]) > 0.9


def test_bad_decoder_names_fail():
    with pytest.raises(ValueError, match="how must be one of"):
        ConvTagger(5, 4, TAGS, crf=True).predict([[1, 2]], "beam")
    with pytest.raises(ValueError, match="'crf' needs a CRF layer"):
        ConvTagger(5, 4, TAGS, crf=False).predict([[1, 2]], "crf")
