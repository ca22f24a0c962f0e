"""The row-sparse embedding gradient (``Embedding(sparse=True)``) and lazy Adam: the sparse
gradient equals the dense one at every row (zero elsewhere), lazy Adam equals Adam when every
row is used at every step, and unused rows stand still (first order only, as documented)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tinygen import nn
from tinygen.optim import SGD, Adam, AdamW


def _pair(n, d, padding_idx, seed=0):
    dense = nn.Embedding(n, d, padding_idx=padding_idx, generator=tg.Generator(seed))
    sparse = nn.Embedding(n, d, padding_idx=padding_idx, sparse=True)
    sparse.weight.data[...] = dense.weight.data
    return dense, sparse


def _loss(emb, ids, w):
    out = emb(tg.tensor(ids))
    return (out * out * w).sum() + (out * w).sum()


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 9), st.integers(1, 4), st.data())
def test_row_grad_equals_the_dense_gradient(n, d, data):
    ids = np.array(data.draw(st.lists(st.lists(st.integers(0, n - 1), min_size=3, max_size=3),
                                      min_size=1, max_size=4)), np.int64)
    calls = data.draw(st.integers(1, 3))  # several lookups before one step sum up
    pad = data.draw(st.sampled_from([None, 0]))
    dense, sparse = _pair(n, d, pad)
    w = tg.tensor(np.random.default_rng(n).normal(size=(1, 1, d)))
    for _ in range(calls):
        _loss(dense, ids, w).backward()
        _loss(sparse, ids, w).backward()
    assert sparse.weight.grad is None
    rows, values = sparse.weight.row_grad()
    assert list(rows) == sorted(set(ids.ravel().tolist()))
    full = np.zeros_like(dense.weight.data)
    full[rows] = values
    np.testing.assert_allclose(full, dense.weight.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_no_grad_lookup_is_dense_and_records_nothing():
    _, sparse = _pair(5, 2, None)
    with tg.no_grad():
        sparse(tg.tensor(np.array([1, 2])))
    assert sparse.weight.row_parts == [] and sparse.weight.row_grad() is None


def _train(emb, steps, opt_cls, ids_per_step, **kw):
    opt = opt_cls(emb.parameters(), lr=0.05, **kw)
    w = tg.tensor(np.linspace(-1, 1, emb.embedding_dim)[None])
    for ids in ids_per_step[:steps]:
        opt.zero_grad()
        _loss(emb, np.asarray(ids), w).backward()
        opt.step()
    return emb.weight.numpy()


def test_lazy_adam_is_adam_when_every_row_is_used():
    ids = [[0, 1, 2, 3, 4, 4]] * 5
    for cls, kw in ((Adam, {}), (Adam, {"amsgrad": True, "weight_decay": 0.1}),
                    (AdamW, {}), (SGD, {"momentum": 0.9})):
        dense, sparse = _pair(5, 3, None)
        np.testing.assert_allclose(_train(sparse, 5, cls, ids, **kw),
                                   _train(dense, 5, cls, ids, **kw), rtol=1e-5, atol=1e-6)


def test_lazy_adam_leaves_unused_rows_alone():
    dense, sparse = _pair(6, 3, None)
    before = sparse.weight.numpy().copy()
    ids = [[0, 1], [0, 1], [2, 0], [0, 1]]
    after = _train(sparse, 4, Adam, ids)
    np.testing.assert_array_equal(after[3:], before[3:])
    assert not np.allclose(after[:3], before[:3])
    # dense Adam keeps moving row 2 after its one use (its momentum); lazy Adam does not
    row2_after_use = _train(_pair(6, 3, None)[1], 3, Adam, ids)[2]
    np.testing.assert_array_equal(after[2], row2_after_use)
    assert not np.allclose(_train(dense, 4, Adam, ids)[2], row2_after_use)


def test_padding_row_stays_zero():
    _, sparse = _pair(4, 2, 0)
    after = _train(sparse, 3, Adam, [[0, 1, 2], [0, 0, 3], [1, 0, 2]])
    np.testing.assert_array_equal(after[0], 0)


def test_fit_order_forward_then_zero_grad_then_backward():
    """``tinygen.fit`` calls zero_grad between forward and backward: the lookup still counts,
    and the rows move exactly as under dense Adam when all rows are used."""
    results = []
    for sparse in (False, True):
        emb = _pair(4, 2, None)[sparse]
        opt = Adam(emb.parameters(), lr=0.1)
        for _ in range(3):
            out = emb(tg.tensor(np.array([0, 1, 2, 3])))
            opt.zero_grad()
            (out * out).sum().backward()
            opt.step()
        assert emb.weight.row_parts == []
        results.append(emb.weight.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(results[0], _pair(4, 2, None)[0].weight.numpy())


def test_a_step_drops_lookups_that_never_got_a_backward():
    """Forwards recorded without a backward (an evaluation outside no_grad) do not pile up:
    the next step forgets them, and they change nothing."""
    tg.manual_seed(0)
    emb = nn.Embedding(10, 3, sparse=True)
    opt = Adam(emb.parameters(), lr=0.1)
    before = emb.weight.numpy().copy()
    for _ in range(5):
        emb(np.array([1, 2]))
    assert len(emb.weight.row_parts) == 5
    opt.step()
    assert emb.weight.row_parts == [] and np.array_equal(emb.weight.numpy(), before)
