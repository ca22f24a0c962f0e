"""Multi-head attention: against a NumPy reference and torch, masks, gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tests.nn.helpers import check_module_grads
from tinygen import nn
from tinygen.errors import ShapeError
from tinygen.testing import check_grads

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def attention_ref(m, q, k, v, allowed, bias=0.0):
    """Plain NumPy: project, split heads, add the score bias, masked softmax, combine."""
    h, d = m.num_heads, m.head_dim

    def heads(x, name):
        y = x @ getattr(m, f"w_{name}").numpy() + getattr(m, f"b_{name}").numpy()
        return y.reshape(x.shape[0], x.shape[1], h, d).transpose(0, 2, 1, 3)

    s = heads(q, "q") @ heads(k, "k").transpose(0, 1, 3, 2) / np.sqrt(d) + bias
    s = np.where(allowed, s, -np.inf)
    with np.errstate(invalid="ignore"):  # rows with no allowed key give NaN here
        w = np.exp(s - s.max(-1, keepdims=True))
        w = w / w.sum(-1, keepdims=True)
    out = (w @ heads(v, "v")).transpose(0, 2, 1, 3).reshape(q.shape[0], q.shape[1], h * d)
    return out @ m.w_o.numpy() + m.b_o.numpy(), w


def model(seed=0, e=4, h=2):
    m = nn.MultiHeadAttention(e, h, generator=tg.Generator(seed)).to(dtype=np.float64)
    for name in "qkvo":
        getattr(m, f"b_{name}").data[:] = randn(e)
    return m


@given(b=st.integers(1, 2), tq=st.integers(1, 3), tk=st.integers(1, 4),
       heads=st.sampled_from([1, 2]), causal=st.booleans(), data=st.data())
def test_matches_numpy(b, tq, tk, heads, causal, data):
    m = model(e=4, h=heads)
    q, k, v = randn(b, tq, 4), randn(b, tk, 4), randn(b, tk, 4)
    key_mask = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=tk, max_size=tk),
                                           min_size=b, max_size=b)))
    key_mask[:, -1] = True  # at least one key (with causal: the last query sees it)
    allowed = key_mask[:, None, None, :] & np.ones((1, 1, tq, tk), dtype=bool)
    if causal:
        allowed = allowed & np.tril(np.ones((tq, tk), dtype=bool), k=tk - tq)
    out, w = m(tg.tensor(q), tg.tensor(k), tg.tensor(v), key_mask=key_mask, causal=causal)
    ref_out, ref_w = attention_ref(m, q, k, v, allowed)
    rows = allowed.any(-1, keepdims=True)  # queries that see at least one key
    np.testing.assert_allclose(w.numpy(), np.where(rows, ref_w, 0), rtol=1e-10, atol=1e-14)
    assert np.all(w.numpy()[np.broadcast_to(~allowed, w.shape)] == 0)  # masked keys: 0 weight
    full = rows.all(axis=(1, 3))[..., None] if causal else np.ones((b, tq, 1), dtype=bool)
    np.testing.assert_allclose(np.where(full, out.numpy(), 0), np.where(full, ref_out, 0),
                               rtol=1e-10, atol=1e-12)


def test_self_attention_defaults_and_causal(device):
    m = model().to(device)
    x = tg.tensor(randn(2, 3, 4), device=device)
    out, w = m(x, causal=True)
    assert out.device == device and w.shape == (2, 2, 3, 3)
    w = w.numpy()
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    assert np.all(np.triu(w[0, 0], k=1) == 0)
    np.testing.assert_allclose(w[:, :, 0, 0], 1.0)  # the first query sees only itself


def test_query_with_no_allowed_key_gets_zero_weights():
    m = model()
    out, w = m(tg.tensor(randn(1, 2, 4)), key_mask=np.array([[0, 0]]))
    assert np.all(w.numpy() == 0) and np.all(np.isfinite(out.numpy()))
    with tg.detect_anomaly():  # no −inf anywhere, so anomaly mode stays quiet
        m(tg.tensor(randn(1, 2, 4)), key_mask=np.array([[1, 0]]), causal=True)


def test_changing_masked_keys_changes_nothing():
    m = model()
    q, k, v = randn(1, 2, 4), randn(1, 3, 4), randn(1, 3, 4)
    mask = np.array([[1, 0, 1]])
    a, _ = m(tg.tensor(q), tg.tensor(k), tg.tensor(v), key_mask=mask)
    k[0, 1], v[0, 1] = 100.0, -100.0
    b, _ = m(tg.tensor(q), tg.tensor(k), tg.tensor(v), key_mask=mask)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    m = model(e=6, h=3)
    ref = torch.nn.MultiheadAttention(6, 3, batch_first=True).double()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.from_numpy(np.concatenate(
            [getattr(m, f"w_{n}").numpy().T for n in "qkv"])))
        ref.in_proj_bias.copy_(torch.from_numpy(np.concatenate(
            [getattr(m, f"b_{n}").numpy() for n in "qkv"])))
        ref.out_proj.weight.copy_(torch.from_numpy(m.w_o.numpy().T))
        ref.out_proj.bias.copy_(torch.from_numpy(m.b_o.numpy()))
    q, k, v = randn(2, 3, 6), randn(2, 4, 6), randn(2, 4, 6)
    keep = np.array([[1, 1, 0, 1], [1, 0, 0, 0]], dtype=bool)
    out, w = m(tg.tensor(q), tg.tensor(k), tg.tensor(v), key_mask=keep)
    ref_out, ref_w = ref(*(torch.from_numpy(a) for a in (q, k, v)),
                         key_padding_mask=torch.from_numpy(~keep), average_attn_weights=False)
    np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), ref_w.detach().numpy(), rtol=1e-10, atol=1e-14)


def test_grads():
    m = model(e=4, h=2)
    check_module_grads(m, [randn(1, 3, 4), randn(1, 2, 4), randn(1, 2, 4)], order=2,
                       kwargs={"key_mask": np.array([[1, 1]])}, output=lambda r: r[0])
    check_module_grads(m, [randn(2, 3, 4)], kwargs={"key_mask": np.array([[1, 0, 1], [0, 0, 1]]),
                                                   "causal": True})


def test_masked_softmax_without_mask_is_softmax():
    s = tg.tensor(randn(2, 5))
    np.testing.assert_allclose(nn.masked_softmax(s).numpy(), tg.F.softmax(s).numpy(),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="not divisible"):
        nn.MultiHeadAttention(5, 2)


@given(b=st.integers(1, 2), tq=st.integers(1, 3), tk=st.integers(1, 4), data=st.data())
def test_bias_is_added_to_the_scores(b, tq, tk, data):
    m = model(e=4, h=2)
    q, k, v = randn(b, tq, 4), randn(b, tk, 4), randn(b, tk, 4)
    bias = np.array(data.draw(st.lists(st.floats(-3, 3), min_size=2 * tq * tk,
                                       max_size=2 * tq * tk))).reshape(1, 2, tq, tk)
    out, w = m(tg.tensor(q), tg.tensor(k), tg.tensor(v), bias=bias)
    ref_out, ref_w = attention_ref(m, q, k, v, np.ones((b, 1, tq, tk), bool), bias)
    np.testing.assert_allclose(w.numpy(), ref_w, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-10, atol=1e-12)


def test_bias_grads_first_and_second_order():
    m = model(e=4, h=2)
    q, k = randn(1, 2, 4), randn(1, 3, 4)
    check_grads(lambda bias: m(tg.tensor(q), tg.tensor(k), bias=bias)[0],
                [randn(1, 2, 2, 3)], order=2)


def test_distance_bias_prefers_each_heads_offset():
    pos = np.array([[0, 1, 2, 5]])
    bias = nn.attention.distance_bias(pos, pos, slopes=[1.0, 0.5], offsets=[-1, 0])
    assert bias.shape == (1, 2, 4, 4) and bias.dtype == np.float32
    want = -np.array([1.0, 0.5])[:, None, None] * np.abs(
        pos[0][None, None, :] - pos[0][None, :, None] - np.array([-1, 0])[:, None, None])
    np.testing.assert_array_equal(bias[0], want.astype(np.float32))
    assert bias[0, 0, 2].argmax() == 1  # the left-looking head at place 2 prefers place 1
    assert bias[0, 1, 2].argmax() == 2  # the centred head prefers the query's own place
    with pytest.raises(ShapeError, match="distance_bias: positions"):
        nn.attention.distance_bias(pos, pos[0], slopes=[1.0], offsets=[0])
    with pytest.raises(ShapeError, match="one per head"):
        nn.attention.distance_bias(pos, pos, slopes=[1.0, 2.0], offsets=[0])
