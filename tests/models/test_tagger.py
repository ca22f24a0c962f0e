"""The shared CNN tagger: padding never changes a sentence's emissions (also with dilated
convolutions), dropout acts in training only, every decoder gives one tag per character, the
CRF decoder obeys the b/m/e/s rules, bad decoder names fail, fit_tagger's state is the model
train_tagger trains."""

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.models.tagger import ConvTagger, fit_tagger, train_tagger

TAGS = ("b", "m", "e", "s")


@pytest.mark.parametrize("dilations, bigrams", [((1, 1, 1), None), ((1, 2, 4), None),
                                                ((1, 1, 1), [3 + 20 * 0, 4 + 20 * 3, 9 * 20 + 10])])
def test_padding_does_not_change_a_sentence(dilations, bigrams):
    tg.manual_seed(0)
    model = ConvTagger(20, 8, TAGS, crf=True, dilations=dilations, dropout=0.3,
                       bigrams=bigrams)
    model.eval()
    short, long = [3, 4, 5], [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    alone = model(tg.tensor([short]), tg.tensor([[True] * 3]))
    ids = tg.tensor([short + [0] * 7, long])
    mask = tg.tensor([[True] * 3 + [False] * 7, [True] * 10])
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


def test_dilations_widen_what_a_position_sees():
    """A character changed 5 places away moves the emissions of (1, 2, 4) (sees ±7), not
    of the post's (1, 1, 1) (sees ±3)."""
    ids, mask = [2, 3, 4, 5, 6, 7, 8, 9], tg.tensor([[True] * 8])
    for dilations, moves in (((1, 1, 1), False), ((1, 2, 4), True)):
        tg.manual_seed(0)
        model = ConvTagger(12, 8, TAGS, crf=False, dilations=dilations)
        a = model(tg.tensor([ids]), mask).numpy()[0, 0]
        b = model(tg.tensor([ids[:5] + [11] + ids[6:]]), mask).numpy()[0, 0]
        assert (not np.allclose(a, b)) == moves


def test_dropout_only_in_training():
    tg.manual_seed(0)
    ids, mask = tg.tensor([[2, 3, 4, 5]]), tg.tensor([[True] * 4])
    for p, differs in ((0.0, False), (0.5, True)):
        model = ConvTagger(8, 16, TAGS, crf=True, dropout=p)
        assert (not np.allclose(model(ids, mask).numpy(), model(ids, mask).numpy())) == differs
        model.eval()
        np.testing.assert_array_equal(model(ids, mask).numpy(), model(ids, mask).numpy())


def test_fit_tagger_returns_the_trained_model():
    rng = np.random.default_rng(1)
    x = [list(rng.integers(2, 10, size=n)) for n in rng.integers(2, 7, size=24)]
    y = [[3] * len(s) for s in x]
    kwargs = dict(batch=8, epochs=2, lr=1e-2, crf_lr=1e-1, seed=3)
    run = fit_tagger(10, 8, TAGS, True, x, y, dilations=(1, 2), dropout=0.1, **kwargs)
    assert run["seconds"] >= 0 and run["cpu_seconds"] >= 0
    tg.manual_seed(3)
    twin = ConvTagger(10, 8, TAGS, crf=True, dilations=(1, 2), dropout=0.1)
    train_tagger(twin, x, y, verbose=False, **kwargs)
    loaded = ConvTagger(10, 8, TAGS, crf=True, dilations=(1, 2), dropout=0.1)
    loaded.load_state_dict(run["state"])
    for name, value in twin.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name].numpy(), value.numpy())


def test_bigram_rows():
    """Known bigrams (previous, current) get their own row, unknown ones share row 1, the
    first character pairs with the padding id 0 and padding stays row 0."""
    keys = np.array([3, 4 + 20 * 3, 10 + 20 * 9])  # (start, 3), (3, 4), (9, 10)
    tg.manual_seed(0)
    model = ConvTagger(20, 4, TAGS, crf=False, bigrams=keys)
    model.bigram_embedding.weight.data[:] = np.arange(5)[:, None]  # row i reads i
    model.embedding.weight.data[:] = 0
    x = model.embed(tg.tensor([[3, 4, 5, 9, 10, 0]])).numpy()[0, :, 0]
    np.testing.assert_array_equal(x, [2, 3, 1, 1, 4, 0])


