"""The couplet tagger: its gated block is a real 'same' Conv1D plus the gate formula, the
stack sees exactly ±blocks positions, it learns a rule that needs the neighbours, and
decoding never echoes the input character."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import F, nn
from tinygen.errors import ShapeError, TinygenError
from tinygen.models.couplet import CoupletTagger, GatedResidualConv1d, decode_couplet
from tinygen.optim import Adam
from tinygen.testing import check_grads


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
@pytest.mark.parametrize("length", [1, 2, 7])
def test_block_convolution_is_the_conv1d_layer(kernel_size, length):
    tg.manual_seed(0)
    block = GatedResidualConv1d(6, kernel_size).to(dtype="float64")
    x = np.random.default_rng(length).standard_normal((3, length, 6))
    h = block.pre_activation(tg.tensor(x)).numpy()
    reference = block.conv(tg.tensor(x.transpose(0, 2, 1))).numpy().transpose(0, 2, 1)
    assert h.shape == (3, length, 12)
    np.testing.assert_allclose(h, reference, rtol=1e-12, atol=1e-12)


def test_block_output_is_the_gated_mix():
    tg.manual_seed(1)
    block = GatedResidualConv1d(4).to(dtype="float64")
    x = np.random.default_rng(0).standard_normal((2, 5, 4))
    h = block.pre_activation(tg.tensor(x)).numpy()
    g, c = h[..., :4], h[..., 4:]
    expected = x * sigmoid(g) + c * (1 - sigmoid(g))
    np.testing.assert_allclose(block(tg.tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_gate_bias_starts_the_block_near_the_identity():
    block = GatedResidualConv1d(5, gate_bias=2.0)
    assert np.allclose(block.conv.bias.numpy()[:5], 2.0) and np.allclose(
        block.conv.bias.numpy()[5:], 0.0)
    block.conv.weight.data[...] = 0  # then g = 2 and c = 0 everywhere: y = x·σ(2)
    x = np.random.default_rng(4).standard_normal((2, 3, 5)).astype(np.float32)
    np.testing.assert_allclose(block(tg.tensor(x)).numpy(), x * sigmoid(2.0), rtol=1e-6)


def test_block_gradients_match_finite_differences():
    tg.manual_seed(2)
    block = GatedResidualConv1d(3).to(dtype="float64")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 3))
    w, b = block.conv.weight.numpy(), block.conv.bias.numpy() + rng.standard_normal(6)

    def fn(x, w, b):
        return nn.functional_call(block, {"conv.weight": w, "conv.bias": b}, x)

    check_grads(fn, [x, w, b])


@given(n=st.integers(1, 3), length=st.integers(1, 8), d=st.integers(1, 5),
       kernel_size=st.sampled_from([1, 3, 5]), seed=st.integers(0, 2**16))
def test_fused_block_is_its_twin(n, length, d, kernel_size, seed):
    """The fused primitive against the same block made of differentiable ops: output and
    all three gradients (input, weight, bias) agree to rounding in float64."""
    tg.manual_seed(seed)
    fused = GatedResidualConv1d(d, kernel_size, gate_bias=0.5).to(dtype="float64")
    twin = GatedResidualConv1d(d, kernel_size, fused=False).to(dtype="float64")
    twin.load_state_dict(fused.state_dict())
    rng = np.random.default_rng(seed)
    x, up = rng.standard_normal((2, n, length, d))
    results = []
    for block in (fused, twin):
        xt = tg.tensor(x, requires_grad=True)
        y = block(xt)
        (y * tg.tensor(up)).sum().backward()
        results.append([y.numpy(), xt.grad.numpy(), block.conv.weight.grad.numpy(),
                        block.conv.bias.grad.numpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_fused_block_refuses_a_second_derivative_and_its_twin_has_one():
    tg.manual_seed(5)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 4, 3))
    fused = GatedResidualConv1d(3).to(dtype="float64")
    xt = tg.tensor(x, requires_grad=True)
    (gx,) = tg.grad(fused(xt).sum(), [xt], create_graph=True)
    with pytest.raises(TinygenError, match="fused=False"):
        tg.grad((gx * gx).sum(), [xt])
    twin = GatedResidualConv1d(3, fused=False).to(dtype="float64")
    check_grads(lambda x: twin(x), [x], order=2)


def test_block_rejects_bad_shapes():
    block = GatedResidualConv1d(4)
    with pytest.raises(ShapeError, match=r"\(N, L, 4\)"):
        block(tg.zeros(2, 4, 5))  # channels first is the wrong layout here
    with pytest.raises(ShapeError, match="odd"):
        GatedResidualConv1d(4, kernel_size=2)


def test_tagger_sees_exactly_blocks_positions_each_way():
    tg.manual_seed(3)
    model = CoupletTagger(20, dim=8, blocks=3).eval()
    ids = np.random.default_rng(2).integers(0, 20, (1, 10))
    changed = ids.copy()
    changed[0, 4] = (ids[0, 4] + 1) % 20
    with tg.no_grad():
        diff = np.abs(model(ids).numpy() - model(changed).numpy()).max(axis=-1)[0]
    assert diff.shape == (10,)
    assert (diff[1:8] > 1e-6).all()  # 3 blocks of width 3: positions 4 − 3 … 4 + 3
    assert (diff[[0, 8, 9]] <= 1e-12).all()


def test_tagger_learns_a_rule_that_needs_the_left_neighbour():
    """y_t = (x_t + x_{t−1}) mod V (x_{−1} = 0): no per-position lookup can do it."""
    tg.manual_seed(4)
    v = 7
    rng = np.random.default_rng(3)
    x = rng.integers(0, v, (512, 6))
    y = (x + np.pad(x, ((0, 0), (1, 0)))[:, :-1]) % v
    model = CoupletTagger(v, dim=32, blocks=2, dropout=0.0)
    optimizer = Adam(model.parameters(), lr=1e-2)
    for step in range(150):
        batch = slice(64 * (step % 8), 64 * (step % 8 + 1))
        loss = F.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    x_new = rng.integers(0, v, (200, 6))
    y_new = (x_new + np.pad(x_new, ((0, 0), (1, 0)))[:, :-1]) % v
    with tg.no_grad():
        accuracy = (model.eval()(x_new).numpy().argmax(-1) == y_new).mean()
    assert accuracy > 0.9  # chance is 1/7


def test_decode_forbids_the_input_character_and_the_listed_ids():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((4, 6, 9))
    inputs = rng.integers(0, 9, (4, 6))
    np.put_along_axis(logits, inputs[..., None], 100.0, axis=-1)  # the echo would win
    logits[..., 0] = 50.0  # and so would id 0 (say <unk>) otherwise
    plain = decode_couplet(logits, inputs, no_repeat=False)
    assert (plain == inputs).all()
    out = decode_couplet(logits, inputs, forbid=(0,))
    assert (out != inputs).all() and (out != 0).all()
    brute = np.empty_like(out)
    for n in range(4):
        for t in range(6):
            allowed = [v for v in range(9) if v not in (0, inputs[n, t])]
            brute[n, t] = max(allowed, key=lambda v: logits[n, t, v])
    assert (out == brute).all()
    assert np.isfinite(logits).all()  # the caller's logits are not changed


def test_decode_checks_shapes():
    with pytest.raises(ShapeError, match="decode_couplet"):
        decode_couplet(np.zeros((2, 5, 3)), np.zeros((2, 4), dtype=int))
