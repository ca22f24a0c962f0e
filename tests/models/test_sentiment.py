"""The sentiment LSTM: its running score ends at its prediction, padding does not change a
review's score, it learns a toy rule; the baselines run; snownlp's is None without it."""

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygen.data import Vocab
from tinygen.errors import ArgumentError, ShapeError
from tinygen.models import sentiment as S
from tinygen.random import Generator


def _toy(n=200, seed=0):
    """Reviews of random characters; positive exactly when 好 occurs."""
    rng = np.random.default_rng(seed)
    chars = list("的了是我不很也都")
    out = []
    for _ in range(n):
        text = "".join(rng.choice(chars, rng.integers(3, 8)))
        y = int(rng.random() < 0.5)
        if y:
            k = rng.integers(0, len(text) + 1)
            text = text[:k] + "好" + text[k:]
        out.append((text, y))
    return out


@pytest.mark.parametrize("pool", ["last", "max", "mean"])
def test_step_scores_end_at_the_prediction_and_ignore_padding(pool):
    vocab = Vocab.build([list("好的了是我不很也都")])
    model = S.SentimentLSTM(len(vocab), 8, 8, generator=Generator(0), pool=pool)
    ids = S.char_ids([("好的了", 1), ("我不很也都", 0)], vocab, 10)
    x = np.zeros((2, 5), np.int64)
    mask = np.zeros((2, 5), bool)
    for r, seq in enumerate(ids):
        x[r, :len(seq)], mask[r, :len(seq)] = seq, True
    final = 1 / (1 + np.exp(-model(x, mask).data))
    steps = model.step_scores(x, mask)
    assert steps.shape == (2, 5)
    assert final[0] == pytest.approx(steps[0, 2]) and final[1] == pytest.approx(steps[1, 4])
    alone = 1 / (1 + np.exp(-model(x[:1, :3], mask[:1, :3]).data))
    assert alone[0] == pytest.approx(final[0])


def test_lstm_learns_a_keyword_rule_and_the_baselines_run():
    train, test = _toy(300), _toy(100, seed=1)
    vocab = Vocab.build([list(t) for t, _ in train])
    enc = lambda part: (S.char_ids(part, vocab, 12), np.array([y for _, y in part]))
    model = S.SentimentLSTM(len(vocab), 8, 8, generator=Generator(0))
    history = S.train_sentiment(model, enc(train), enc(test), epochs=6, batch=32, lr=1e-2)
    assert history[-1]["loss"] < history[0]["loss"]
    assert S.accuracy(model, *enc(test)) > 0.9
    assert S.tfidf_logistic(train, test) > 0.9


def test_an_unknown_pooling_is_refused():
    with pytest.raises(ArgumentError, match="SentimentLSTM: pool must be .* got 'sum'"):
        S.SentimentLSTM(10, 4, 4, pool="sum")


def test_keep_best_ends_on_the_best_validation_epoch_in_eval_mode():
    # validation labels inverted: the better the model learns, the worse it validates, so
    # the best epoch is an early one and never the last
    train = _toy(200)
    valid = [(t, 1 - y) for t, y in _toy(60, seed=2)]
    vocab = Vocab.build([list(t) for t, _ in train])
    enc = lambda part: (S.char_ids(part, vocab, 12), np.array([y for _, y in part]))
    model = S.SentimentLSTM(len(vocab), 8, 8, generator=Generator(1), pool="max", dropout=0.3)
    history = S.train_sentiment(model, enc(train), enc(valid), epochs=5, batch=16, lr=3e-2,
                                bucket=True, keep_best=True)
    assert not model.training
    scores = [h["valid_accuracy"] for h in history]
    assert max(scores) > scores[-1]
    assert S.accuracy(model, *enc(valid)) == max(scores)


def test_snownlp_bayes_is_none_without_snownlp(monkeypatch):
    monkeypatch.setitem(sys.modules, "snownlp", None)
    monkeypatch.setitem(sys.modules, "snownlp.classification.bayes", None)
    assert S.snownlp_bayes(_toy(10), _toy(10)) is None


def test_snownlp_bayes_learns_the_rule_when_installed():
    pytest.importorskip("snownlp", reason="snownlp (the ref extra) is not installed")
    assert S.snownlp_bayes(_toy(300), _toy(100, seed=1)) > 0.8


