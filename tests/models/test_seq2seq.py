"""The seq2seq titler: beam search against brute force and on a hand-built model where
greedy decoding is wrong; teacher forcing agrees with step-by-step decoding; padding is
invisible; the copy prior is (z + e^s ⊙ χ + t)/2."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.errors import ArgumentError, ShapeError
from tinygen.models.seq2seq import Seq2SeqTitler, beam_search, greedy_search, presence

BOS, EOS, A, B = 0, 1, 2, 3


def table_step(table: dict):
    """A step function over prefixes: ``table[prefix]`` holds the next-token probabilities
    (bos, eos, a, b); prefixes not in it end at once. The state is the list of prefixes."""
    def step(tokens, state):
        prefixes = [p + ((int(t),) if t != BOS else ()) for p, t in zip(state, tokens)]
        probs = np.array([table.get(p, (0, 1, 0, 0)) for p in prefixes], dtype=float)
        with np.errstate(divide="ignore"):
            return np.log(probs), prefixes
    return step


# greedy takes a (0.6) and then stops (0.35): 0.21; the best is b then stop: 0.4 · 0.9 = 0.36
HAND = {(): (0, 0, 0.6, 0.4), (A,): (0, 0.35, 0.33, 0.32), (B,): (0, 0.9, 0.05, 0.05)}


def test_beam_finds_what_greedy_misses():
    greedy = greedy_search(table_step(HAND), [()], 1, BOS, EOS, max_len=5)
    assert greedy == [[A]]
    beams = beam_search(table_step(HAND), [()], BOS, EOS, width=2, max_len=5)
    assert beams[0][0] == [B] and beams[0][1] == pytest.approx(np.log(0.36))
    assert beams[1][0] == [A] and beams[1][1] == pytest.approx(np.log(0.6 * 0.35))
    one = beam_search(table_step(HAND), [()], BOS, EOS, width=1, max_len=5)
    assert one[0][0] == [A]                      # width 1 is greedy
    # forbidding b leaves a's branch only; max_len 1 cuts a hypothesis before its end
    assert beam_search(table_step(HAND), [()], BOS, EOS, 2, 5, forbid=(B,))[0][0] == [A]
    cut = beam_search(table_step(HAND), [()], BOS, EOS, 2, max_len=1)
    assert [s for s, _ in cut] == [[A], [B]]
    # min_len 2: b's early stop is banned, so a then a (0.6 · 0.33 · 1) beats b b (.4 · .05)
    long = beam_search(table_step(HAND), [()], BOS, EOS, 2, 5, min_len=2)
    assert long[0][0] == [A, A] and long[0][1] == pytest.approx(np.log(0.6 * 0.33))
    assert greedy_search(table_step(HAND), [()], 1, BOS, EOS, 5, min_len=2) == [[A, A]]


def test_length_penalty_prefers_longer():
    # a stops at once with 0.5; b goes on to bb (0.9) then stops (0.9):
    # sums log .5 = −0.69 vs log(.5·.9·.9) = −0.90, means −0.35 per token vs −0.30
    table = {(): (0, 0, 0.5, 0.5), (A,): (0, 1, 0, 0), (B,): (0, 0.1, 0, 0.9),
             (B, B): (0, 0.9, 0.05, 0.05)}
    plain = beam_search(table_step(table), [()], BOS, EOS, width=3, max_len=5)
    mean = beam_search(table_step(table), [()], BOS, EOS, width=3, max_len=5, length_penalty=1)
    assert plain[0][0] == [A] and mean[0][0] == [B, B]


def _brute_force(logp: np.ndarray, max_len: int, alpha: float):
    """Best sequence under a bigram table logp[prev, next] (tokens 0 = bos, 1 = eos)."""
    best = (None, -np.inf)
    for n in range(max_len + 1):
        for seq in itertools.product(range(2, logp.shape[0]), repeat=n):
            path = (BOS,) + seq
            total = sum(logp[a, b] for a, b in zip(path, path[1:]))
            if n < max_len:  # ends with eos
                s = (total + logp[path[-1], EOS]) / (n + 1) ** alpha
            else:            # cut at max_len
                s = total / max(n, 1) ** alpha
            if s > best[1] + 1e-12:
                best = (list(seq), s)
    return best


@given(st.integers(0, 2**31 - 1), st.sampled_from([0.0, 1.0]))
def test_wide_beam_is_exhaustive(seed, alpha):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((5, 5)) * 2
    logits[:, BOS] = -np.inf
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def step(tokens, state):
        return logp[np.asarray(tokens)], state

    got = beam_search(step, [None], BOS, EOS, width=200, max_len=3, length_penalty=alpha,
                      select=lambda s, rows: [None] * len(rows))
    seq, score = _brute_force(logp, 3, alpha)
    assert got[0][1] == pytest.approx(score)
    assert got[0][0] == seq


@pytest.fixture(scope="module")
def model():
    tg.manual_seed(3)
    return Seq2SeqTitler(12, dim=6, hidden=8, heads=2).to(dtype="float64")


SOURCE = np.array([[4, 5, 6, 7, 5], [8, 9, 10, 0, 0]])


def test_teacher_forcing_matches_step_by_step(model):
    y_in = np.array([[2, 4, 6, 11], [2, 9, 9, 9]])
    logits = tg.log_softmax(model(SOURCE, y_in), axis=-1).numpy()
    state = model.start(SOURCE)
    for t in range(y_in.shape[1]):
        logp, state = model.step(y_in[:, t], state)
        np.testing.assert_allclose(logp, logits[:, t], rtol=1e-10, atol=1e-12)


def test_padding_is_invisible(model):
    y_in = np.array([[2, 8, 9]])
    alone = model(SOURCE[1:, :3], y_in).numpy()
    padded = model(np.pad(SOURCE[1:], ((0, 0), (0, 4))), y_in).numpy()
    np.testing.assert_allclose(padded, alone, rtol=1e-10, atol=1e-12)


def test_copy_prior_formula(model):
    y_in = np.array([[2, 4], [2, 8]])
    rng = np.random.default_rng(0)
    model.log_scale.data[...] = rng.standard_normal(12)
    model.shift.data[...] = rng.standard_normal(12)
    with_prior = model(SOURCE, y_in).numpy()
    model.copy_prior = False
    try:
        plain = model(SOURCE, y_in).numpy()
    finally:
        model.copy_prior = True
    chi = np.zeros((2, 12))
    chi[0, [4, 5, 6, 7]] = chi[1, [8, 9, 10]] = 1
    np.testing.assert_array_equal(presence(SOURCE, 12), chi)
    prior = np.exp(model.log_scale.data) * chi + model.shift.data
    np.testing.assert_allclose(with_prior, (plain + prior[:, None]) / 2, rtol=1e-12)


def test_generate_greedy_is_width_one_beam(model):
    greedy = model.generate(SOURCE, 2, 3, max_len=6)
    beams = [model.generate(SOURCE[i:i + 1], 2, 3, max_len=6, width=1)[0] for i in range(2)]
    assert greedy == beams and all(len(g) <= 6 for g in greedy)
    wide = model.generate(SOURCE, 2, 3, max_len=6, width=3)
    assert len(wide) == 2


def test_learns_to_copy_with_the_prior():
    """Titles = the article's first two characters; 150 Adam steps learn it."""
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    m = Seq2SeqTitler(16, dim=16, hidden=16, heads=2)
    opt = tg.optim.Adam(m.parameters(), lr=0.02)
    for _ in range(150):
        x = rng.integers(4, 16, (32, 5))
        y_in = np.concatenate([np.full((32, 1), 2), x[:, :2]], 1)
        y_out = np.concatenate([x[:, :2], np.full((32, 1), 3)], 1)
        loss = m.loss(x, y_in, y_out)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = rng.integers(4, 16, (20, 5))
    out = m.generate(x, 2, 3, max_len=4)
    assert np.mean([o == list(r[:2]) for o, r in zip(out, x)]) > 0.8


