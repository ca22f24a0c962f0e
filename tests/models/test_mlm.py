"""MLM and MAE as dropout: the corruption's rates, the corrected embedding as the expectation
of the corrupted one, MAE's packing and its equality with key masking, learning, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.nn.helpers import check_module_grads
from tinygen.autograd import Tensor, no_grad
from tinygen.errors import ArgumentError, ShapeError, TinygenError
from tinygen.models import mlm as M
from tinygen.random import Generator

V = 9  # 3 specials and 6 ordinary tokens


def _model(decoder=False, dim=8, seed=0, dropout=0.0, local=False):
    return M.MaskedEncoder(V, dim=dim, heads=2, layers=1, ff=8, max_len=12, dropout=dropout,
                           decoder=decoder, local=local, generator=Generator(seed))


def _batch(rng, b=3, t=7):
    ids = rng.integers(M.FIRST_ORDINARY, V, (b, t))
    lengths = rng.integers(1, t + 1, b)
    mask = (np.arange(t)[None, :] < lengths[:, None]).astype(np.int64)
    return np.where(mask, ids, M.PAD_ID), mask


def test_choose_rate_count_per_row_padding_and_one_target_per_batch():
    """Each real token is chosen with probability exactly p (within 4 standard errors per
    place), a row with n real tokens gets ⌊pn⌋ or ⌈pn⌉ of them, padding never."""
    rng = np.random.default_rng(0)
    mask = np.ones((4000, 40), np.int64)
    mask[:, 30:] = 0
    chosen = M.choose(mask, 0.15, rng)  # 4.5 per row: 4 or 5, each half the time
    assert set(chosen.sum(1)) == {4, 5} and not chosen[:, 30:].any()
    share = chosen[:, :30].mean(0)
    assert np.all(np.abs(share - 0.15) < 4 * np.sqrt(0.15 * 0.85 / 4000))
    assert abs(chosen.sum() - 4.5 * 4000) < 4 * np.sqrt(4000 * 0.25)
    short = M.choose(np.array([[0, 0, 0], [0, 1, 0]]), 1e-9, rng)
    assert short.sum() == 1 and short[1, 1]


def test_bert_corrupt_splits_80_10_10_and_leaves_the_rest():
    rng = np.random.default_rng(1)
    ids = np.full((200, 100), 5)
    chosen = M.choose(np.ones_like(ids), 0.5, rng)
    out = M.bert_corrupt(ids, chosen, V, rng)
    assert (out[~chosen] == 5).all()
    n = chosen.sum()
    masked = (out[chosen] == M.MASK_ID).mean()
    other = (out[chosen] != 5).mean() - masked  # random and different from the token
    assert abs(masked - 0.8) < 4 * np.sqrt(0.16 / n)
    p_other = 0.1 * (V - M.FIRST_ORDINARY - 1) / (V - M.FIRST_ORDINARY)
    assert abs(other - p_other) < 4 * np.sqrt(p_other / n)
    assert out.min() >= M.MASK_ID and out.max() < V


def test_mixed_embedding_is_the_expected_corrupted_embedding():
    """The post's correction: embed(x, mix_rate=p) = E[embed(bert_corrupt(x))] at rate p,
    estimated over many independent corruptions (each coordinate within 5 standard errors)."""
    model = _model()
    rng = np.random.default_rng(2)
    ids = np.array([[3, 7, 5, 5, 8]])
    draws = 6000
    many = np.repeat(ids, draws, 0)
    chosen = M.choose(np.ones_like(many), 0.3, rng)
    with no_grad():
        noisy = model.embed(M.bert_corrupt(many, chosen, V, rng)).data
        mixed = model.embed(ids, mix_rate=0.3).data[0]
        clean = model.embed(ids).data[0]
    mean, se = noisy.mean(0), noisy.std(0) / np.sqrt(draws) + 1e-7
    assert np.all(np.abs(mean - mixed) < 5 * se)
    assert np.abs(mean - clean).max() > 10 * se.max()  # the clean input is not the expectation


@given(data=st.data())
def test_pack_keeps_tokens_in_order_with_their_positions(data):
    b, t = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 6))
    keep = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=t, max_size=t),
                                       min_size=b, max_size=b)))
    ids = np.arange(b * t).reshape(b, t) + 10
    p_ids, p_pos, p_mask = M.pack(ids, keep)
    for r in range(b):
        k = keep[r].sum()
        assert list(p_mask[r]) == [1] * k + [0] * (p_mask.shape[1] - k)
        assert list(p_pos[r, :k]) == list(np.flatnonzero(keep[r]))
        assert list(p_ids[r, :k]) == list(ids[r][keep[r]])
        assert (p_ids[r, k:] == M.PAD_ID).all()


@pytest.mark.parametrize("local", [False, True])
def test_dropping_tokens_equals_masking_them_out_of_attention(local):
    """MAE keeps positions: the encoder on the packed kept tokens gives, at each kept token,
    exactly the states of the full sequence with the dropped tokens removed from the keys —
    with the distance prior too, which must follow the kept tokens' own places."""
    model = _model(local=local)
    rng = np.random.default_rng(3)
    ids, mask = _batch(rng, b=4, t=8)
    chosen = M.choose(mask, 0.4, rng)
    (v_ids, v_pos, v_mask), _ = M.drop_tokens(ids, mask, chosen)
    with no_grad():
        packed = model.encode(v_ids, v_mask, positions=v_pos).data
        full = model.encode(ids, mask * ~chosen).data
    for r in range(len(ids)):
        kept = np.flatnonzero(mask[r].astype(bool) & ~chosen[r])
        np.testing.assert_allclose(packed[r, :len(kept)], full[r, kept], rtol=1e-5, atol=1e-5)


