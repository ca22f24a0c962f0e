"""``lstm_sequence``: the one-primitive LSTM recurrence against its composed twin, and the
LSTM layer built on it against a step-by-step loop of its own cells."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tinygen import nn
from tinygen.ops.recurrent import lstm_cell, lstm_cell_twin, lstm_sequence, lstm_sequence_twin
from tinygen.testing import check_grads


def _problem(rng, b, steps, hidden, dtype):
    def t(*shape, scale=1.0):
        return tg.tensor((rng.standard_normal(shape) * scale).astype(dtype), requires_grad=True)
    return t(b, steps, 4 * hidden), t(hidden, 4 * hidden, scale=0.5), t(b, hidden), t(b, hidden)


@settings(deadline=None, max_examples=40)
@given(b=st.integers(1, 3), steps=st.integers(1, 5), hidden=st.integers(1, 3),
       masked=st.booleans(), reverse=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**32 - 1))
def test_primitive_matches_twin(b, steps, hidden, masked, reverse, dtype, seed):
    """States and all four gradients, without and with ``create_graph`` (the second goes
    through the twin: the two must agree for higher orders to be right)."""
    rng = np.random.default_rng(seed)
    inputs = _problem(rng, b, steps, hidden, dtype)
    mask = rng.random((b, steps)) > 0.4 if masked else None
    g = tg.tensor(rng.standard_normal((b, steps, 2 * hidden)).astype(dtype))
    want = lstm_sequence_twin(*inputs, mask, reverse)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    got = lstm_sequence(*inputs, mask, reverse)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), **tol)
    expected = tg.grad(want, list(inputs), grad_outputs=g)
    for create_graph in (False, True):
        grads = tg.grad(lstm_sequence(*inputs, mask, reverse), list(inputs), grad_outputs=g,
                        create_graph=create_graph)
        for a, e in zip(grads, expected, strict=True):
            assert a.shape == e.shape and a.dtype == e.dtype
            np.testing.assert_allclose(a.numpy(), e.numpy(), **tol)


@pytest.mark.parametrize("reverse", [False, True])
def test_gradients_numerically_to_second_order(reverse):
    rng = np.random.default_rng(3)
    inputs = [t.numpy() for t in _problem(rng, 2, 4, 2, np.float64)]
    mask = np.array([[1, 1, 0, 1], [1, 0, 0, 1]], dtype=bool)
    check_grads(lambda *ts: lstm_sequence(*ts, mask, reverse), inputs, order=2)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_equals_a_loop_over_its_cells(bidirectional):
    """nn.LSTM (fused) against its cells stepped by hand, with a padding mask."""
    rng = np.random.default_rng(4)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=bidirectional,
                   generator=tg.Generator(0))
    x = tg.tensor(rng.standard_normal((2, 5, 3)).astype(lstm.cells[0].weight_ih.dtype))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    out, (h_n, c_n) = lstm(x, mask=mask)
    dirs = 2 if bidirectional else 1
    layer_in, finals = x.numpy(), []
    for layer in range(2):
        outs = []
        for d in range(dirs):
            cell = lstm.cells[layer * dirs + d]
            h = c = np.zeros((2, 4), dtype=layer_in.dtype)
            ys = np.zeros((2, 5, 4), dtype=layer_in.dtype)
            for t in (range(5) if d == 0 else reversed(range(5))):
                nh, nc = (v.numpy() for v in cell(layer_in[:, t], (h, c)))
                k = mask[:, t:t + 1]
                h, c = np.where(k, nh, h), np.where(k, nc, c)
                ys[:, t] = np.where(k, h, 0)
            outs.append(ys)
            finals.append((h, c))
        layer_in = np.concatenate(outs, axis=-1)
    np.testing.assert_allclose(out.numpy(), layer_in, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_n.numpy(), np.stack([f[0] for f in finals]), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(c_n.numpy(), np.stack([f[1] for f in finals]), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("args, match", [
    (((2, 3, 8), (3, 8), (2, 2), (2, 2)), "expected z"),
    (((2, 3, 7), (2, 8), (2, 2), (2, 2)), "expected z"),
    (((2, 3, 8), (2, 8), (3, 2), (2, 2)), "h0 must have shape"),
    (((2, 3, 8), (2, 8), (2, 2), (2, 1)), "c0 must have shape"),
])
def test_bad_shapes_are_named(args, match):
    tensors = [tg.tensor(np.zeros(s)) for s in args]
    with pytest.raises(tg.ShapeError, match=match) as info:
        lstm_sequence(*tensors)
    assert "lstm_sequence" in str(info.value)


def test_bad_mask_is_named():
    z, u, h, c = (tg.tensor(np.zeros(s)) for s in ((2, 3, 8), (2, 8), (2, 2), (2, 2)))
    for mask in (np.ones((2, 3)), np.ones((3, 2), dtype=bool)):
        with pytest.raises(tg.ShapeError, match="lstm_sequence: mask must be a boolean"):
            lstm_sequence(z, u, h, c, mask)


@settings(deadline=None, max_examples=30)
@given(b=st.integers(1, 3), hidden=st.integers(1, 3),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**32 - 1))
def test_cell_primitive_matches_twin(b, hidden, dtype, seed):
    rng = np.random.default_rng(seed)
    z = tg.tensor((rng.standard_normal((b, 4 * hidden)) * 2).astype(dtype), requires_grad=True)
    c = tg.tensor(rng.standard_normal((b, hidden)).astype(dtype), requires_grad=True)
    g = tg.tensor(rng.standard_normal((b, 2 * hidden)).astype(dtype))
    want = lstm_cell_twin(z, c)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(lstm_cell(z, c).numpy(), want.numpy(), **tol)
    expected = tg.grad(want, [z, c], grad_outputs=g)
    for create_graph in (False, True):
        got = tg.grad(lstm_cell(z, c), [z, c], grad_outputs=g, create_graph=create_graph)
        for a, e in zip(got, expected, strict=True):
            assert a.dtype == e.dtype
            np.testing.assert_allclose(a.numpy(), e.numpy(), **tol)


def test_cell_gradients_numerically_to_second_order():
    rng = np.random.default_rng(5)
    check_grads(lstm_cell, [rng.standard_normal((2, 8)), rng.standard_normal((2, 2))], order=2)


def test_cell_bad_shapes_are_named():
    with pytest.raises(tg.ShapeError, match=r"lstm_cell: expected z \(B, 4H\) and c"):
        lstm_cell(tg.tensor(np.zeros((2, 7))), tg.tensor(np.zeros((2, 2))))