def test_kernels_and_residual_keep_padding_invariance_and_widen_the_field():
    """Kernel sizes per layer and residual connections: padding still changes nothing, and
    kernels (5, 5, 5) see 13 characters where (3, 3, 3) see 7."""
    tg.manual_seed(0)
    model = ConvTagger(20, 8, TAGS, crf=True, kernels=(5, 3, 5), dilations=(1, 1, 1),
                       residual=True)
    model.eval()
    short = [3, 4, 5]
    alone = model(tg.tensor([short]), tg.tensor([[True] * 3]))
    batched = model(tg.tensor([short + [0] * 5, [6] * 8]),
                    tg.tensor([[True] * 3 + [False] * 5, [True] * 8]))
    np.testing.assert_allclose(batched.numpy()[0, :3], alone.numpy()[0], rtol=1e-5, atol=1e-6)
    for kernels, field in (((3, 3, 3), 7), ((5, 5, 5), 13)):
        tg.manual_seed(1)
        m = ConvTagger(20, 8, TAGS, crf=False, kernels=kernels, residual=True)
        m.eval()
        base = [5] * 21
        h0 = m(tg.tensor([base]), tg.tensor([[True] * 21])).numpy()[0]
        seen = []
        for t in range(21):
            changed_ = list(base)
            changed_[t] = 7
            h = m(tg.tensor([changed_]), tg.tensor([[True] * 21])).numpy()[0]
            seen.append(not np.allclose(h[10], h0[10]))
        assert sum(seen) == field


def test_bad_kernels_and_vectors_fail():
    with pytest.raises(tg.ArgumentError, match="one kernel size per convolution"):
        ConvTagger(10, 4, TAGS, crf=True, kernels=(3, 5))
    with pytest.raises(tg.ArgumentError, match=r"vectors\['chars'\] must be a matrix"):
        ConvTagger(10, 4, TAGS, crf=True, vectors={"chars": np.zeros((9, 4))})
    with pytest.raises(tg.ArgumentError, match=r"vectors\['bigrams'\]"):
        ConvTagger(10, 4, TAGS, crf=True, vectors={"bigrams": np.zeros((5, 4))})


def test_sparse_bigram_table_trains_only_the_rows_used():
    """``sparse=True``: the bigram table's rows that no training bigram uses stay as they
    started; the others move; the character table is dense as before."""
    rng = np.random.default_rng(2)
    x = [list(rng.integers(2, 6, size=n)) for n in rng.integers(2, 7, size=24)]
    y = [[3] * len(s) for s in x]
    keys = np.array(sorted({a + 10 * b for a in range(2, 6) for b in range(0, 6)} | {99}))
    tg.manual_seed(0)
    model = ConvTagger(10, 8, TAGS, crf=True, bigrams=keys, sparse=True)
    assert model.bigram_embedding.sparse and not model.embedding.sparse
    before = model.bigram_embedding.weight.numpy().copy()
    train_tagger(model, x, y, batch=8, epochs=1, lr=1e-2, crf_lr=1e-1, seed=0, verbose=False)
    after = model.bigram_embedding.weight.numpy()
    unused = 2 + int(np.searchsorted(keys, 99))
    np.testing.assert_array_equal(after[unused], before[unused])
    np.testing.assert_array_equal(after[0], 0)
    used = 2 + np.searchsorted(keys, [3 + 10 * 2, 2])
    assert not np.allclose(after[used], before[used])


def test_pretrained_vectors_put_characters_of_like_contexts_together():
    """word2vec on the training sentences: two characters that occur in the same contexts
    end up closer than two that never share one; shapes, zero padding row, the scale."""
    from tinygen.models.sentiment import bigram_keys
    from tinygen.models.tagger import pretrained_vectors

    rng = np.random.default_rng(0)
    # 2 and 3 are interchangeable (both follow 4, precede 5); 6 only between 7 and 8
    x = [[4, int(rng.choice([2, 3])), 5] if rng.random() < 0.5 else [7, 6, 8]
         for _ in range(3000)]
    keys = bigram_keys(x, 10, 2)
    v = pretrained_vectors(x, 10, 16, keys, epochs=10, window=1)
    assert v["chars"].shape == (10, 16) and v["bigrams"].shape == (len(keys) + 2, 16)
    assert not v["chars"][0].any() and not v["bigrams"][0].any()
    assert abs(v["chars"][2:9].std() - 0.03) < 0.005
    cos = lambda a, b: a @ b / np.linalg.norm(a) / np.linalg.norm(b)  # noqa: E731
    c = v["chars"] - v["chars"][2:9].mean(axis=0)  # the seven characters seen, centred
    assert cos(c[2], c[3]) > 0.6 and cos(c[2], c[6]) < 0
    ConvTagger(10, 16, TAGS, crf=True, bigrams=keys, vectors=v)  # they fit the tables


def test_residual_adds_each_later_layer_to_its_input():
    tg.manual_seed(0)
    model = ConvTagger(12, 6, TAGS, crf=False, kernels=(3, 5, 3), residual=True)
    ids = tg.tensor([[2, 3, 4, 5, 6]])
    x = tg.ops.transpose(model.embed(ids), 1, 2)
    x = tg.ops.relu(model.convs[0](x))
    for conv in model.convs[1:]:
        x = x + tg.ops.relu(conv(x))
    expected = model.dense(tg.ops.transpose(x, 1, 2)).numpy()
    got = model(ids, tg.tensor([[True] * 5])).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