def test_errors():
    with pytest.raises(ArgumentError, match="hidden must be even"):
        Seq2SeqTitler(10, hidden=7)
    m = Seq2SeqTitler(10, 4, 4, heads=1)
    with pytest.raises(ShapeError, match="source"):
        m(np.zeros(3, dtype=int), np.zeros((1, 2), dtype=int))
    with pytest.raises(ShapeError, match="presence: ids must lie in"):
        presence(np.array([[11]]), 10)
    with pytest.raises(ArgumentError, match="width and max_len must be >= 1"):
        beam_search(table_step(HAND), [()], BOS, EOS, width=0)


def _toy_titles(n: int = 120):
    """(article, title) strings: titles are two characters of their article."""
    rng = np.random.default_rng(3)
    letters = np.array(list("abcdefghijkl"))
    pairs = []
    for _ in range(n):
        article = "".join(rng.choice(letters, rng.integers(3, 8)))
        pairs.append((article, article[rng.integers(0, len(article) - 1):][:2]))
    return pairs


def _titler_job(copy_prior: bool, steps: int = 12) -> dict:
    from tinygen.data import Vocab
    from tinygen.data.loader import BucketBatchSampler
    from tinygen.models.seq2seq import encode_pairs

    pairs = _toy_titles()
    vocab = Vocab.build([a + t for a, t in pairs])
    sampler = BucketBatchSampler([len(a) for a, _ in pairs], 16, seed=5)
    return {"pairs": pairs, "vocab": vocab, "sampler": sampler,
            "val_arrays": encode_pairs(pairs[:40], vocab), "copy_prior": copy_prior,
            "steps": steps, "seed": 7, "dim": 8, "hidden": 8, "heads": 2, "lr": 1e-2}


