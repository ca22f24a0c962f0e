"""nn.CRF: shape errors, b/m/e/s constraints, constrained decoding against brute force, the
loss against brute force and its gradient against finite differences, state_dict round trip,
and a tiny tagging task that only the transitions can solve."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.optim import Adam

BMES = ("b", "m", "e", "s")


def path_score(h, G, s, e, y) -> float:
    total = sum(h[t, y[t]] for t in range(len(y)))
    total += sum(G[y[t - 1], y[t]] for t in range(1, len(y)))
    return total + (0.0 if s is None else s[y[0]]) + (0.0 if e is None else e[y[-1]])


def brute_best(h, G, s, e, n, allowed=None, first=None, last=None):
    """Best path (and its score) of h[:n] over all K^n paths that obey the constraints."""
    K = h.shape[1]
    best, best_score = None, -np.inf
    for y in itertools.product(range(K), repeat=n):
        if allowed is not None and not all(allowed[y[t - 1], y[t]] for t in range(1, n)):
            continue
        if (first is not None and not first[y[0]]) or (last is not None and not last[y[-1]]):
            continue
        score = path_score(h, G, s, e, y)
        if score > best_score:
            best, best_score = y, score
    return best, best_score


def random_crf(K: int, start_end: bool, rng, **constraints) -> nn.CRF:
    crf = nn.CRF(K, start_end=start_end, **constraints).to(dtype=np.float64)
    for p in crf.parameters():
        p.data[...] = rng.normal(0.0, 1.5, p.shape)
    return crf


def params(crf: nn.CRF):
    data = lambda p: None if p is None else p.data  # noqa: E731
    return data(crf.transitions), data(crf.start), data(crf.end)


# -- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda c: c.loss(tg.zeros(2, 3), np.zeros((2, 3), dtype=np.int64)),
     "CRF(num_tags=4): expected emissions of shape (B, L, 4), got (2, 3)"),
    (lambda c: c.decode(tg.zeros(2, 3, 5)),
     "CRF(num_tags=4): expected emissions of shape (B, L, 4), got (2, 3, 5)"),
    (lambda c: c.log_partition(tg.zeros(3, 4)),
     "CRF(num_tags=4): expected emissions of shape (B, L, 4), got (3, 4)"),
    (lambda c: c.marginals(tg.zeros(1, 2, 3, 4)),
     "CRF(num_tags=4): expected emissions of shape (B, L, 4), got (1, 2, 3, 4)"),
    (lambda c: c.loss(tg.zeros(2, 3, 4), np.zeros((2, 2), dtype=np.int64)),
     "CRF(num_tags=4): crf_nll: labels y must have shape (batch, length) = (2, 3), got (2, 2)"),
    (lambda c: c.decode(tg.zeros(2, 3, 4), mask=np.ones((3, 2), dtype=bool)),
     "CRF(num_tags=4): crf_viterbi: the mask must have shape (batch, length) = (2, 3), got "
     "(3, 2)"),
])
def test_shape_errors_name_the_layer(call, message):
    with pytest.raises(tg.ShapeError, match=re.escape(message)):
        call(nn.CRF(4))


def test_bad_settings():
    with pytest.raises(tg.ShapeError, match=re.escape("CRF: allowed must be a boolean array "
                                                      "of shape (3, 3), got bool of shape "
                                                      "(2, 2)")):
        nn.CRF(3, allowed=np.ones((2, 2), dtype=bool))
    with pytest.raises(tg.ShapeError, match="allowed_start must be a boolean array"):
        nn.CRF(3, allowed_start=np.ones(3))
    with pytest.raises(tg.ShapeError, match="num_tags must be a positive int"):
        nn.CRF(0)
    with pytest.raises(ValueError, match="bmes_constraints: expected b/m/e/s tags"):
        nn.bmes_constraints(["B-PER", "I-PER", "O"])


# -- constraints ----------------------------------------------------------------------------------

def test_bmes_constraints_are_the_segmentation_rules():
    allowed, first, last = nn.bmes_constraints(BMES)
    forbidden = {(a, b) for a in BMES for b in BMES if not allowed[BMES.index(a), BMES.index(b)]}
    assert forbidden == {("b", "b"), ("b", "s"), ("m", "b"), ("m", "s"),
                         ("e", "m"), ("e", "e"), ("s", "m"), ("s", "e")}
    assert [t for t, ok in zip(BMES, first) if ok] == ["b", "s"]
    assert [t for t, ok in zip(BMES, last) if ok] == ["e", "s"]


def test_typed_constraints_keep_the_entity_type():
    tags = ["O", "B-PER", "M-PER", "E-PER", "S-PER", "B-LOC", "E-LOC"]
    allowed, first, last = nn.bmes_constraints(tags)
    ok = lambda a, b: bool(allowed[tags.index(a), tags.index(b)])  # noqa: E731
    assert ok("B-PER", "M-PER") and ok("B-PER", "E-PER") and ok("M-PER", "E-PER")
    assert not ok("B-PER", "E-LOC") and not ok("B-PER", "O") and not ok("B-LOC", "M-PER")
    assert ok("O", "O") and ok("O", "B-LOC") and ok("E-PER", "S-PER") and ok("S-PER", "O")
    assert not ok("O", "E-PER") and not ok("E-LOC", "M-PER")
    assert [t for t, f in zip(tags, first) if f] == ["O", "B-PER", "S-PER", "B-LOC"]
    assert [t for t, f in zip(tags, last) if f] == ["O", "E-PER", "S-PER", "E-LOC"]


@pytest.mark.parametrize("start_end", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_decode_is_the_best_allowed_path(start_end, seed):
    rng = np.random.default_rng(seed)
    allowed, first, last = nn.bmes_constraints(BMES)
    crf = random_crf(4, start_end, rng, allowed=allowed, allowed_start=first,
                     allowed_end=last)
    B, L = 5, 5
    h = rng.normal(0.0, 2.0, (B, L, 4))
    lengths = [5, 1, 3, 4, 2]
    mask = np.arange(L)[None, :] < np.array(lengths)[:, None]
    paths, scores = crf.decode(h, mask, return_scores=True)
    free = crf.decode(h, mask, constrained=False).numpy()
    G, s, e = params(crf)
    for b, n in enumerate(lengths):
        best, best_score = brute_best(h[b], G, s, e, n, allowed, first, last)
        assert tuple(paths.numpy()[b, :n]) == best
        assert (paths.numpy()[b, n:] == -1).all()
        assert scores.numpy()[b] == pytest.approx(best_score, abs=1e-9)
        assert tuple(free[b, :n]) == brute_best(h[b], G, s, e, n)[0]
    # the constrained paths are valid b/m/e/s segmentations
    for b, n in enumerate(lengths):
        y = paths.numpy()[b, :n]
        assert first[y[0]] and last[y[-1]] and all(allowed[y[:-1], y[1:]])


def test_constraints_change_the_decoded_path():
    """Emissions that favour "b" everywhere (then "m"): unconstrained decoding gives b b b,
    forbidding only the last tag b b e, and the b/m/e/s rules b m e (one 3-character word)."""
    h = np.full((1, 3, 4), -5.0, dtype=np.float32)
    h[0, :, 0], h[0, :, 1] = 5.0, -1.0
    crf = nn.CRF.bmes()
    _, first, last = nn.bmes_constraints(BMES)
    assert crf.decode(h, constrained=False).numpy().tolist() == [[0, 0, 0]]
    ends_only = nn.CRF(4, allowed_start=first, allowed_end=last)
    assert ends_only.decode(h).numpy().tolist() == [[0, 0, 2]]
    assert crf.decode(h).numpy().tolist() == [[0, 1, 2]]


# -- the loss -------------------------------------------------------------------------------------

def test_loss_is_the_brute_force_nll():
    rng = np.random.default_rng(1)
    crf = random_crf(3, True, rng)
    h = rng.normal(size=(2, 4, 3))
    y = rng.integers(0, 3, (2, 4))
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=bool)
    G, s, e = params(crf)
    expected = []
    for b, n in enumerate((4, 2)):
        scores = [path_score(h[b], G, s, e, p) for p in itertools.product(range(3), repeat=n)]
        log_z = np.log(np.sum(np.exp(scores)))
        expected.append(log_z - path_score(h[b], G, s, e, y[b, :n]))
    np.testing.assert_allclose(crf.loss(h, y, mask, reduction="none").numpy(), expected,
                               rtol=1e-10)
    assert crf(h, y, mask).item() == pytest.approx(np.mean(expected), rel=1e-10)
    np.testing.assert_allclose(crf.log_partition(h, mask).numpy() - crf.score(h, y, mask).numpy(),
                               expected, rtol=1e-10)
    mu, xi = crf.marginals(h, mask)
    np.testing.assert_allclose(mu.numpy().sum(axis=2), mask, atol=1e-12)
    assert xi.shape == (2, 3, 3, 3)


def test_loss_gradient_reaches_the_transitions():
    """∂loss/∂G (and ∂/∂start, ∂/∂end) from backward equals central differences."""
    rng = np.random.default_rng(2)
    crf = random_crf(3, True, rng)
    h = tg.tensor(rng.normal(size=(3, 5, 3)), requires_grad=True)
    y = rng.integers(0, 3, (3, 5))
    mask = np.arange(5)[None, :] < np.array([[5], [3], [1]])
    crf.loss(h, y, mask).backward()
    eps = 1e-6
    for p in crf.parameters():
        assert p.grad is not None and np.abs(p.grad.numpy()).max() > 1e-3
        numeric = np.zeros(p.shape)
        for idx in np.ndindex(*p.shape):
            old = p.data[idx]
            p.data[idx] = old + eps
            up = crf.loss(h, y, mask).item()
            p.data[idx] = old - eps
            down = crf.loss(h, y, mask).item()
            p.data[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(p.grad.numpy(), numeric, atol=1e-7, rtol=1e-6)
    assert h.grad is not None and np.all(h.grad.numpy()[2, 1:] == 0)  # padding gets nothing


# -- state and training ---------------------------------------------------------------------------

def test_state_dict_round_trip():
    rng = np.random.default_rng(3)
    crf = random_crf(4, True, rng)
    state = crf.state_dict()
    assert sorted(state) == ["end", "start", "transitions"]
    fresh = nn.CRF(4, start_end=True).to(dtype=np.float64)
    fresh.load_state_dict(state)
    for name, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[name].numpy())
    h = rng.normal(size=(2, 6, 4))
    np.testing.assert_array_equal(fresh.decode(h).numpy(), crf.decode(h).numpy())
    with pytest.raises(tg.TinygenError, match="start"):
        nn.CRF(4).load_state_dict(state)  # no start/end scores to load them into


LEXICON = [[0], [1], [2, 3], [4, 5, 5], [4, 3]]  # "words" of characters 0 … 5
WORD_TAGS = {1: [3], 2: [0, 2], 3: [0, 1, 2]}     # b/m/e/s ids by word length


def segmentation_batch(rng, batch: int, words: int):
    """Sentences of random words; the tags are the words' b/m/e/s tags. Character 5 is "m"
    in the middle of 4 5 5 and "e" at its end, so no per-character rule can tag it: only
    the transitions (b → m → e) can."""
    xs, ys = [], []
    for _ in range(batch):
        chosen = [LEXICON[i] for i in rng.integers(0, len(LEXICON), words)]
        chosen.append(LEXICON[3])
        xs.append([c for w in chosen for c in w])
        ys.append([t for w in chosen for t in WORD_TAGS[len(w)]])
    width = max(map(len, xs))
    pad = lambda s: s + [0] * (width - len(s))  # noqa: E731
    mask = np.array([[True] * len(s) + [False] * (width - len(s)) for s in xs])
    return np.array([pad(s) for s in xs]), np.array([pad(s) for s in ys]), mask


def test_learns_a_segmentation_task_that_needs_transitions():
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    emissions = nn.Embedding(6, 4)  # a per-character score table: emissions h_t = W[x_t]
    crf = nn.CRF(4)                 # no constraints: the transitions must be learned
    optimizer = Adam(emissions.parameters() + crf.parameters(), lr=0.1)
    for _ in range(150):
        x, y, mask = segmentation_batch(rng, 16, 6)
        loss = crf.loss(emissions(x), y, mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    x, y, mask = segmentation_batch(np.random.default_rng(99), 64, 8)
    h = emissions(x)
    paths = crf.decode(h, mask).numpy()
    assert (paths[mask] == y[mask]).all()
    assert (paths[~mask] == -1).all()
    per_char = h.numpy().argmax(axis=2)  # the emissions alone cannot get character 5 right
    assert (per_char[mask] == y[mask]).mean() < 1.0
    G = crf.transitions.numpy()
    assert G[0, 1] > G[0, 0] and G[1, 2] > G[1, 1]  # b → m and m → e learned
