"""The pre-LN Transformer encoder block: a NumPy reference, padding and order, gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tests.nn.helpers import check_module_grads
from tinygen import nn
from tinygen.errors import ShapeError

rng = np.random.default_rng(0)


def block(seed=0, dim=4, heads=2, ff=6):
    return nn.TransformerEncoderLayer(dim, heads, ff, generator=tg.Generator(seed)).to(
        dtype=np.float64)


def reference(m, x, key_mask):
    """Plain NumPy: the two residual steps, each on a layer-normalised input."""
    def ln(y, norm):
        mu, var = y.mean(-1, keepdims=True), y.var(-1, keepdims=True)
        return (y - mu) / np.sqrt(var + norm.eps) * norm.weight.numpy() + norm.bias.numpy()

    a = m.attention
    h, d = a.num_heads, a.head_dim
    z = ln(x, m.norm1)

    def heads(name):
        y = z @ getattr(a, f"w_{name}").numpy() + getattr(a, f"b_{name}").numpy()
        return y.reshape(x.shape[0], x.shape[1], h, d).transpose(0, 2, 1, 3)

    s = heads("q") @ heads("k").transpose(0, 1, 3, 2) / np.sqrt(d)
    s = np.where(key_mask[:, None, None, :], s, -np.inf)
    w = np.exp(s - s.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    att = (w @ heads("v")).transpose(0, 2, 1, 3).reshape(x.shape) @ a.w_o.numpy() + a.b_o.numpy()
    x = x + att
    f = np.maximum(ln(x, m.norm2) @ m.ff1.weight.numpy() + m.ff1.bias.numpy(), 0)
    return x + f @ m.ff2.weight.numpy() + m.ff2.bias.numpy()


@given(b=st.integers(1, 2), t=st.integers(1, 5), data=st.data())
def test_matches_numpy(b, t, data):
    m = block()
    for p in m.parameters():  # move LayerNorm and biases off their neutral start
        p.data[...] += 0.3 * rng.standard_normal(p.shape)
    x = rng.standard_normal((b, t, 4))
    key_mask = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=t, max_size=t),
                                           min_size=b, max_size=b)))
    key_mask[:, 0] = True
    out = m(tg.tensor(x), key_mask=key_mask).numpy()
    np.testing.assert_allclose(out, reference(m, x, key_mask), rtol=1e-9, atol=1e-12)


def test_padding_does_not_reach_real_tokens_and_order_is_only_permuted():
    m = block()
    x = rng.standard_normal((1, 5, 4))
    key_mask = np.array([[1, 1, 1, 0, 0]])
    out = m(tg.tensor(x), key_mask=key_mask).numpy()
    y = x.copy()
    y[:, 3:] = 100 * rng.standard_normal((1, 2, 4))  # change only the padding
    np.testing.assert_allclose(m(tg.tensor(y), key_mask=key_mask).numpy()[:, :3], out[:, :3],
                               rtol=1e-12, atol=1e-12)
    perm = np.array([2, 0, 4, 1, 3])  # no positions inside: a permutation of the tokens
    permuted = m(tg.tensor(x[:, perm]), key_mask=key_mask[:, perm]).numpy()
    np.testing.assert_allclose(permuted, out[:, perm], rtol=1e-12, atol=1e-12)


def test_grads():
    m = block(dim=4, heads=2, ff=3)
    check_module_grads(m, [rng.standard_normal((1, 3, 4))], order=2,
                       kwargs={"key_mask": np.array([[1, 1, 0]])}, atol=1e-5, rtol=1e-4)


def test_wrong_shape_names_the_layer():
    with pytest.raises(ShapeError, match=r"TransformerEncoderLayer.*\(B, T, 4\).*\(2, 4\)"):
        block()(tg.tensor(np.zeros((2, 4))))
