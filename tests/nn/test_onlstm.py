"""ON-LSTM: cumax and the cell against a NumPy transcription of the formulas, gradients to
second order, the cell reduces to an LSTM when the master gates are wide open, padding is
invisible, dropout is one mask per sequence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tests.nn.helpers import check_module_grads
from tinygen import nn
from tinygen.errors import ArgumentError, ShapeError
from tinygen.nn.onlstm import ONLSTM, ONLSTMCell, cumax
from tinygen.testing import arrays, check_grads

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def np_cumax(a, reverse=False):
    e = np.exp(a - a.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    return np.cumsum(p[..., ::-1], -1)[..., ::-1] if reverse else np.cumsum(p, -1)


def onlstm_ref(cell, x, h, c):
    """MODELS.md, line by line, in NumPy."""
    hs, lv = cell.hidden_size, cell.levels
    z = x @ cell.weight_ih.numpy() + h @ cell.weight_hh.numpy() + cell.bias.numpy()
    i, f, g, o = (z[:, k * hs:(k + 1) * hs] for k in range(4))
    mf, mi = np_cumax(z[:, 4 * hs:4 * hs + lv]), np_cumax(z[:, 4 * hs + lv:], reverse=True)
    mf, mi = np.repeat(mf, hs // lv, axis=1), np.repeat(mi, hs // lv, axis=1)
    w = mf * mi
    g = np.tanh(g)
    c_new = w * (sigmoid(f) * c + sigmoid(i) * g) + (mf - w) * c + (mi - w) * g
    return sigmoid(o) * np.tanh(c_new), c_new


@given(st.data(), st.integers(1, 3), st.integers(1, 6), st.booleans())
def test_cumax_grads_to_second_order(data, rows, n, reverse):
    x = data.draw(arrays((rows, n)))
    check_grads(lambda t: cumax(t, reverse=reverse), [x], order=2, name="cumax")


@given(st.data(), st.integers(1, 8))
def test_cumax_is_a_soft_step(data, n):
    x = data.draw(arrays((2, n), low=-5, high=5))
    up, down = cumax(tg.tensor(x)).numpy(), cumax(tg.tensor(x), reverse=True).numpy()
    np.testing.assert_allclose(up, np_cumax(x), rtol=1e-12)
    np.testing.assert_allclose(down, np_cumax(x, reverse=True), rtol=1e-12)
    assert np.all(np.diff(up, axis=-1) >= 0) and np.all(np.diff(down, axis=-1) <= 0)
    np.testing.assert_allclose(up[:, -1], 1.0) and np.testing.assert_allclose(down[:, 0], 1.0)


def test_cumax_of_a_peak_is_a_step():
    step = cumax(tg.tensor([[0.0, 0.0, 50.0, 0.0]], dtype="float64")).numpy()
    np.testing.assert_allclose(step, [[0, 0, 1, 1]], atol=1e-20)


@pytest.mark.parametrize("levels", [1, 2, 4])
def test_cell_is_the_formula(levels):
    cell = ONLSTMCell(3, 4, levels, generator=tg.Generator(levels)).to(dtype="float64")
    cell.bias.data[:] = randn(cell.bias.shape[0])
    x, h, c = randn(5, 3), randn(5, 4), randn(5, 4)
    h2, c2, master = cell(tg.tensor(x), (tg.tensor(h), tg.tensor(c)))
    want_h, want_c = onlstm_ref(cell, x, h, c)
    np.testing.assert_allclose(h2.numpy(), want_h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c2.numpy(), want_c, rtol=1e-12, atol=1e-14)
    assert master.shape == (5, levels)


def test_cell_grads_to_second_order():
    cell = ONLSTMCell(2, 4, 2, generator=tg.Generator(1))
    cell.bias.data[:] = randn(cell.bias.shape[0])
    cell.to(dtype="float64")
    names = [n for n, _ in cell.named_parameters()]

    def fn(x, h, c, *params):
        return nn.functional_call(cell, dict(zip(names, params)), x, (h, c))[:2]

    check_grads(fn, [randn(2, 2), randn(2, 4), randn(2, 4)]
                + [p.data for _, p in cell.named_parameters()], order=2, name="ONLSTMCell")


def test_open_master_gates_give_an_lstm():
    """f̃ = ĩ = 1 everywhere (ω = 1): c' = f ⊙ c + i ⊙ ĝ, the LSTM cell."""
    cell = ONLSTMCell(3, 4, 2, generator=tg.Generator(0)).to(dtype="float64")
    lstm = nn.LSTMCell(3, 4).to(dtype="float64")
    lstm.weight_ih.data[:] = cell.weight_ih.data[:, :16]
    lstm.weight_hh.data[:] = cell.weight_hh.data[:, :16]
    lstm.bias.data[:] = cell.bias.data[:16]
    cell.weight_ih.data[:, 16:] = cell.weight_hh.data[:, 16:] = 0
    cell.bias.data[16:] = [200.0, 0.0, 0.0, 200.0]   # f̃: peak at level 0; ĩ: at the last
    x, h, c = randn(3, 3), randn(3, 4), randn(3, 4)
    got = cell(tg.tensor(x), (tg.tensor(h), tg.tensor(c)))
    want = lstm(tg.tensor(x), (tg.tensor(h), tg.tensor(c)))
    for a, b in zip(got[:2], want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)


def test_layer_grads_with_mask_and_padding_is_invisible():
    layer = ONLSTM(2, 4, 2, num_layers=2, generator=tg.Generator(0))
    mask = np.array([[1, 1, 1], [1, 1, 0]])
    check_module_grads(layer, [randn(2, 3, 2)], kwargs={"mask": mask},
                       output=lambda out: (out[0], out[1][0]))
    x = randn(2, 3, 2)
    padded, (h, _), d = layer(tg.tensor(x), mask=mask, return_distances=True)
    alone, (h1, _), d1 = layer(tg.tensor(x[1:, :2]), return_distances=True)
    np.testing.assert_allclose(padded.numpy()[1, :2], alone.numpy()[0], rtol=1e-12)
    np.testing.assert_allclose(h.numpy()[:, 1], h1.numpy()[:, 0], rtol=1e-12)
    np.testing.assert_allclose(d.numpy()[:, 1, :2], d1.numpy()[:, 0], rtol=1e-12)
    assert np.all(padded.numpy()[1, 2] == 0) and d.shape == (2, 2, 3, 2)


def test_dropout_is_one_mask_per_sequence():
    layer = ONLSTM(3, 8, 2, dropout=0.5, generator=tg.Generator(0))
    x = tg.tensor(randn(4, 6, 3).astype(np.float32))
    out = layer(x)[0].numpy()
    dropped = out == 0
    assert dropped.any() and np.all(dropped == dropped[:, :1])   # same features every step
    layer.eval()
    np.testing.assert_array_equal(layer(x)[0].numpy(), layer(x)[0].numpy())
    assert not np.any(layer(x)[0].numpy() == 0)


def test_errors():
    with pytest.raises(ArgumentError, match="hidden_size 6 must be a multiple of levels 4"):
        ONLSTMCell(2, 6, 4)
    with pytest.raises(ArgumentError, match="dropout must lie in"):
        ONLSTM(2, 4, 2, dropout=1.0)
    with pytest.raises(ShapeError, match=r"ONLSTM.*expected input of shape \(B, T, 2\)"):
        ONLSTM(2, 4, 2)(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ShapeError, match="mask"):
        ONLSTM(2, 4, 2)(np.zeros((2, 3, 2), dtype=np.float32), mask=np.ones((2, 4)))
