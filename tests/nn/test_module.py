"""Module machinery: registration, names, state dicts, modes, devices, hooks, capture, losses."""

from __future__ import annotations

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4, generator=tg.Generator(0))
        self.scale = nn.Parameter(tg.ones(4))
        self.register_buffer("count", tg.zeros(1))
        self.not_registered = tg.zeros(2)  # a plain tensor attribute is not state

    def forward(self, x):
        self.count.data += 1
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Tanh()])
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 1), "b": nn.Linear(4, 2)})
        self.shared = self.block.fc  # the same module twice: listed once

    def forward(self, x):
        h = self.block(x)
        for layer in self.layers:
            h = layer(h)
        self.add_loss((h * h).mean())
        return self.heads["a"](h), self.heads["b"](h)


NAMES = ["block.scale", "block.fc.weight", "block.fc.bias", "layers.0.weight", "layers.0.bias",
         "heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias"]


def test_registration_and_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == NAMES
    assert len(net.parameters()) == len(NAMES)
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert [n for n, _ in net.named_buffers()] == ["block.count"]
    assert [type(m).__name__ for m in net.children()] == ["Block", "ModuleList", "ModuleDict",
                                                        "Linear"]
    names = [n for n, _ in net.named_modules()]
    assert names == ["", "block", "block.fc", "layers", "layers.0", "layers.1", "heads",
                     "heads.a", "heads.b"]
    assert net.block.fc is net.shared and net.layers[0] is list(net.layers)[0]
    assert "heads.a" in dict(net.named_modules()) and "a" in net.heads and len(net.heads) == 2


def test_reassignment_and_deletion():
    m = nn.Linear(2, 2)
    m.weight = nn.Parameter(tg.zeros(2, 2))
    assert m.weight.shape == (2, 2) and m.parameters()[0] is m.weight
    with pytest.raises(tg.TinygenError, match=r"weight is a Parameter; assign a Parameter"):
        m.weight = tg.zeros(2, 2)  # would silently unregister it
    m.bias = None
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    del m.weight
    assert m.named_parameters() == []
    with pytest.raises(AttributeError, match="no attribute 'weight'"):
        _ = m.weight


def test_plain_containers_are_rejected():
    class Bad(nn.Module):
        def __init__(self, kind):
            super().__init__()
            self.layers = [nn.Linear(2, 2)] if kind == "list" else {"a": nn.Linear(2, 2)}

    with pytest.raises(tg.TinygenError, match=r"wrap it: self.layers = nn.ModuleList"):
        Bad("list")
    with pytest.raises(tg.TinygenError, match=r"nn.ModuleDict"):
        Bad("dict")


def test_forgetting_super_init_is_explained():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(tg.TinygenError, match=r"call super\(\).__init__\(\)"):
        Bad()


def test_state_dict_round_trip_copies_in_place():
    a, b = Net(), Net()
    state = a.state_dict()
    assert list(state) == NAMES + ["block.count"]
    weight = b.block.fc.weight
    result = b.load_state_dict(state)
    assert result == nn.LoadResult([], [])
    assert b.block.fc.weight is weight  # same object, values copied in
    for name, t in b.state_dict().items():
        np.testing.assert_array_equal(t.numpy(), state[name].numpy())
    state["block.scale"].data[:] = 7.0  # the state dict holds copies
    assert not np.any(a.block.scale.numpy() == 7.0)


def test_load_state_dict_lists_every_problem():
    net = Net()
    state = net.state_dict()
    del state["heads.a.bias"], state["block.count"]
    state["extra.weight"] = tg.zeros(3)
    state["layers.0.weight"] = tg.zeros(5, 4)
    before = net.block.fc.weight.numpy().copy()
    state["block.fc.weight"] = tg.zeros(3, 4)
    with pytest.raises(tg.ShapeError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    for piece in ["heads.a.bias", "block.count", "extra.weight",
                  "layers.0.weight: model has (4, 4), state has (5, 4)", "missing", "unexpected",
                  "nothing loaded"]:
        assert piece in message
    np.testing.assert_array_equal(net.block.fc.weight.numpy(), before)  # nothing copied

    del state["layers.0.weight"]
    with pytest.raises(tg.TinygenError, match="missing.*layers.0.weight") as info:
        net.load_state_dict(state)
    assert not isinstance(info.value, tg.ShapeError)
    result = net.load_state_dict(state, strict=False)
    assert set(result.missing) == {"heads.a.bias", "block.count", "layers.0.weight"}
    assert result.unexpected == ["extra.weight"]
    np.testing.assert_array_equal(net.block.fc.weight.numpy(), 0.0)


def test_load_state_dict_accepts_arrays_and_casts():
    m = nn.Linear(2, 3)
    m.load_state_dict({"weight": np.ones((2, 3), dtype=np.float64), "bias": [1.0, 2.0, 3.0]})
    assert m.weight.dtype == np.float32
    np.testing.assert_array_equal(m.bias.numpy(), [1, 2, 3])


def test_train_eval_and_zero_grad():
    net = Net()
    assert net.training and all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    a, b = net(tg.randn(5, 3))
    (a.sum() + b.sum()).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_device_and_dtype(device):
    net = Net()
    net.block.fc.weight.grad = tg.ones(3, 4)
    params = net.parameters()
    assert net.to(device, dtype=np.float64) is net
    assert all(p is q for p, q in zip(net.parameters(), params))
    for t in net.parameters() + net.buffers() + [net.block.fc.weight.grad]:
        assert t.device == device and t.dtype == np.float64
    a, _ = net(tg.randn(2, 3, dtype=np.float64, device=device))
    assert a.device == device
    with pytest.raises(tg.DeviceError):
        net.to("tpu")


def test_forward_hooks_and_handles():
    m = nn.Linear(3, 2)
    calls = []
    handle = m.register_forward_hook(lambda mod, inputs, out: calls.append((mod, inputs, out)))
    x = tg.randn(4, 3)
    y = m(x)
    assert calls[0][0] is m and calls[0][1][0] is x and calls[0][2] is y
    with m.register_forward_hook(lambda mod, inputs, out: out * 0):
        assert np.all(m(x).numpy() == 0)  # a hook's return value replaces the output
    assert np.any(m(x).numpy() != 0)
    handle.remove()
    m(x)
    assert len(calls) == 3


def test_capture_reads_intermediate_values():
    net = Net()
    x = tg.randn(2, 3)
    with net.capture("block", "layers.1", "heads.b") as seen:
        _, b = net(x)
    assert set(seen) == {"block", "layers.1", "heads.b"}
    assert seen["heads.b"] is b
    np.testing.assert_allclose(seen["layers.1"].numpy(), np.tanh(
        net.layers[0](seen["block"]).numpy()), rtol=1e-6)
    assert not net.block._forward_hooks  # hooks removed afterwards
    with pytest.raises(tg.TinygenError, match="no submodule named 'nope'.*available: block"):
        with net.capture("nope"):
            pass


def test_add_loss_and_pop_losses():
    net = Net()
    net.block.add_loss(tg.tensor(2.0))
    a, b = net(tg.randn(2, 3))
    losses = net.pop_losses()
    assert len(losses) == 2 and float(losses[1]) == 2.0
    assert net.pop_losses() == []
    with pytest.raises(tg.ShapeError, match="single-value loss"):
        net.add_loss(tg.zeros(3))


def test_repr_tree():
    net = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.1), nn.Dropout(0.5))
    assert repr(net) == ("Sequential(\n  (0): Linear(in_features=4, out_features=8)\n"
                         "  (1): LeakyReLU(negative_slope=0.1)\n  (2): Dropout(p=0.5)\n)")
    assert "(0): LSTMCell(2, 3)" in repr(nn.LSTM(2, 3))
    assert repr(nn.Parameter(tg.zeros(1))).startswith("parameter(")


