"""The fused series terms (:mod:`tinygen.models.flows.logdet_fused`, CPU kernel
:mod:`tinygen.kernels.cpu.logdet`) against the composed twin (the JVP chain through
``tinygen.grad``): the same terms and the same gradients for x, every weight and bias to 1e-10
in float64, over drawn blocks, probes, n and both kernel strategies; float32; the errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.models.flows import logdet as L
from tinygen.models.flows.logdet_fused import fused_series_terms

from .helpers import make_block, samples
from tests.benchmark_script import load_benchmark

ACTS = ["elu", "lipswish", "tanh"]


@st.composite
def problems(draw):
    d = draw(st.integers(1, 4))
    hidden = [draw(st.integers(1, 7)) for _ in range(draw(st.integers(0, 3)))]
    return dict(dims=[d, *hidden, d], acts=[draw(st.sampled_from(ACTS)) for _ in hidden],
                bias=draw(st.booleans()), c=draw(st.sampled_from([0.5, 0.9])),
                seed=draw(st.integers(0, 2**16)), batch=draw(st.integers(1, 5)),
                m=draw(st.integers(1, 3)), n=draw(st.integers(1, 6)),
                mode=draw(st.sampled_from(["chain", "jacobian", "auto"])),
                kind=draw(st.sampled_from(["gaussian", "rademacher"])))


def both_paths(p, device="cpu"):
    """(terms, gradients) of the twin and the kernel for one upstream gradient; gradients of
    [x, Ŵ_1 … Ŵ_L, b_1 … b_L] (None where not reached)."""
    block = make_block(p["dims"], p["acts"], c=p["c"], seed=p["seed"], bias=p["bias"],
                       device=device)
    d = p["dims"][0]
    x = tg.tensor(samples(p["batch"], d, seed=p["seed"] + 1).numpy(), requires_grad=True,
                  device=device)
    v = L.probes(p["batch"], p["m"], d, p["kind"], tg.Generator(p["seed"]), dtype=np.float64)
    v = v.to(device)
    tbar = tg.tensor(np.random.default_rng(p["seed"]).standard_normal(
        (p["batch"], p["m"], p["n"])), device=device)
    out = []
    for fused in (False, True):
        ws = block.weights()
        terms = (fused_series_terms(block, x, v, p["n"], mode=p["mode"], weights=ws) if fused
                 else L.series_terms(block.jvp(x, ws), v, p["n"]))
        params = [x, *ws, *(lin.bias for lin in block.linears if lin.bias is not None)]
        grads = tg.grad(terms, params, grad_outputs=tbar, allow_unused=True)
        out.append((terms.numpy(), [None if g is None else g.numpy() for g in grads]))
    return out


def assert_same(generic, fused, tol):
    (tg_, gg), (tf, gf) = generic, fused
    np.testing.assert_allclose(tf, tg_, rtol=tol, atol=tol * max(1.0, np.abs(tg_).max()))
    for i, (a, b) in enumerate(zip(gg, gf)):
        if a is None:  # the last bias, or x and biases of a block without hidden layers
            assert b is None or not np.any(b), i
            continue
        assert b is not None and a.shape == b.shape, i
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol * max(1.0, np.abs(a).max()),
                                   err_msg=f"gradient {i}")


@given(p=problems())
def test_fused_equals_the_twin_float64(p):
    generic, fused = both_paths(p)
    assert_same(generic, fused, 1e-10)


@pytest.mark.parametrize("mode", ["chain", "jacobian"])
def test_every_weight_bias_and_x_get_a_gradient(mode):
    p = dict(dims=[3, 6, 5, 3], acts=["tanh", "lipswish"], bias=True, c=0.9, seed=3,
             batch=4, m=2, n=5, mode=mode, kind="rademacher")
    generic, fused = both_paths(p)
    assert_same(generic, fused, 1e-10)
    assert all(np.abs(g).max() > 1e-6 for g in fused[1][:-1])  # all but the last bias
    assert fused[1][-1] is None or not fused[1][-1].any()


def test_the_estimate_trains_like_the_twin():
    """A roulette estimate averaged over the batch, backward() into .grad: same gradients."""
    coef = L.roulette_coefficients(3, 2, "geometric", 0.5)
    grads = []
    for fused in (False, True):
        block = make_block([2, 8, 8, 2], "elu", seed=4)
        block.train()
        x = samples(6, 2)
        v = L.probes(6, 1, 2, generator=tg.Generator(5), dtype=np.float64)
        ws = block.weights()
        terms = (fused_series_terms(block, x, v, len(coef), weights=ws) if fused
                 else L.series_terms(block.jvp(x, ws), v, len(coef)))
        (-L.logdet_estimate(terms, coef).mean()).backward()
        grads.append([p.grad for p in block.parameters()])
    for a, b in zip(*grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("mode", ["chain", "jacobian"])
def test_kept_forward_pass_gives_the_same_gradient(mode):
    """series_terms(keep=True) then series_terms_grad(saved=...) (Jacobian mode: no
    recomputation) equals the plain calls bit for bit, even when other calls run in between
    (they must not overwrite the kept pass); chain mode keeps nothing."""
    from tinygen.kernels.cpu import logdet as K

    rng = np.random.default_rng(0)
    dims, acts = (2, 7, 5, 2), ["elu", "tanh"]
    args = [rng.standard_normal((4, 2)),
            [rng.standard_normal((a, b)) * 0.4 for a, b in zip(dims[:-1], dims[1:])],
            [rng.standard_normal(b) for b in dims[1:]], acts,
            rng.choice([-1.0, 1.0], (4, 3, 2)), 5]
    tbar = rng.standard_normal((4, 3, 5))
    terms, saved = K.series_terms(*args, mode=mode, keep=True)
    assert (saved is None) == (mode == "chain")
    other = [a * 1.5 if isinstance(a, np.ndarray) else a for a in args]  # clobbers workspace
    K.series_terms_grad(*other, tbar, mode=mode)
    got = K.series_terms_grad(*args, tbar, mode=mode, saved=saved)
    K.release(saved)
    np.testing.assert_array_equal(terms, K.series_terms(*args, mode=mode))
    want = K.series_terms_grad(*args, tbar, mode=mode)
    for g, w in zip([got[0], *got[1], *got[2]], [want[0], *want[1], *want[2]]):
        np.testing.assert_array_equal(g, w)


def test_float32_is_close_to_float64():
    results = []
    for dtype in (np.float64, np.float32):
        block = make_block([4, 16, 16, 4], ["lipswish", "elu"], seed=6, dtype=dtype)
        x = tg.tensor(samples(8, 4).numpy().astype(dtype), requires_grad=True)
        v = L.probes(8, 2, 4, generator=tg.Generator(2), dtype=dtype)
        terms = fused_series_terms(block, x, v, 6, mode="chain")
        assert terms.dtype == dtype
        g = tg.grad(terms.sum(), [x, block.linears[0].weight])
        assert all(t.dtype == dtype for t in g)
        results.append((terms.numpy(), [t.numpy() for t in g]))
    (t64, g64), (t32, g32) = results
    np.testing.assert_allclose(t32, t64, rtol=1e-4, atol=1e-5)
    for a, b in zip(g64, g32):
        np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-4)


def test_without_gradients_only_the_terms():
    block = make_block([2, 4, 2], "tanh")
    x, v = samples(3, 2), L.basis_probes(3, 2)
    with tg.no_grad():
        t = fused_series_terms(block, x, v, 3)
    assert not t.requires_grad
    np.testing.assert_allclose(t.numpy(), L.series_terms(block.jvp(x), v, 3).numpy(),
                               rtol=1e-12)


def test_second_order_through_the_fused_node_is_refused():
    block = make_block([2, 4, 2], "tanh")
    x = tg.tensor(samples(3, 2).numpy(), requires_grad=True)
    t = fused_series_terms(block, x, L.basis_probes(3, 2), 3)
    with pytest.raises(tg.TinygenError, match="cannot be differentiated again.*series_terms"):
        tg.grad(t.sum(), x, create_graph=True)


def test_argument_errors():
    block = make_block([2, 4, 2], "tanh")
    x, v = samples(3, 2), L.basis_probes(3, 2)
    with pytest.raises(tg.TinygenError, match="expected a ResidualMLP"):
        fused_series_terms(tg.nn.Linear(2, 2), x, v, 3)
    with pytest.raises(tg.ShapeError, match=r"x must be \(B, 2\)"):
        fused_series_terms(block, samples(3, 3), v, 3)
    with pytest.raises(tg.ShapeError, match=r"probes must be \(B, m, d\)"):
        fused_series_terms(block, x, L.basis_probes(2, 2), 3)
    with pytest.raises(ValueError, match="mode must be"):
        fused_series_terms(block, x, v, 3, mode="fast")


def test_kernel_checks_its_arrays():
    from tinygen.kernels.cpu import logdet as K

    x, v, w = np.ones((2, 3)), np.ones((2, 1, 3)), [np.eye(3)]
    with pytest.raises(TypeError, match="float32 or float64"):
        K.series_terms(x.astype(np.int64), w, [None], [], v, 2)
    with pytest.raises(ValueError, match="non-empty"):
        K.series_terms(np.ones((0, 3)), w, [None], [], np.ones((0, 1, 3)), 2)
    with pytest.raises(ValueError, match="one activation per hidden layer"):
        K.series_terms(x, w, [None], ["elu"], v, 2)
    with pytest.raises(ValueError, match="unknown activation 'relu'"):
        K.series_terms(x, [np.ones((3, 4)), np.ones((4, 3))], [None, None], ["relu"], v, 2)
    with pytest.raises(ValueError, match="does not take 3 inputs"):
        K.series_terms(x, [np.ones((2, 3))], [None], [], v, 2)
    with pytest.raises(ValueError, match="bias has 2 values"):
        K.series_terms(x, w, [np.ones(2)], [], v, 2)
    with pytest.raises(ValueError, match="maps 3 features to 4"):
        K.series_terms(x, [np.ones((3, 4))], [None], [], v, 2)
    with pytest.raises(ValueError, match="probes must be"):
        K.series_terms(x, w, [None], [], np.ones((2, 1, 2)), 2)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        K.series_terms(x, w, [None], [], v, 0)
    with pytest.raises(ValueError, match="upstream gradient must be"):
        K.series_terms_grad(x, w, [None], [], v, 2, np.ones((2, 1, 3)))
    # a linear block: J = Wᵀ = 2I, so vᵀJ^k v = 2^k |v|² = 3·2^k
    t = K.series_terms(x, [2 * np.eye(3)], [None], [], v, 3)
    np.testing.assert_allclose(t[0, 0], [6, 12, 24])


def test_fused_equals_the_twin_on_the_device(device):
    """On CUDA (when a GPU is there) the CUDA kernels against the twin on the GPU."""
    p = dict(dims=[3, 20, 17, 3], acts=["tanh", "lipswish"], bias=True, c=0.9, seed=7,
             batch=19, m=2, n=4, mode="chain", kind="rademacher")
    for mode in ("chain", "jacobian"):
        generic, fused = both_paths({**p, "mode": mode}, device=device)
        assert_same(generic, fused, 1e-10)


def test_benchmark_runs_on_tiny_sizes():
    bench = load_benchmark("logdet")
    r = bench.run(repeats=1, warmup=0, n=3, threads=1,
                  problems={"toy": dict(dims=(2, 8, 2), batch=4),
                            "image": dict(dims=(5, 6, 5), batch=3)})
    for name in ("toy", "image"):
        assert r[name]["agree"] is True, r[name]["error"]
        for step in ("forward", "gradient"):
            s = r[name][step]
            assert s["fused_ms"] > 0 and s["generic_ms"] > 0 and s["floor_ms"] > 0
    # Jacobian mode, n = 1: the forward pass and chain are kept, not repeated
    assert r["toy"]["gradient"]["products"] == 3 * 1 + 2 * 1 * 2 - 1 + 2
    assert r["image"]["gradient"]["products"] == 4 * 1 + 3 * 3 * 2 - 1 + 2  # chain, n = 3
    assert len(r["goals"]) == 4 and all(isinstance(g[3], bool) for g in r["goals"].values())
    assert "GEMM floor" in bench.report(r)
