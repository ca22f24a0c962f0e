"""The fused gradient penalty (:mod:`tinygen.models.gp_fused`, CPU kernel
:mod:`tinygen.kernels.cpu.gp`) against the generic path through ``tinygen.grad``: the same
value and the same weight gradients to 1e-10 in float64 over random MLP critics; finite
differences; float32; the errors; and the benchmark on tiny sizes."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import nn
from tinygen.models import gan
from tinygen.models.gp_fused import fused_gradient_penalty, mlp_layers
from tests.benchmark_script import load_benchmark

ACTIVATIONS = ["identity", "relu", "leaky_relu", "tanh"]


def make_critic(dims, acts, bias=True, slope=0.2, seed=0, dtype=np.float64, device="cpu"):
    """An nn.Sequential MLP with widths ``dims`` and activation ``acts[l]`` after layer l
    ("identity": none), weights and biases drawn N(0, 1)/√fan-in and N(0, 0.25)."""
    rng = np.random.default_rng(seed)
    modules = []
    for l, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        lin = nn.Linear(a, b, bias=bias)
        lin.weight.data = (rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
        if bias:
            lin.bias.data = (0.5 * rng.standard_normal(b)).astype(dtype)
        modules.append(lin)
        if acts[l] == "relu":
            modules.append(nn.ReLU())
        elif acts[l] == "leaky_relu":
            modules.append(nn.LeakyReLU(slope))
        elif acts[l] == "tanh":
            modules.append(nn.Tanh())
    return nn.Sequential(*modules).to(device)


def both_paths(critic, real, fake, kind, at, seed=7):
    """(value, gradients) of the generic and the fused penalty, with the same generator
    state; a gradient the penalty does not reach is None (``allow_unused``)."""
    params = critic.parameters()
    out = []
    for fn in (gan.gradient_penalty, fused_gradient_penalty):
        p = fn(critic, real, fake, kind=kind, at=at, generator=tg.Generator(seed, real.device))
        grads = tg.grad(p, params, allow_unused=True)
        out.append((p.item(), [None if g is None else g.numpy() for g in grads]))
    return out


def assert_same(generic, fused, tol):
    (pg, gg), (pf, gf) = generic, fused
    assert abs(pf - pg) <= tol * max(1.0, abs(pg)), (pf, pg)
    assert len(gg) == len(gf)
    for i, (a, b) in enumerate(zip(gg, gf)):
        assert (a is None) == (b is None), f"parameter {i}: reached on one path only"
        if a is not None:
            assert a.shape == b.shape
            err = np.abs(a - b).max() if a.size else 0.0
            assert err <= tol * max(1.0, np.abs(a).max()), (i, err)


@st.composite
def critics(draw):
    depth = draw(st.integers(1, 4))
    dims = [draw(st.integers(1, 5))] + [draw(st.integers(1, 6)) for _ in range(depth - 1)] + [1]
    acts = [draw(st.sampled_from(ACTIVATIONS)) for _ in range(depth - 1)]
    acts.append(draw(st.sampled_from(["identity"] * 4 + ACTIVATIONS)))  # the head
    return dict(dims=dims, acts=acts, bias=draw(st.booleans()),
                slope=draw(st.sampled_from([0.0, 0.01, 0.2, 0.5])),
                seed=draw(st.integers(0, 2**16)))


@given(spec=critics(), batch=st.integers(1, 6),
       kind=st.sampled_from(["two_sided", "zero_centred"]),
       at=st.sampled_from([None, "interpolates", "real", "fake"]))
def test_fused_equals_generic_float64(spec, batch, kind, at):
    critic = make_critic(**spec)
    rng = np.random.default_rng(spec["seed"] + 1)
    real = tg.tensor(rng.standard_normal((batch, spec["dims"][0])))
    fake = tg.tensor(rng.standard_normal((batch, spec["dims"][0])))
    generic, fused = both_paths(critic, real, fake, kind, at)
    assert_same(generic, fused, 1e-10)


def test_every_weight_gets_a_gradient_and_reached_biases_match():
    """A critic with a tanh in the middle: the weights everywhere and the biases at or below
    the tanh are reached (and nonzero); the ones above it are None on both paths."""
    critic = make_critic([2, 6, 5, 4, 1], ["relu", "tanh", "leaky_relu", "identity"])
    rng = np.random.default_rng(3)
    real, fake = (tg.tensor(rng.standard_normal((8, 2))) for _ in range(2))
    generic, fused = both_paths(critic, real, fake, "two_sided", "interpolates")
    assert_same(generic, fused, 1e-10)
    names = [n for n, _ in critic.named_parameters()]
    reached = {n for n, g in zip(names, fused[1]) if g is not None}
    assert reached == {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "6.weight"}
    assert all(np.abs(g).max() > 1e-6 for g in fused[1] if g is not None)


@pytest.mark.parametrize("kind", ["two_sided", "zero_centred"])
@pytest.mark.parametrize("name", ["0.weight", "2.weight", "0.bias"])
def test_fused_gradient_matches_finite_differences(kind, name):
    """Regression test: the penalty's gradient really reaches the critic's parameters."""
    critic = make_critic([2, 8, 6, 1], ["tanh", "leaky_relu", "identity"], seed=5)
    param = dict(critic.named_parameters())[name]
    rng = np.random.default_rng(6)
    real, fake = (tg.tensor(rng.standard_normal((16, 2))) for _ in range(2))

    def penalty():
        return fused_gradient_penalty(critic, real, fake, kind=kind,
                                      generator=tg.Generator(1))

    g = tg.grad(penalty(), param).numpy()
    h, index = 1e-6, (1, 3) if param.ndim == 2 else (3,)
    old = param.data[index]
    param.data[index] = old + h
    up = penalty().item()
    param.data[index] = old - h
    down = penalty().item()
    param.data[index] = old
    assert abs(g[index]) > 1e-5
    assert g[index] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)


def test_backward_accumulates_like_the_generic_path():
    """``(λ·P).backward()`` fills ``.grad`` as the generic path does; unreached biases stay
    None."""
    grads = []
    for fn in (gan.gradient_penalty, fused_gradient_penalty):
        critic = make_critic([3, 7, 1], ["relu", "identity"], seed=2)
        real = tg.tensor(np.random.default_rng(4).standard_normal((5, 3)))
        (10.0 * fn(critic, real, kind="zero_centred")).backward()
        grads.append([None if p.grad is None else p.grad.numpy() for p in critic.parameters()])
    for a, b in zip(*grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    assert grads[1][1] is None and grads[1][3] is None  # ReLU critic: biases not reached


def test_float32_is_close_to_float64():
    spec = dict(dims=[2, 32, 32, 1], acts=["relu", "tanh", "identity"], seed=9)
    rng = np.random.default_rng(10)
    x64 = rng.standard_normal((32, 2))
    results = []
    for dtype in (np.float64, np.float32):
        critic = make_critic(**spec, dtype=dtype)
        p = fused_gradient_penalty(critic, tg.tensor(x64.astype(dtype)), kind="zero_centred")
        assert p.dtype == dtype
        grads = tg.grad(p, critic.parameters(), allow_unused=True)
        assert all(g is None or g.dtype == dtype for g in grads)
        results.append((p.item(), [g for g in grads if g is not None]))
    (p64, g64), (p32, g32) = results
    assert p32 == pytest.approx(p64, rel=1e-5)
    for a, b in zip(g64, g32):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-5)


def test_mixed_dtypes_promote_like_the_generic_path():
    """float32 weights with float64 samples: computed in float64, gradients in float32."""
    critic = make_critic([2, 5, 1], ["tanh", "identity"], dtype=np.float32)
    real = tg.tensor(np.random.default_rng(12).standard_normal((4, 2)))
    generic, fused = both_paths(critic, real, None, "zero_centred", "real")
    assert_same(generic, fused, 1e-6)
    assert all(g is None or g.dtype == np.float32 for g in fused[1])


def test_without_gradients_only_the_value():
    critic = make_critic([2, 4, 1], ["tanh", "identity"])
    real = tg.tensor(np.ones((3, 2)))
    with tg.no_grad():
        p = fused_gradient_penalty(critic, real, kind="zero_centred")
    assert not p.requires_grad
    assert p.item() == pytest.approx(
        gan.gradient_penalty(critic, real, kind="zero_centred").item(), rel=1e-12)
    critic.requires_grad_(False)
    assert not fused_gradient_penalty(critic, real, kind="zero_centred").requires_grad


def test_second_order_through_the_fused_node_is_refused():
    critic = make_critic([2, 4, 1], ["tanh", "identity"])
    real = tg.tensor(np.ones((3, 2)))
    w = critic[0].weight
    p = fused_gradient_penalty(critic, real, kind="zero_centred")
    with pytest.raises(tg.TinygenError, match="cannot be differentiated again.*gradient_penalty"):
        tg.grad(p, w, create_graph=True)


@pytest.mark.parametrize("critic, what", [
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2, 1)), "Conv2d"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)), "Sigmoid"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2)), "2 features"),
    (lambda: nn.Sequential(nn.ReLU(), nn.Linear(2, 1)), "does not directly follow"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh(), nn.Linear(3, 1)),
     "does not directly follow"),
    (lambda: (lambda x: x.sum(axis=1)), "function"),
    (lambda: nn.Sequential(), "no Linear"),
])
def test_unsupported_critics_name_the_problem(critic, what):
    real = tg.tensor(np.ones((3, 2)))
    with pytest.raises(tg.TinygenError, match=what) as info:
        fused_gradient_penalty(critic(), real, kind="zero_centred")
    assert "gan.gradient_penalty" in str(info.value)


def test_argument_errors():
    critic = make_critic([2, 3, 1], ["relu", "identity"])
    real = tg.tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match="kind must be"):
        fused_gradient_penalty(critic, real, real, kind="one_sided")
    with pytest.raises(ValueError, match="needs the fake samples"):
        fused_gradient_penalty(critic, real)
    with pytest.raises(ValueError, match="at must be"):
        fused_gradient_penalty(critic, real, real, at="middle")
    with pytest.raises(tg.ShapeError, match="takes 2 features"):
        fused_gradient_penalty(critic, tg.tensor(np.ones((3, 4))), kind="zero_centred")
    with pytest.raises(tg.TinygenError, match="shape"):
        fused_gradient_penalty(critic, tg.tensor(np.ones((3, 1, 2))), kind="zero_centred")
    hooked = make_critic([2, 3, 1], ["relu", "identity"])
    hooked[0].register_forward_hook(lambda m, i, o: o)
    with pytest.raises(tg.TinygenError, match="forward hooks"):
        fused_gradient_penalty(hooked, real, kind="zero_centred")


def test_kernel_checks_its_arrays():
    from tinygen.kernels.cpu import gp

    x, w = np.ones((2, 3)), [np.ones((3, 1))]
    with pytest.raises(ValueError, match="unknown activation 'sigmoid'"):
        gp.penalty_and_grads(x, w, [None], ["sigmoid"], [0.0])
    with pytest.raises(ValueError, match="does not take 3 inputs"):
        gp.penalty_and_grads(x, [np.ones((2, 1))], [None], ["identity"], [0.0])
    with pytest.raises(ValueError, match="one output"):
        gp.penalty_and_grads(x, [np.ones((3, 2))], [None], ["identity"], [0.0])
    with pytest.raises(ValueError, match="bias has 2 values"):
        gp.penalty_and_grads(x, w, [np.ones(2)], ["identity"], [0.0])
    with pytest.raises(TypeError, match="float32 or float64"):
        gp.penalty_and_grads(x.astype(np.int64), w, [None], ["identity"], [0.0])
    p, dws, dbs = gp.penalty_and_grads(x, w, [np.ones(1)], ["identity"], [0.0],
                                       kind="zero_centred")
    assert p == pytest.approx(3.0) and dbs[0].tolist() == [0.0]  # |∇D|² = |w|² = 3
    np.testing.assert_allclose(dws[0], np.full((3, 1), 2.0))  # ∂|w|²/∂w = 2w


def test_mlp_layers_reads_nested_sequentials():
    inner = nn.Sequential(nn.Linear(4, 3), nn.LeakyReLU(0.1))
    critic = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), inner, nn.Linear(3, 1, bias=False))
    assert [(lin.out_features, act, slope) for lin, act, slope in mlp_layers(critic)] == [
        (4, "tanh", 0.0), (3, "leaky_relu", 0.1), (1, "identity", 0.0)]


def test_fused_equals_generic_on_the_device(device):
    """On CUDA (when a GPU is there) the CUDA kernels against the generic path on the GPU."""
    critic = make_critic([2, 20, 17, 1], ["tanh", "leaky_relu", "identity"], device=device)
    rng = np.random.default_rng(11)
    real, fake = (tg.tensor(rng.standard_normal((19, 2)), device=device) for _ in range(2))
    for kind in ("two_sided", "zero_centred"):
        generic, fused = both_paths(critic, real, fake, kind, "interpolates")
        assert_same(generic, fused, 1e-10)


def test_benchmark_runs_on_tiny_sizes():
    bench = load_benchmark("gp")
    r = bench.run(repeats=1, warmup=0, batch=4, width=8, threads=1)
    assert r["grads_match"] is True, r["grad_error"]
    assert r["fused_ms"] > 0 and r["generic_ms"] > 0 and r["speedup"] > 0
    assert r["goal"] == 1.15 and isinstance(r["goal_met"], bool)
    assert r["floor_ratio"] == pytest.approx(r["fused_ms"] / r["fused_floor_ms"])
    assert r["goal_met"] == (r["floor_ratio"] <= 1.15)
    assert r["fused_products"] == 7 and r["generic_products"] == 8 and r["gemm_ms"] > 0
    assert r["best_speedup"] > 0
    assert "fused" in bench.report(r)