def test_sequential_and_containers():
    seq = nn.Sequential({"encoder": nn.Linear(3, 4), "act": nn.ReLU()})
    assert seq.encoder is seq[0] and len(seq) == 2
    assert [n for n, _ in seq.named_parameters()] == ["encoder.weight", "encoder.bias"]
    x = tg.randn(2, 3)
    np.testing.assert_allclose(seq(x).numpy(), np.maximum(seq[0](x).numpy(), 0))
    lst = nn.ModuleList([nn.Tanh()]).append(nn.ReLU())
    assert isinstance(lst[1:], nn.ModuleList) and len(lst[1:]) == 1
    lst[0] = nn.Sigmoid()
    assert isinstance(lst[0], nn.Sigmoid)
    with pytest.raises(tg.TinygenError, match="expected a Module"):
        lst.append(3)
    with pytest.raises(tg.TinygenError, match="without '.'"):
        nn.ModuleDict({"a.b": nn.ReLU()})


def test_functional_call_leaves_module_unchanged():
    m = nn.Linear(2, 2)
    w = tg.eye(2)
    x = tg.tensor([[1.0, 2.0]])
    np.testing.assert_allclose(nn.functional_call(m, {"weight": w, "bias": tg.zeros(2)},
                                                  x).numpy(), [[1.0, 2.0]])
    assert m.weight is m._parameters["weight"] and "weight" not in m.__dict__
    with pytest.raises(tg.TinygenError, match="no parameter or buffer named 'w'"):
        nn.functional_call(m, {"w": w}, x)


def test_functional_call_gives_second_order_gradients():
    """Differentiate through one SGD step (MAML-style): the parameters after the step are a
    function of the initial ones."""
    m = nn.Linear(2, 1, bias=False)
    w = tg.tensor([[0.5], [-1.0]], requires_grad=True)
    x, y = tg.tensor([[1.0, 2.0]]), tg.tensor([[1.0]])
    loss = lambda w: ((nn.functional_call(m, {"weight": w}, x) - y) ** 2).sum()
    g = tg.grad(loss(w), w, create_graph=True)
    w2 = w - 0.1 * g
    (meta,) = tg.grad(loss(w2), [w])
    # closed form: loss(w) = (xw − y)², w2 = w − 0.2 xᵀ(xw − y),
    # d loss(w2)/dw = (I − 0.2 xᵀx) · 2 xᵀ(x w2 − y)
    xa, wa = x.numpy(), w.numpy()
    w2a = wa - 0.2 * xa.T @ (xa @ wa - 1)
    expected = (np.eye(2) - 0.2 * xa.T @ xa) @ (2 * xa.T @ (xa @ w2a - 1))
    np.testing.assert_allclose(meta.numpy(), expected, rtol=1e-5)


def test_buffers_and_deepcopy():
    import copy
    m = nn.BatchNorm1d(2)
    m.running_mean = tg.ones(2)  # assigning a tensor to a buffer name replaces the buffer
    assert [n for n, _ in m.named_buffers()] == ["running_mean", "running_var"]
    m.register_buffer("extra", None)  # None buffers are skipped
    assert len(m.buffers()) == 2
    with pytest.raises(tg.TinygenError, match="must be a Tensor or None"):
        m.register_buffer("bad", np.zeros(2))
    c = copy.deepcopy(m)
    assert c.running_mean is not m.running_mean and c.weight is not m.weight
    np.testing.assert_array_equal(c.running_mean.numpy(), 1.0)
    assert isinstance(c.weight, nn.Parameter) and c.weight.requires_grad