def test_word_ids_and_pretrained_vectors():
    vocab = Vocab.build([["很", "好用"], ["不", "好用"], ["很", "差"]])
    assert S.word_ids([["很", "好用", "新词"], []], vocab, 2) == [
        [vocab.id("很"), vocab.id("好用")], [vocab.unk_id]]
    model = S.SentimentLSTM(len(vocab), 4, 4, generator=Generator(0))
    before = model.embed.weight.data.copy()
    matrix = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert S.load_vectors(model.embed, vocab, ["好用", "差", "缺席"], matrix) == 2
    rows = [vocab.id("好用"), vocab.id("差")]
    got = model.embed.weight.data[rows]
    np.testing.assert_allclose(got, matrix[:2] / matrix[:2].std(), rtol=1e-6)
    others = [i for i in range(len(vocab)) if i not in rows]
    np.testing.assert_array_equal(model.embed.weight.data[others], before[others])
    with pytest.raises(ShapeError, match=r"load_vectors: 3 words need vectors of shape"):
        S.load_vectors(model.embed, vocab, ["a", "b", "c"], np.zeros((3, 5)))


def test_bigram_keys_and_inputs_add_the_bigram_row():
    """Keys a·V + b of the bigrams seen twice (a = 0 at the start); a step's input is its
    token's row plus its bigram's (row 1 for an unknown bigram, row 0 at padding)."""
    keys = S.bigram_keys([[2, 3, 2, 3], [2, 3], [4]], vocab_size=5, min_count=2)
    assert keys.tolist() == [0 * 5 + 2, 2 * 5 + 3]  # (start, 2) and (2, 3); (3, 2) once
    model = S.SentimentLSTM(5, 3, 4, generator=Generator(0), bigrams=keys)
    ids = np.array([[2, 3, 2, 0], [4, 4, 0, 0]])
    rows = np.array([[2, 3, 1, 0], [1, 1, 0, 0]])
    expected = model.embed.weight.data[ids] * (ids != 0)[..., None] + \
        model.bigram_embed.weight.data[rows] * (rows != 0)[..., None]
    np.testing.assert_allclose(model.inputs(ids).data, expected)


@pytest.mark.parametrize("pool", ["max", "last"])
def test_bigram_model_ignores_padding_and_learns_a_bigram_rule(pool):
    """Positive exactly when 不 is *not* right before 好: the same characters either way, so
    the label is in the bigram; the bigram LSTM learns it; padding does not change a
    score."""
    rng = np.random.default_rng(0)

    def reviews(n):
        out = []
        for _ in range(n):
            text = "".join(rng.choice(list("的了是我很也"), 4))
            y = int(rng.random() < 0.5)
            k = rng.integers(0, 4)
            text = text[:k] + ("不好" if not y else "好不") + text[k:]
            out.append((text, y))
        return out

    train, test = reviews(300), reviews(100)
    vocab = Vocab.build([list(t) for t, _ in train])
    enc = lambda part: (S.char_ids(part, vocab, 12), np.array([y for _, y in part]))
    keys = S.bigram_keys(enc(train)[0], len(vocab))
    model = S.SentimentLSTM(len(vocab), 8, 8, generator=Generator(0), pool=pool, bigrams=keys)
    x, y = enc(test)
    padded = np.zeros((1, 12), np.int64)
    padded[0, :len(x[0])] = x[0]
    alone = model(np.array([x[0]]), np.ones((1, len(x[0])), bool)).data
    assert model(padded, padded != 0).data == pytest.approx(alone)
    S.train_sentiment(model, enc(train), enc(test), epochs=6, batch=32, lr=1e-2)
    assert S.accuracy(model, x, y) > 0.9


def test_a_job_in_a_worker_matches_this_process_and_returns_the_weights():
    """The characters job run in spawned workers (map_jobs) gives the numbers of the same
    job run here, and its returned state rebuilds the trained model."""
    from tinygen.parallel import map_jobs

    reviews = _toy(160)
    vocab = Vocab.build([list(t) for t, _ in reviews], min_count=1)
    part = (S.char_ids(reviews, vocab, 10), np.array([y for _, y in reviews]))
    data = {"train": part, "valid": part, "test": part}
    jobs = [{"data": data, "vocab_size": len(vocab), "units": 8, "epochs": 2, "seed": seed,
             "pool": "max"} for seed in (0, 1)]
    here = [S.fit_sentiment(**job) for job in jobs]
    there = map_jobs(S.fit_sentiment, jobs, processes=2)
    for a, b in zip(here, there):
        assert a["history"] == b["history"] and a["test_accuracy"] == b["test_accuracy"]
        assert b["process_cpu_seconds"] >= b["cpu_seconds"] > 0
    model = S.SentimentLSTM(len(vocab), 8, 8, generator=Generator(1), pool="max")
    model.load_state_dict(there[1]["state"])
    assert S.accuracy(model, *data["test"]) == there[1]["test_accuracy"]