def test_local_heads_look_left_right_and_around():
    offsets, slopes = M.local_heads(4)
    assert list(offsets) == [-1, 1, 0, 0] and list(slopes) == [1, 1, 0.25, 0.0625]
    with pytest.raises(ArgumentError, match="at least 2 heads"):
        M.local_heads(1)


def test_the_decoder_reads_the_prior_from_the_kept_places():
    """With the distance prior, what the decoder predicts depends on where the kept tokens
    stand, not on their order in the packed row: shuffling them together with their places
    changes nothing (attention alone is blind to the order; the prior must follow the
    places)."""
    model = _model(decoder=True, local=True)
    states = Tensor(np.random.default_rng(11).standard_normal((1, 4, 8)).astype(np.float32))
    places, targets, mask = np.array([[0, 2, 5, 6]]), np.array([[1, 3, 4]]), np.ones((1, 4))
    shuffle = [2, 0, 3, 1]
    with no_grad():
        a = model.decode(states, mask, targets, places).data
        b = model.decode(states[:, shuffle], mask, targets, places[:, shuffle]).data
        c = model.decode(states, mask, targets, places[:, shuffle]).data
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert np.abs(a - c).max() > 1e-3  # the places matter


@pytest.mark.parametrize("local", [False, True])
@pytest.mark.parametrize("style", ["mlm", "mae"])
def test_pretraining_learns_a_predictable_corpus(style, local):
    """Rows count up through the 6 ordinary tokens from a random start, so any kept token and
    the positions tell the hidden ones (chance: 1/6)."""
    rng = np.random.default_rng(4)
    batches = []
    for _ in range(4):
        ids, mask = _batch(rng, b=16, t=8)
        ids = M.FIRST_ORDINARY + (rng.integers(0, 6, (16, 1)) + np.arange(8)) % 6
        batches.append((np.where(mask, ids, M.PAD_ID), mask))
    model = _model(decoder=style == "mae", dim=16, local=local)
    before = M.masked_accuracy(model, batches, 0.3, style)
    history = M.pretrain(model, batches, 150, 0.3, style=style, lr=1e-2)
    assert history[-1]["loss"] < history[0]["loss"] - 0.5
    assert M.masked_accuracy(model, batches, 0.3, style) > max(before, 1 / 6) + 0.3


def test_fine_tuning_learns_a_toy_rule_with_and_without_the_correction():
    rng = np.random.default_rng(5)
    data = []
    for _ in range(4):
        ids, mask = _batch(rng, b=16, t=6)
        y = (ids == 4).any(1).astype(np.int64)  # positive when token 4 occurs
        data.append(((ids, mask), y))
    for mix in (0.0, 0.15):
        model = _model(dim=16)
        losses = M.fine_tune(model, data, 40, lr=1e-2, mix_rate=mix)
        assert losses[-1] < 0.5 * losses[0]
        assert M.sentiment_accuracy(model, data, mix) > 0.9


def test_sentiment_logit_grads_with_the_correction():
    """The correction is differentiable in the embeddings it mixes (first order, float64)."""
    model = _model(dim=4)
    ids, mask = _batch(np.random.default_rng(6), b=2, t=3)
    check_module_grads(model, [], params=["tokens.weight", "positions.weight",
                                          "classifier.weight"],
                       kwargs={"ids": ids, "mask": mask, "mix_rate": 0.2}, atol=1e-5, rtol=1e-4)


