"""Feed-forward layers: forward against NumPy, gradients (with the parameters as inputs),
train/eval behaviour, padding of embeddings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tests.nn.helpers import check_module_grads
from tinygen import nn
from tinygen.testing import check_grads, shapes

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


@given(lead=shapes(0, 3), n_in=st.integers(1, 4), n_out=st.integers(1, 4), bias=st.booleans())
def test_linear_matches_numpy(lead, n_in, n_out, bias):
    m = nn.Linear(n_in, n_out, bias=bias).to(dtype=np.float64)
    x = randn(*lead, n_in)
    expected = x @ m.weight.numpy() + (m.bias.numpy() if bias else 0)
    np.testing.assert_allclose(m(tg.tensor(x)).numpy(), expected, rtol=1e-12)


def test_linear_on_device(device):
    m = nn.Linear(3, 2).to(device)
    x = randn(4, 3).astype(np.float32)
    y = m(tg.tensor(x, device=device))
    assert y.device == device
    np.testing.assert_allclose(y.numpy(), x @ m.weight.numpy() + m.bias.numpy(), rtol=1e-5)


def test_linear_grads():
    check_module_grads(nn.Linear(3, 2), [randn(4, 3)], order=2)
    check_module_grads(nn.Linear(3, 2, bias=False), [randn(2, 2, 3)], order=2)


def test_maxout():
    m = nn.Maxout(3, 2, pieces=3).to(dtype=np.float64)
    x = randn(5, 3)
    z = (x @ m.linear.weight.numpy() + m.linear.bias.numpy()).reshape(5, 2, 3)
    np.testing.assert_allclose(m(tg.tensor(x)).numpy(), z.max(-1), rtol=1e-12)
    check_module_grads(m, [x])


@pytest.mark.parametrize("layer, ref", [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
])
def test_activations(layer, ref):
    x = randn(3, 4)
    np.testing.assert_allclose(layer(tg.tensor(x)).numpy(), ref(x), rtol=1e-12)
    check_module_grads(layer, [x + 0.1 * np.sign(x)])  # keep clear of the kink at 0


def test_embedding_lookup_and_padding():
    emb = nn.Embedding(6, 3, padding_idx=0, generator=tg.Generator(0))
    assert np.all(emb.weight.numpy()[0] == 0)
    idx = np.array([[1, 0, 5], [0, 2, 2]])
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[idx])
    emb.weight.data[0] = 5.0  # even a changed padding row gives zeros and no gradient
    out = emb(tg.tensor(idx))
    assert np.all(out.numpy()[idx == 0] == 0)
    (out * tg.tensor(randn(2, 3, 3).astype(np.float32))).sum().backward()
    g = emb.weight.grad.numpy()
    assert np.all(g[0] == 0) and np.all(g[2] != 0) and np.all(g[3] == 0)
    assert nn.Embedding(4, 2, padding_idx=-1).padding_idx == 3


def test_embedding_grads():
    emb = nn.Embedding(5, 3, padding_idx=1)
    idx = np.array([[0, 1, 4], [4, 4, 2]])
    check_module_grads(emb, kwargs={"indices": idx}, order=2)


def test_embedding_errors():
    emb = nn.Embedding(4, 2)
    with pytest.raises(tg.DTypeError, match=r"Embedding\(4, 2\): expected integer indices, "
                                            r"got dtype float64"):
        emb(np.array([1.0, 2.0]))
    with pytest.raises(tg.IndexOutOfRange, match=r"indices must lie in \[0, 4\), got values "
                                                 r"in \[-1, 4\]"):
        emb(np.array([[-1, 4]]))
    with pytest.raises(IndexError):
        emb([7])
    with pytest.raises(tg.IndexOutOfRange, match="padding_idx 4"):
        nn.Embedding(4, 2, padding_idx=4)


def test_dropout_train_and_eval():
    d = nn.Dropout(0.25, generator=tg.Generator(0))
    x = tg.ones(200, 100)
    y = d(x).numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert (y == 0).mean() == pytest.approx(0.25, abs=0.01)
    d.eval()
    assert d(x) is x or np.all(d(x).numpy() == 1)
    gen = tg.Generator(0)
    d = nn.Dropout(0.5, generator=gen)

    def fresh_mask(x):
        gen.manual_seed(3)  # the same mask at every evaluation
        return d(x)

    check_grads(fresh_mask, [randn(3, 4)], order=2)


@pytest.mark.parametrize("shape", [(8, 3), (6, 3, 5)])
def test_batchnorm_train_statistics(shape):
    bn = nn.BatchNorm1d(3, momentum=0.1).to(dtype=np.float64)
    bn.weight.data[:] = [1.0, 2.0, 3.0]
    bn.bias.data[:] = [0.0, -1.0, 1.0]
    x = 2.0 + 3.0 * randn(*shape)
    y = bn(tg.tensor(x)).numpy()
    axes = (0,) if len(shape) == 2 else (0, 2)
    c = (1, 3) if len(shape) == 2 else (1, 3, 1)
    normed = (y - bn.bias.numpy().reshape(c)) / bn.weight.numpy().reshape(c)
    np.testing.assert_allclose(normed.mean(axis=axes), 0, atol=1e-12)
    np.testing.assert_allclose(normed.var(axis=axes), 1, rtol=1e-4)  # eps = 1e-5
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.var(axis=axes, ddof=1),
                               rtol=1e-12)
    bn.eval()
    before = bn.running_mean.numpy().copy()
    expected = (x - bn.running_mean.numpy().reshape(c)) / np.sqrt(
        bn.running_var.numpy().reshape(c) + 1e-5) * bn.weight.numpy().reshape(c) \
        + bn.bias.numpy().reshape(c)
    np.testing.assert_allclose(bn(tg.tensor(x)).numpy(), expected, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)  # eval does not update


def test_batchnorm_matches_torch():
    torch = pytest.importorskip("torch")
    x = randn(6, 4, 3)
    ours, ref = nn.BatchNorm1d(4).to(dtype=np.float64), torch.nn.BatchNorm1d(4).double()
    for _ in range(3):
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                                   ref(torch.from_numpy(x)).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.running_var.numpy(), ref.running_var.numpy(), rtol=1e-12)
    ours.eval(), ref.eval()
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                               ref(torch.from_numpy(x)).detach().numpy(), rtol=1e-10)


def test_batchnorm_grads(device):
    bn = nn.BatchNorm1d(2).to(device)
    check_module_grads(bn, [tg.tensor(randn(4, 2, 3), device=device)])
    bn.eval()
    check_module_grads(bn, [tg.tensor(randn(4, 2), device=device)])


def test_batchnorm_needs_two_values_per_channel():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(tg.ShapeError, match="more than one value per channel"):
        bn(tg.zeros(1, 3))
    bn.eval()
    assert bn(tg.zeros(1, 3)).shape == (1, 3)


@given(lead=shapes(1, 2), k=st.integers(1, 2), affine=st.booleans())
def test_layernorm_matches_numpy(lead, k, affine):
    norm_shape = (3, 2)[:k]
    ln = nn.LayerNorm(norm_shape if k > 1 else 3, affine=affine).to(dtype=np.float64)
    if affine:
        ln.weight.data[...] = randn(*norm_shape)
        ln.bias.data[...] = randn(*norm_shape)
    x = randn(*lead, *norm_shape)
    axes = tuple(range(x.ndim - k, x.ndim))
    y = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    if affine:
        y = y * ln.weight.numpy() + ln.bias.numpy()
    np.testing.assert_allclose(ln(tg.tensor(x)).numpy(), y, rtol=1e-10, atol=1e-12)


def test_layernorm_grads():
    ln = nn.LayerNorm(4)
    ln.weight.data[:] = randn(4)
    check_module_grads(ln, [randn(2, 4)], order=2)
