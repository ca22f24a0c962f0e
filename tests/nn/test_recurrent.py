"""LSTM and GRU: against unrolled NumPy loops and torch, padded batches against single
sequences (both directions), gradients, initial states."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tests.nn.helpers import check_module_grads
from tinygen import nn
from tinygen.testing import check_grads

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def lstm_cell_ref(cell, x, h, c):
    z = x @ cell.weight_ih.numpy() + h @ cell.weight_hh.numpy() + cell.bias.numpy()
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def gru_cell_ref(cell, x, h):
    xr, xz, xn = np.split(x @ cell.weight_ih.numpy() + cell.bias_ih.numpy(), 3, axis=-1)
    hr, hz, hn = np.split(h @ cell.weight_hh.numpy() + cell.bias_hh.numpy(), 3, axis=-1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def rnn_ref(layer, x):
    """The plain unrolled loop: layers, directions, zero initial states, no masks."""
    lstm = isinstance(layer, nn.LSTM)
    dirs = 2 if layer.bidirectional else 1
    B, T, _ = x.shape
    finals = []
    for layer_i in range(layer.num_layers):
        outs = []
        for d in range(dirs):
            cell = layer.cells[layer_i * dirs + d]
            h = c = np.zeros((B, layer.hidden_size))
            ys = [None] * T
            for t in (range(T) if d == 0 else reversed(range(T))):
                if lstm:
                    h, c = lstm_cell_ref(cell, x[:, t], h, c)
                else:
                    h = gru_cell_ref(cell, x[:, t], h)
                ys[t] = h
            outs.append(np.stack(ys, axis=1))
            finals.append((h, c) if lstm else (h,))
        x = np.concatenate(outs, axis=-1)
    states = tuple(np.stack([f[k] for f in finals]) for k in range(len(finals[0])))
    return x, states


def state_tuple(state):
    return state if isinstance(state, tuple) else (state,)


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True)])
def test_matches_unrolled_numpy_loop(kind, num_layers, bidirectional, device):
    layer = kind(3, 4, num_layers=num_layers, bidirectional=bidirectional,
                 generator=tg.Generator(0)).to(device, dtype=np.float64)
    x = randn(2, 5, 3)
    out, state = layer(tg.tensor(x, device=device))
    ref_out, ref_state = rnn_ref(layer, x)
    assert out.device == device
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-10, atol=1e-12)
    for ours, ref in zip(state_tuple(state), ref_state, strict=True):
        np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10, atol=1e-12)


def copy_to_torch(ours, ref):
    """Our weights into a torch LSTM/GRU (torch's are (out, in): transposes; the LSTM's one
    bias goes into bias_ih with bias_hh zero)."""
    import torch
    dirs = 2 if ours.bidirectional else 1
    with torch.no_grad():
        for layer in range(ours.num_layers):
            for d in range(dirs):
                cell, sfx = ours.cells[layer * dirs + d], f"_l{layer}" + ("_reverse" if d else "")
                getattr(ref, "weight_ih" + sfx).copy_(torch.from_numpy(cell.weight_ih.numpy().T))
                getattr(ref, "weight_hh" + sfx).copy_(torch.from_numpy(cell.weight_hh.numpy().T))
                if isinstance(cell, nn.LSTMCell):
                    getattr(ref, "bias_ih" + sfx).copy_(torch.from_numpy(cell.bias.numpy()))
                    getattr(ref, "bias_hh" + sfx).zero_()
                else:
                    getattr(ref, "bias_ih" + sfx).copy_(torch.from_numpy(cell.bias_ih.numpy()))
                    getattr(ref, "bias_hh" + sfx).copy_(torch.from_numpy(cell.bias_hh.numpy()))


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_matches_torch(kind):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True,
                             generator=tg.Generator(1)).to(dtype=np.float64)
    for cell in ours.cells:  # non-zero biases, so their placement is checked too
        for name, p in cell.named_parameters():
            if name.startswith("bias"):
                p.data[:] = randn(*p.shape)
    ref = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True,
                                  batch_first=True).double()
    copy_to_torch(ours, ref)
    x = randn(3, 6, 3)
    h0 = randn(4, 3, 4)
    c0 = randn(4, 3, 4)
    init = (tg.tensor(h0), tg.tensor(c0)) if kind == "LSTM" else tg.tensor(h0)
    torch_init = ((torch.from_numpy(h0), torch.from_numpy(c0)) if kind == "LSTM"
                  else torch.from_numpy(h0))
    out, state = ours(tg.tensor(x), init)
    ref_out, ref_state = ref(torch.from_numpy(x), torch_init)
    np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(state_tuple(state), state_tuple(ref_state), strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
@given(lengths=st.lists(st.integers(1, 5), min_size=1, max_size=3), left=st.booleans())
def test_padded_batch_equals_each_sequence(kind, lengths, left):
    """A mask makes a padded batch give exactly the per-sequence results, in both directions;
    padding may sit at the end (usual) or at the start."""
    layer = kind(2, 3, num_layers=2, bidirectional=True,
                 generator=tg.Generator(4)).to(dtype=np.float64)
    B, T = len(lengths), max(lengths)
    x = randn(B, T, 2)
    mask = np.zeros((B, T), dtype=bool)
    for b, n in enumerate(lengths):
        (mask[b, T - n:] if left else mask[b, :n]).fill(True)
    x[~mask] = 99.0  # garbage in the padding must not matter
    out, state = layer(tg.tensor(x), mask=mask.astype(np.float64))
    out, state = out.numpy(), [s.numpy() for s in state_tuple(state)]
    assert np.all(out[~mask] == 0)
    for b in range(B):
        alone, alone_state = layer(tg.tensor(x[b:b + 1, mask[b]]))
        np.testing.assert_allclose(out[b, mask[b]], alone.numpy()[0], rtol=1e-12, atol=1e-14)
        for s, a in zip(state, state_tuple(alone_state), strict=True):
            np.testing.assert_allclose(s[:, b], a.numpy()[:, 0], rtol=1e-12, atol=1e-14)


def test_lstm_cell_grads():
    cell = nn.LSTMCell(2, 3, generator=tg.Generator(0))
    cell.bias.data[:] = randn(12)
    names = [n for n, _ in cell.named_parameters()]

    def with_state(x, h, c, *params):
        h2, c2 = nn.functional_call(cell, dict(zip(names, params)), x, (h, c))
        return h2 + 2 * c2

    params = [p.data for p in cell.parameters()]
    check_grads(with_state, [randn(2, 2), randn(2, 3), randn(2, 3)] + params, order=2)


def test_gru_cell_grads():
    cell = nn.GRUCell(2, 3, generator=tg.Generator(0))
    cell.bias_hh.data[:] = randn(9)
    check_module_grads(cell, [randn(2, 2), randn(2, 3)])


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
def test_layer_grads_with_mask(kind):
    layer = kind(2, 2, bidirectional=True, generator=tg.Generator(0))
    mask = np.array([[1, 1, 1], [1, 1, 0]])
    check_module_grads(layer, [randn(2, 3, 2)], kwargs={"mask": mask},
                       output=lambda out: (out[0], state_tuple(out[1])[0]))


def test_gradient_does_not_reach_padding():
    layer = nn.GRU(2, 3)
    x = tg.tensor(randn(2, 4, 2).astype(np.float32), requires_grad=True)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]])
    out, h = layer(x, mask=mask)
    (out.sum() + h.sum()).backward()
    g = x.grad.numpy()
    assert np.all(g[0, 2:] == 0) and np.all(g[0, :2] != 0) and np.all(g[1] != 0)


def test_mask_and_state_errors():
    layer = nn.LSTM(2, 3, num_layers=2)
    x = tg.zeros(4, 5, 2)
    with pytest.raises(tg.ShapeError, match=r"expected mask of shape \(B, T\) = \(4, 5\), "
                                            r"got \(4, 6\)"):
        layer(x, mask=np.ones((4, 6)))
    with pytest.raises(tg.ShapeError, match="1 \\(real step\\) or 0"):
        layer(x, mask=np.full((4, 5), 2))
    with pytest.raises(tg.ShapeError, match=r"expected initial state h of shape \(2, 4, 3\), "
                                            r"got \(1, 4, 3\)"):
        layer(x, (tg.zeros(1, 4, 3), tg.zeros(2, 4, 3)))
    with pytest.raises(tg.ShapeError, match=r"LSTMCell\(2, 3\): expected state c of shape "
                                            r"\(4, 3\), got \(4, 2\)"):
        nn.LSTMCell(2, 3)(tg.zeros(4, 2), (tg.zeros(4, 3), tg.zeros(4, 2)))


def test_initialisation():
    cell = nn.LSTMCell(3, 4, generator=tg.Generator(0))
    np.testing.assert_array_equal(cell.bias.numpy(), [0] * 4 + [1] * 4 + [0] * 8)
    u = cell.weight_hh.numpy()
    for k in range(4):
        block = u[:, 4 * k:4 * k + 4]
        np.testing.assert_allclose(block @ block.T, np.eye(4), atol=1e-5)