def test_word_dropout_reads_dropped_tokens_as_unk_in_training_only():
    # an embedding whose <unk> row is zero and all others one: the share of zero rows the
    # LSTM reads is the share of dropped tokens; eval drops none
    model = S.SentimentLSTM(50, 4, 4, generator=Generator(0), pool="max", word_dropout=0.3)
    model.embed.weight.data[:] = 1.0
    model.embed.weight.data[1] = 0.0
    seen = []
    model.lstm.forward = lambda x, mask=None: (seen.append(x.data.copy()),
                                               original(x, mask=mask))[1]
    original = type(model.lstm).forward.__get__(model.lstm)
    model.drop.p = 0.0
    x = np.full((200, 30), 7, np.int64)
    x[:, 25:] = 0
    model(x, x != 0)
    dropped = seen[-1][:, :25, 0] == 0
    assert abs(dropped.mean() - 0.3) < 0.03
    model.eval()
    model(x, x != 0)
    assert (seen[-1][:, :25, 0] == 1).all()


def test_bidirectional_model_reads_both_ways_and_ignores_padding():
    model = S.SentimentLSTM(20, 6, 5, generator=Generator(0), pool="max", bidirectional=True)
    assert 10 in model.out.weight.shape  # the dense layer reads both directions
    x = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 2]])
    mask = x != 0
    both = model(x, mask).data
    assert both[0] == pytest.approx(model(x[:1, :3], mask[:1, :3]).data[0])
    # the first step's state: its forward half has read one token, its backward half all
    y = x.copy()
    y[1, 4] = 3
    first = [model.lstm(model.inputs(z), mask=z != 0)[0].data[1, 0] for z in (x, y)]
    assert first[0][:5] == pytest.approx(first[1][:5])
    assert not np.allclose(first[0][5:], first[1][5:])


def test_bad_word_dropout_and_bidirectional_last_state_are_refused():
    with pytest.raises(ArgumentError, match="word_dropout must be in \\[0, 1\\), got 1.0"):
        S.SentimentLSTM(10, 4, 4, word_dropout=1.0)
    with pytest.raises(ArgumentError, match="bidirectional LSTM has no single last state"):
        S.SentimentLSTM(10, 4, 4, bidirectional=True)


def test_piece_table_and_inputs_add_the_mean_of_the_pieces():
    """A word's pieces are its characters (0 after its end and for the specials); a step's
    input is the word's row — ``<unk>`` for ids past the vocabulary — plus the mean of its
    pieces' rows; word dropout drops the word's row and keeps its pieces."""
    chars = Vocab.build([list("好用差很")])
    tokens = Vocab(["好用", "很", "差用好"])
    table = S.piece_table(tokens, chars, 2)
    assert table[tokens.id("好用")].tolist() == [chars.id("好"), chars.id("用")]
    assert table[tokens.id("很")].tolist() == [chars.id("很"), 0]
    assert table[tokens.id("差用好")].tolist() == [chars.id("差"), chars.id("用")]
    assert not table[:len(tokens.specials)].any()
    vocab_size = tokens.id("差用好")  # the last word has no row of its own: it reads as <unk>
    model = S.SentimentLSTM(vocab_size, 3, 4, generator=Generator(0), pieces=table)
    ids = np.array([[tokens.id("好用"), tokens.id("差用好"), tokens.id("很"), 0]])
    word, piece = model.embed.weight.data, model.piece_embed.weight.data
    expected = np.stack([word[ids[0, 0]] + (piece[table[ids[0, 0]]].sum(0)) / 2,
                         word[1] + piece[table[ids[0, 1]]].sum(0) / 2,
                         word[ids[0, 2]] + piece[table[ids[0, 2], 0]],
                         np.zeros(3)])
    np.testing.assert_allclose(model.inputs(ids).data[0], expected, rtol=1e-5)
    model.word_dropout, model._word_rng = 0.999, np.random.default_rng(0)
    dropped = model.inputs(ids, drop_words=True).data[0]
    rows = np.array([ids[0, 0], 1, ids[0, 2]])  # the rows the three words read undropped
    np.testing.assert_allclose(dropped[:3], expected[:3] - word[rows] + word[1], rtol=1e-5)
    with pytest.raises(ShapeError, match="pieces must be a .n ≥ vocab_size = 5, width. table"):
        S.SentimentLSTM(5, 3, 4, pieces=np.zeros((4, 2), np.int64))