def test_fit_titler_is_the_in_process_training_loop():
    """The job gives exactly what lesson 34's loop gave in the lesson's own process: same
    seed before the model, the sampler's batches popped from the end of each epoch's list
    (12 steps over 8 batches an epoch: two epochs), clipping at 5, validation losses."""
    from tinygen.models.seq2seq import encode_pairs, fit_titler, mean_title_loss

    job = _titler_job(True)
    tg.manual_seed(job["seed"])
    model = Seq2SeqTitler(len(job["vocab"]), 8, 8, 2, copy_prior=True)
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    losses, val, batches, epoch = [], [], [], 0
    for step in range(1, 13):
        if not batches:
            batches, epoch = list(job["sampler"].batches(epoch)), epoch + 1
        s, y_in, y_out = encode_pairs([job["pairs"][i] for i in batches.pop()], job["vocab"])
        loss = model.loss(s, y_in, y_out)
        opt.zero_grad()
        loss.backward()
        tg.optim.clip_grad_norm(model.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
        if step % 2 == 0:
            val.append(mean_title_loss(model, job["val_arrays"]))
    assert epoch == 2
    out = fit_titler(**job)
    assert out["history"]["loss"] == losses and out["history"]["val_loss"] == val
    assert out["history"]["val_step"] == [2, 4, 6, 8, 10, 12]
    for name, t in model.state_dict().items():
        np.testing.assert_array_equal(out["state"][name], t.numpy())


def test_fit_titler_in_two_workers_matches_this_process():
    """Two jobs, so map_jobs really spawns two workers: each returns the numbers of the same
    job run here (the engine is seeded inside the job, not by the parent), and its state
    rebuilds a model with the job's last validation loss."""
    from tinygen.models.seq2seq import fit_titler, mean_title_loss
    from tinygen.parallel import map_jobs

    jobs = [_titler_job(True), _titler_job(False)]
    here = [fit_titler(**job) for job in jobs]
    tg.manual_seed(123)  # the parent's stream must not matter
    there = map_jobs(fit_titler, jobs, processes=2)
    for job, a, b in zip(jobs, here, there):
        assert a["history"]["loss"] == b["history"]["loss"]
        assert a["history"]["val_loss"] == b["history"]["val_loss"]
        assert a["state"].keys() == b["state"].keys()
        for name in a["state"]:
            np.testing.assert_array_equal(a["state"][name], b["state"][name])
        assert b["process_cpu_seconds"] >= b["cpu_seconds"] > 0
        model = Seq2SeqTitler(len(job["vocab"]), 8, 8, 2, copy_prior=job["copy_prior"])
        model.load_state_dict(b["state"])
        assert mean_title_loss(model, job["val_arrays"]) == b["history"]["val_loss"][-1]


def test_fit_titler_networks_start_from_the_same_weights():
    """With and without the copy prior, the shared layers start equal (0 steps: the initial
    weights come back); the prior's s and t are the extra parameters."""
    from tinygen.models.seq2seq import fit_titler

    with_prior, without = (fit_titler(**_titler_job(p, steps=0))["state"] for p in (True, False))
    assert set(with_prior) - set(without) == {"log_scale", "shift"}
    for name, value in without.items():
        np.testing.assert_array_equal(with_prior[name], value)
