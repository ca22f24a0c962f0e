"""The Numba word2vec kernel against its composed twin (tinygen Tensor ops and SGD on the
same random draws): the same weights after a chunk, for skip-gram and CBOW, sigmoid and
random-softmax losses, summed and mean context; the draws' distributions; determinism and
the Hogwild mode; and every argument check."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygen.kernels.cpu import word2vec as K
from tinygen.models import word2vec as W
from tinygen.stochastic.ssa import stream_uniform


@st.composite
def corpora(draw):
    """A tiny corpus: V ≤ 9 words with counts, ≤ 5 sentences of ≤ 8 ids, and settings."""
    v = draw(st.integers(2, 9))
    counts = np.array(draw(st.lists(st.integers(1, 60), min_size=v, max_size=v)))
    lengths = draw(st.lists(st.integers(0, 8), min_size=1, max_size=5))
    tokens = np.array(draw(st.lists(st.integers(0, v - 1), min_size=sum(lengths),
                                    max_size=sum(lengths))), np.int32)
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    settings = dict(window=draw(st.integers(1, 3)), negative=draw(st.integers(1, 4)),
                    seed=draw(st.integers(0, 2**32)), first=draw(st.integers(0, 1000)))
    return counts, tokens, offsets, draw(st.sampled_from([0.0, 0.02, 0.2])), settings


@pytest.mark.parametrize("sg", [True, False], ids=["skipgram", "cbow"])
@pytest.mark.parametrize("loss", ["sigmoid", "softmax"])
@pytest.mark.parametrize("mean", [False, True], ids=["sum", "mean"])
@given(corpus=corpora(), data=st.data())
def test_kernel_matches_the_twin(sg, loss, mean, corpus, data):
    counts, tokens, offsets, sample, settings = corpus
    v, d = len(counts), data.draw(st.integers(1, 5))
    rng = np.random.default_rng(settings["seed"])
    w_in, w_out = rng.normal(0, 0.5, (v, d)), rng.normal(0, 0.5, (v, d))
    keep, cum = W.keep_probability(counts, sample), W.negative_cdf(counts)
    kw = dict(sg=sg, mean=mean, alpha=0.2, min_alpha=0.01, done=3,
              total=int(offsets[-1]) + 10, max_exp=data.draw(st.sampled_from([np.inf, 0.3, 1.0])),
              **settings)
    twin_in, twin_out, twin_loss = W.twin_train(w_in, w_out, tokens, offsets, keep, cum,
                                                loss=loss, **kw)
    k_in, k_out = w_in.copy(), w_out.copy()
    _, losses, _ = K.train_chunk(k_in, k_out, tokens, offsets, keep, cum, loss=W.LOSSES[loss],
                                 parallel=False, **kw)
    np.testing.assert_allclose(k_in, twin_in, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(k_out, twin_out, rtol=1e-10, atol=1e-12)
    assert losses.sum() == pytest.approx(twin_loss, rel=1e-10, abs=1e-12)


def _chunk(v=50, n=400, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 100, v)
    tokens = rng.choice(v, n, p=counts / counts.sum()).astype(np.int32)
    offsets = np.arange(0, n + 1, 20, dtype=np.int64)
    return counts, tokens, offsets


def test_a_repeated_negative_gets_the_exact_gradient():
    """With one word besides the target every negative repeats it; the kernel's step is
    still the gradient step of the example's loss (the twin's), not a step per draw."""
    counts, tokens, offsets = np.array([5, 50]), np.array([0, 0], np.int32), np.array([0, 2])
    keep, cum = np.ones(2), W.negative_cdf(counts, 0.0)
    w_in, w_out = np.full((2, 3), 0.3), np.full((2, 3), -0.2)
    kw = dict(sg=True, mean=False, window=1, negative=6, alpha=0.5, min_alpha=0.5, done=0,
              total=10, seed=1, first=0)
    t_in, t_out, _ = W.twin_train(w_in, w_out, tokens, offsets, keep, cum, loss="sigmoid", **kw)
    K.train_chunk(w_in, w_out, tokens, offsets, keep, cum, loss=K.SIGMOID, parallel=False,
                  **kw)
    np.testing.assert_allclose(w_in, t_in, rtol=1e-12)
    np.testing.assert_allclose(w_out, t_out, rtol=1e-12)


def test_max_exp_skips_saturated_logits_as_gensim_does():
    """Two skip-gram examples (each word the other's context) whose target logits are −8 and
    whose negatives' are +8, all far on the wrong side: with gensim's max_exp = 6 nothing
    moves, while the exact step (about ±lr per logit) moves every row."""
    counts, tokens, offsets = np.array([5, 50]), np.array([0, 1], np.int32), np.array([0, 2])
    keep, cum = np.ones(2), W.negative_cdf(counts, 0.0)
    w_in = np.array([[2.0, 0.0], [0.0, 2.0]])
    w_out = np.array([[4.0, -4.0], [-4.0, 4.0]])  # u_0·v_1 = u_1·v_0 = −8, u_0·v_0 = u_1·v_1 = 8
    kw = dict(sg=True, mean=False, window=1, negative=1, alpha=0.1, min_alpha=0.1, done=0,
              total=10, seed=0, first=0, parallel=False)
    moved = {}
    for max_exp in (6.0, np.inf):
        a, b = w_in.copy(), w_out.copy()
        K.train_chunk(a, b, tokens, offsets, keep, cum, loss=K.SIGMOID, max_exp=max_exp, **kw)
        moved[max_exp] = float(np.abs(a - w_in).sum() + np.abs(b - w_out).sum())
    assert moved[6.0] == 0.0 and moved[np.inf] > 0.5


def test_serial_mode_is_deterministic_and_hogwild_trains():
    counts, tokens, offsets = _chunk()
    keep, cum = W.keep_probability(counts, 1e-2), W.negative_cdf(counts)
    runs = []
    for parallel in (False, False, True):
        rng = np.random.default_rng(3)
        w_in = ((rng.random((50, 8)) - 0.5) / 8).astype(np.float32)
        w_out = np.zeros((50, 8), np.float32)
        kept, losses, examples = K.train_chunk(
            w_in, w_out, tokens, offsets, keep, cum, sg=True, loss=K.SIGMOID, mean=False,
            window=3, negative=4, alpha=0.05, min_alpha=1e-4, done=0, total=400, seed=5,
            first=0, parallel=parallel)
        runs.append((w_in, w_out, kept, examples))
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])
    # the draws depend on (seed, sentence) only, so the parallel run keeps the same words
    assert np.array_equal(runs[0][2], runs[2][2]) and np.array_equal(runs[0][3], runs[2][3])
    assert np.abs(runs[2][1]).max() > 0 and np.isfinite(runs[2][0]).all()


def test_loss_is_optional_and_does_not_change_the_update():
    counts, tokens, offsets = _chunk()
    keep, cum = W.keep_probability(counts, 1e-2), W.negative_cdf(counts)
    out = []
    for want in (True, False):
        w_in, w_out = np.full((50, 4), 0.1), np.zeros((50, 4))
        _, losses, _ = K.train_chunk(w_in, w_out, tokens, offsets, keep, cum, sg=False,
                                     loss=K.SIGMOID, mean=False, window=2, negative=3,
                                     alpha=0.05, min_alpha=1e-4, done=0, total=400, seed=0,
                                     first=0, parallel=False, want_loss=want)
        out.append((w_in, losses.sum()))
    assert np.array_equal(out[0][0], out[1][0]) and out[0][1] > 0 and out[1][1] == 0


def test_negatives_follow_the_unigram_power_table():
    """The kernel's negative draws, fed the twin's stream, fall with frequencies ∝ count^0.75
    (a chi-square check over 20,000 draws)."""
    counts = np.array([1, 10, 100, 1000])
    cum = W.negative_cdf(counts)
    draws = np.array([K._draw_negative(cum, stream_uniform(0, 0, k)) for k in range(20_000)])
    expected = counts ** 0.75 / (counts ** 0.75).sum() * len(draws)
    observed = np.bincount(draws, minlength=4)
    chi2 = float((((observed - expected) ** 2) / expected).sum())
    assert chi2 < 16.3  # 3 degrees of freedom, p = 0.001
    assert np.array_equal(draws, np.searchsorted(cum, [stream_uniform(0, 0, k)
                                                       for k in range(20_000)], side="right"))


def test_keep_probability_is_the_posts_formula():
    counts = np.array([1, 10, 1000, 100_000])
    f = counts / counts.sum()
    t = 1e-3
    np.testing.assert_allclose(W.keep_probability(counts, t),
                               np.minimum(1, np.sqrt(t / f) + t / f))
    assert W.keep_probability(counts, 1e-3)[-1] < 0.2 and (W.keep_probability(counts, 0) == 1).all()


def test_learning_rate_decays_linearly():
    """lr = alpha − (alpha − min_alpha)·done/total, never below min_alpha."""
    assert K._lr(0.1, 0.0, 0, 100) == 0.1 and K._lr(0.1, 0.0, 50, 100) == pytest.approx(0.05)
    assert K._lr(0.1, 0.01, 100, 100) == pytest.approx(0.01)
    assert K._lr(0.1, 0.01, 150, 100) == pytest.approx(0.01)


@pytest.mark.parametrize("change, message", [
    (dict(w_out=np.zeros((5, 3))), "w_in and w_out must be"),
    (dict(tokens=np.array([0, 7], np.int32)), "token ids must lie in"),
    (dict(offsets=np.array([0, 3])), "offsets must rise"),
    (dict(keep=np.ones(3)), "keep and cum must have shape"),
    (dict(window=0), "need window"),
    (dict(max_exp=0.0), "max_exp > 0"),
])
def test_argument_errors(change, message):
    args = dict(w_in=np.zeros((4, 3)), w_out=np.zeros((4, 3)), tokens=np.array([0, 1], np.int32),
                offsets=np.array([0, 2]), keep=np.ones(4), cum=W.negative_cdf(np.ones(4)))
    settings = dict(sg=True, loss=0, mean=False, window=2, negative=2, alpha=0.1,
                    min_alpha=0.0, done=0, total=10, seed=0, first=0, parallel=False,
                    max_exp=np.inf)
    args.update({k: v for k, v in change.items() if k in args})
    settings.update({k: v for k, v in change.items() if k in settings})
    with pytest.raises(ValueError, match=message):
        K.train_chunk(**args, **settings)