def test_a_weight_average_is_what_is_validated_and_kept():
    """With ``average`` the validation accuracy is the averaged weights' (the raw weights'
    beside it), and the model ends on the averaged weights of the last epoch."""
    from tinygen.optim import EMA

    train, valid = _toy(120), _toy(60, seed=2)
    vocab = Vocab.build([list(t) for t, _ in train])
    enc = lambda part: (S.char_ids(part, vocab, 12), np.array([y for _, y in part]))
    model = S.SentimentLSTM(len(vocab), 8, 8, generator=Generator(1), pool="max")
    start = {k: v.numpy() for k, v in model.state_dict().items()}
    history = S.train_sentiment(model, enc(train), enc(valid), epochs=2, batch=16, lr=3e-2,
                                average=0.9)
    assert all("raw_valid_accuracy" in h for h in history)
    assert S.accuracy(model, *enc(valid)) == history[-1]["valid_accuracy"]
    # the same training without the average, shadowed by hand, ends on the same weights
    twin = S.SentimentLSTM(len(vocab), 8, 8, generator=Generator(1), pool="max")
    twin.load_state_dict(start)
    ema, step = EMA(twin, alpha=0.9), S.Adam.step

    def stepped(self):
        step(self)
        ema.update()

    S.Adam.step = stepped
    try:
        raw = S.train_sentiment(twin, enc(train), enc(valid), epochs=2, batch=16, lr=3e-2)
    finally:
        S.Adam.step = step
    assert [h["valid_accuracy"] for h in raw] == [h["raw_valid_accuracy"] for h in history]
    ema.apply()
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(p.data, q.data, err_msg=name)


def test_probabilities_are_the_sigmoid_of_the_logits_and_give_the_accuracy():
    reviews = _toy(40)
    vocab = Vocab.build([list(t) for t, _ in reviews])
    ids, y = S.char_ids(reviews, vocab, 10), np.array([y for _, y in reviews])
    model = S.SentimentLSTM(len(vocab), 6, 6, generator=Generator(3), pool="max", dropout=0.5)
    p = S.probabilities(model, ids, batch=7)
    assert p.shape == (40,) and p.dtype == np.float64 and model.training  # mode kept
    x = np.zeros((1, 10), np.int64)
    x[0, :len(ids[5])] = ids[5]
    model.eval()
    assert p[5] == pytest.approx(1 / (1 + np.exp(-model(x, x != 0).data[0])), rel=1e-6)
    assert S.accuracy(model, ids, y) == np.mean((p > 0.5) == (y == 1))


@given(st.text(alphabet="好差的了是", max_size=30), st.integers(0, 12), st.integers(0, 12))
def test_ends_keeps_the_head_and_the_tail_of_a_long_review(text, head, tail):
    got = S.ends(text, head, tail)
    assert isinstance(got, str)
    if len(text) <= head + tail:
        assert got == text
    else:  # exactly head + tail items: the opening, then the end, in order
        assert len(got) == head + tail
        assert got[:head] == text[:head] and got[head:] == text[len(text) - tail:]
    assert S.ends(list(text), head, tail) == list(got)  # word lists too


def test_char_and_word_ids_read_the_ends_and_bad_cuts_are_refused():
    vocab = Vocab.build([list("一二三四五六")])
    one = [vocab.id(c) for c in "一二三四五六"]
    assert S.char_ids([("一二三四五六", 1)], vocab, 2, tail=1) == [one[:2] + one[-1:]]
    assert S.char_ids([("一二三四五六", 1)], vocab, 2) == [one[:2]]
    assert S.word_ids([list("一二三四五六")], vocab, 1, tail=2) == [one[:1] + one[-2:]]
    assert S.char_ids([("一二三", 1)], vocab, 2, tail=1) == [one[:3]]
    for head, tail in ((-1, 0), (2, -1), (1.5, 0), (True, 0)):
        with pytest.raises(ArgumentError, match="ends: head and tail must be integers ≥ 0"):
            S.ends("一二三", head, tail)