def test_errors_name_what_is_wrong():
    model = _model()
    ids, mask = _batch(np.random.default_rng(7))
    with pytest.raises(ArgumentError, match="masking rate must lie in"):
        M.choose(mask, 1.5, np.random.default_rng(0))
    with pytest.raises(ArgumentError, match="masking rate must lie in"):
        model.embed(ids, mix_rate=-0.1)
    with pytest.raises(ShapeError, match="padded_batches: every sequence needs at least one"):
        M.padded_batches([[3, 4], []], 2)
    with pytest.raises(TinygenError, match="without a decoder"):
        model.decode(model.encode(ids, mask), mask, np.zeros((3, 1), np.int64))
    with pytest.raises(ShapeError, match="exceed max_len 12"):
        model.encode(np.full((1, 13), 4), np.ones((1, 13)))
    with pytest.raises(ShapeError, match="positions .* shape of the ids"):
        model.embed(ids, positions=np.zeros((1, 2), np.int64))
    with pytest.raises(ArgumentError, match="style must be 'mlm' or 'mae'"):
        M.pretrain(model, [(ids, mask)], 1, 0.15, style="bert")


def test_expectation_gap_measures_distances_to_the_noisy_average():
    model = _model(dim=16)
    rng = np.random.default_rng(8)
    batches = [_batch(rng, b=6, t=10) for _ in range(2)]
    gap = M.expectation_gap(model, batches, 0.3, draws=16, seed=0)
    assert set(gap) == {"clean", "mixed", "noise"} and all(v > 0 for v in gap.values())
    assert gap["mixed"] < gap["clean"]  # the correction's input is nearer, even untrained


def test_mlm_accuracy_by_input_separates_copying_from_prediction():
    """A model that only copies its input is right exactly where the chosen token was left
    unchanged: 1 there, 0 at [MASK] and at random swaps."""
    class Copier(M.MaskedEncoder):
        def encode(self, ids, mask, positions=None, mix_rate=0.0):
            return Tensor(np.eye(V)[np.asarray(ids)])

        def token_logits(self, states):
            return states

    rng = np.random.default_rng(8)
    batches = [_batch(rng, b=16, t=8) for _ in range(4)]
    shares = M.mlm_accuracy_by_input(Copier(V, dim=8, heads=2, layers=1, ff=8, max_len=12),
                                     batches, 0.5)
    assert shares == {"mask": 0.0, "unchanged": 1.0, "random": 0.0}


def test_step_seconds_times_both_styles_on_the_same_batches():
    rng = np.random.default_rng(9)
    batches = [_batch(rng, b=8, t=10) for _ in range(3)]
    models = {"mlm": _model(), "mae": _model(decoder=True)}
    before = models["mae"].decoder[1].w_q.data.copy()
    out = M.step_seconds(models, batches, 0.5, rounds=2)
    assert set(out) == {"step", "encoder"}
    assert all(set(v) == {"mlm", "mae"} and min(v.values()) > 0 for v in out.values())
    assert not np.array_equal(before, models["mae"].decoder[1].w_q.data)  # real steps taken
    with pytest.raises(ArgumentError, match="step_seconds: style must be"):
        M.step_seconds({"bert": _model()}, batches, 0.5)


def test_jobs_return_plain_values_that_rebuild_the_model():
    rng = np.random.default_rng(10)
    batches = [_batch(rng, b=8, t=6) for _ in range(2)]
    spec = {"vocab_size": V, "dim": 8, "heads": 2, "layers": 1, "ff": 8, "max_len": 12,
            "local": True}
    state, history = M.pretrained_state(spec, 0, batches, 3, 0.3, "mae", 1e-2)
    assert len(history) == 3 and all(isinstance(v, np.ndarray) for v in state.values())
    assert any(name.startswith("decoder.") for name in state)
    labelled = [((ids, mask), (ids[:, 0] == 4).astype(np.int64)) for ids, mask in batches]
    a = M.fine_tuned_accuracy(spec, 1, state, labelled, labelled, 2, 1e-2)
    b = M.fine_tuned_accuracy(spec, 1, state, labelled, labelled, 2, 1e-2)
    c = M.fine_tuned_accuracy(spec, 1, None, labelled, labelled, 2, 1e-2)
    assert a == b and 0 <= a <= 1 and 0 <= c <= 1  # seeded: the same run twice
