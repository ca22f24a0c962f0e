"""Gradient clipping by global norm, and the EMA of weights (closed form, swap, state)."""

import json

import numpy as np
import pytest

import tinygen as tg
from tinygen import optim


def with_grads(arrays, device="cpu", dtype="float64"):
    params = []
    for a in arrays:
        p = tg.tensor(np.zeros_like(a), dtype=dtype, device=device, requires_grad=True)
        p.grad = tg.tensor(a, dtype=dtype, device=device)
        params.append(p)
    return params


def test_clip_grad_norm_scales_to_the_global_norm(device):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 4)), rng.normal(size=5), np.array(2.0)]
    total = np.sqrt(sum((g**2).sum() for g in grads))
    params = with_grads(grads, device)
    params.append(tg.tensor(np.ones(2), device=device, requires_grad=True))  # no grad: skipped
    norm = optim.clip_grad_norm(params, max_norm=1.5)
    assert isinstance(norm, float) and np.isclose(norm, total, rtol=1e-14)
    clipped = [p.grad.numpy() for p in params[:3]]
    assert np.isclose(np.sqrt(sum((c**2).sum() for c in clipped)), 1.5, rtol=1e-6)
    for c, g in zip(clipped, grads):
        np.testing.assert_allclose(c, g * 1.5 / (total + 1e-6), rtol=1e-14)
    assert params[3].grad is None


def test_clip_grad_norm_leaves_small_gradients_alone_and_keeps_dtype():
    params = with_grads([np.array([0.3, 0.4])], dtype="float32")
    before = params[0].grad
    assert np.isclose(optim.clip_grad_norm(params, 1.0), 0.5)
    assert params[0].grad is before
    assert np.isclose(optim.clip_grad_norm(params, 0.1), 0.5)
    assert params[0].grad.dtype == np.float32
    np.testing.assert_allclose(params[0].grad.numpy(), [0.06, 0.08], rtol=1e-5)
    with pytest.raises(optim.OptimizerError, match="max_norm must be >= 0"):
        optim.clip_grad_norm(params, -1.0)


def test_clip_grad_norm_with_a_gradient_shared_between_parameters():
    a = tg.tensor([3.0, 0.0], requires_grad=True)
    b = tg.tensor([0.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # a.grad and b.grad may be one (read-only) tensor
    norm = optim.clip_grad_norm([a, b], max_norm=1.0)
    assert np.isclose(norm, 2.0)
    for p in (a, b):
        np.testing.assert_allclose(p.grad.numpy(), [0.5, 0.5], rtol=1e-6)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=(4, 3)), rng.normal(size=7)]
    tparams = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for tp, g in zip(tparams, grads):
        tp.grad = torch.from_numpy(g.copy())
    expected = torch.nn.utils.clip_grad_norm_(tparams, 0.7, foreach=False)
    params = with_grads(grads)
    assert np.isclose(optim.clip_grad_norm(params, 0.7), float(expected), rtol=1e-14)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-14)


# -- EMA --------------------------------------------------------------------------------------

def test_ema_equals_the_closed_form():
    rng = np.random.default_rng(0)
    alpha, k = 0.9, 7
    thetas = [rng.normal(size=(2, 3)) for _ in range(k + 1)]  # θ₀ … θ_k
    p = tg.tensor(thetas[0], requires_grad=True)
    ema = optim.EMA([p], alpha=alpha)
    for theta in thetas[1:]:
        p.data[...] = theta  # pretend an optimizer step produced θᵢ
        ema.update()
    closed = alpha**k * thetas[0] + (1 - alpha) * sum(alpha ** (k - i) * thetas[i]
                                                      for i in range(1, k + 1))
    np.testing.assert_allclose(ema.shadow[0], closed, rtol=1e-14)
    assert ema.num_updates == k


def test_ema_closed_form_is_exact_in_binary():
    """α = 1/2 and small integers make every operation exact, so equality is bitwise."""
    thetas = [np.array([8.0, -4.0, 2.0]), np.array([1.0, 2.0, 3.0]),
              np.array([-2.0, 0.0, 6.0]), np.array([5.0, 1.0, -1.0])]
    p = tg.tensor(thetas[0], requires_grad=True)
    ema = optim.EMA(p, alpha=0.5)
    for theta in thetas[1:]:
        p.data[...] = theta
        ema.update()
    closed = 0.5**3 * thetas[0] + 0.5 * (0.25 * thetas[1] + 0.5 * thetas[2] + thetas[3])
    assert np.array_equal(ema.shadow[0], closed)


def test_ema_with_a_real_optimizer_and_edge_alphas():
    w = tg.tensor(np.array([1.0, -1.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    frozen, follower = optim.EMA([w], alpha=1.0), optim.EMA([w], alpha=0.0)
    for _ in range(3):
        w.grad = tg.tensor(np.array([1.0, 2.0]))
        opt.step()
        frozen.update()
        follower.update()
    np.testing.assert_array_equal(frozen.shadow[0], [1.0, -1.0])
    np.testing.assert_array_equal(follower.shadow[0], w.numpy())


def test_apply_restore_round_trip_is_bitwise_and_keeps_dtype(device):
    rng = np.random.default_rng(3)
    params = [tg.tensor(rng.normal(size=s), dtype="float32", device=device, requires_grad=True)
              for s in [(3, 2), (4,), ()]]
    ema = optim.EMA(params, alpha=0.99)
    for _ in range(5):
        for p in params:
            p.data += p.xp.asarray(rng.normal(size=p.shape), dtype=p.dtype)
        ema.update()
    raw = [p.numpy().copy() for p in params]
    arrays = [p.data for p in params]
    with ema.averaged():
        for p, s, a in zip(params, ema.shadow, arrays):
            assert p.data is a and p.dtype == np.float32 and p.device == device
            np.testing.assert_array_equal(p.numpy(), tg.backend.to_numpy(s))
    for p, r, a in zip(params, raw, arrays):
        assert p.data is a and np.array_equal(p.numpy(), r)
    assert all(s.dtype == np.float32 for s in ema.shadow)


def test_averaged_restores_after_an_exception_and_misuse_errors():
    p = tg.tensor(np.array([1.0]), requires_grad=True)
    ema = optim.EMA([p], alpha=0.5)
    p.data[...] = 3.0
    ema.update()
    with pytest.raises(KeyError), ema.averaged():
        assert p.tolist() == [2.0]
        raise KeyError("evaluation failed")
    assert p.tolist() == [3.0]
    with pytest.raises(tg.TinygenError, match="restore\\(\\) first"), ema.averaged():
        ema.update()
    with pytest.raises(tg.TinygenError, match="apply\\(\\) was not called"):
        ema.restore()
    ema.apply()
    with pytest.raises(tg.TinygenError, match="already applied"):
        ema.apply()
    ema.restore()


class TinyModel:
    """A stand-in for a tinygen.nn Module: named parameters and nothing else."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.w = tg.tensor(rng.normal(size=(3, 2)), requires_grad=True)
        self.b = tg.tensor(np.zeros(2), requires_grad=True)

    def named_parameters(self):
        return [("layer.w", self.w), ("layer.b", self.b)]


def test_ema_state_dict_round_trip_continues_bitwise():
    model, twin = TinyModel(), TinyModel()
    ema = optim.EMA(model, alpha=0.9)
    rng = np.random.default_rng(1)
    steps = [[rng.normal(size=p.shape) for _, p in model.named_parameters()] for _ in range(6)]

    def train(m, e, deltas):
        for delta in deltas:
            for (_, p), d in zip(m.named_parameters(), delta):
                p.data += d
            e.update()
    train(model, ema, steps[:3])
    train(twin, optim.EMA(twin, alpha=0.9), steps[:3])
    sd = ema.state_dict()
    assert sd["json"]["names"] == ["layer.w", "layer.b"] and sorted(sd["arrays"]) == [
        "layer.b", "layer.w"]
    restored = optim.EMA(twin, alpha=0.5)
    restored.load_state_dict({"json": json.loads(json.dumps(sd["json"])),
                              "arrays": dict(sd["arrays"])})
    assert restored.alpha == 0.9 and restored.num_updates == 3
    train(model, ema, steps[3:])
    train(twin, restored, steps[3:])
    for s, r in zip(ema.shadow, restored.shadow):
        assert np.array_equal(s, r)


def test_ema_argument_and_state_errors():
    p = tg.tensor(np.ones(2), requires_grad=True)
    for alpha in (-0.1, 1.5, float("nan")):
        with pytest.raises(optim.OptimizerError, match="EMA: alpha must be in"):
            optim.EMA([p], alpha=alpha)
    with pytest.raises(optim.OptimizerError, match="empty parameter list"):
        optim.EMA([])
    with pytest.raises(optim.OptimizerError, match="floating Tensor"):
        optim.EMA([np.ones(2)])
    ema = optim.EMA(TinyModel())
    good = ema.state_dict()
    bad = {"json": good["json"], "arrays": {"layer.w": np.zeros((3, 2))}}
    with pytest.raises(optim.OptimizerError, match=r"missing \['layer.b'\]"):
        ema.load_state_dict(bad)
    bad = {"json": good["json"], "arrays": {**good["arrays"], "layer.w": np.zeros((2, 3))}}
    with pytest.raises(optim.OptimizerError, match=r"'layer.w' has shape \(2, 3\)"):
        ema.load_state_dict(bad)
    with pytest.raises(optim.OptimizerError, match="not a tinygen.ema state"):
        ema.load_state_dict({"json": {"format": "x"}, "arrays": {}})


def test_ema_shadow_follows_module_to(device):
    model = tg.nn.Linear(3, 2)  # float32 on the CPU
    ema = optim.EMA(model, alpha=0.5)
    start = [p.numpy().astype(np.float64) for p in model.parameters()]
    model.to(device, dtype="float64")
    for p in model.parameters():
        p.data[...] = 1.0
    ema.update()
    for s, s0 in zip(ema.shadow, start):
        assert tg.backend.device_of(s) == device and s.dtype == np.float64
        assert np.allclose(tg.backend.to_numpy(s), 0.5 * s0 + 0.5)
    with ema.averaged():
        assert all(np.allclose(p.numpy(), 0.5 * s0 + 0.5)
                   for p, s0 in zip(model.parameters(), start))
    assert all(np.array_equal(p.numpy(), np.ones(p.shape)) for p in model.parameters())
    fresh = optim.EMA(model)
    fresh.load_state_dict(ema.state_dict())  # dtypes and devices now match the parameters
    ema.apply()
    model.to("cpu", dtype="float32")  # and back, between apply() and restore()
    ema.restore()
    assert all(np.array_equal(p.numpy(), np.ones(p.shape, np.float32))
               for p in model.parameters())
    ema.update()
    assert all(s.dtype == np.float32 and tg.backend.device_of(s) == "cpu" for s in ema.shadow)
