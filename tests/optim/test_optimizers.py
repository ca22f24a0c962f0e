"""Optimizers step for step against a NumPy re-implementation of the PyTorch formulas and,
when torch is installed, against torch.optim itself; plus dtype, devices, state dicts,
convergence and argument errors."""

import json

import numpy as np
import pytest

import tinygen as tg
from tinygen import optim

# (name, options): options use PyTorch's argument names, so the same dict builds both.
CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.02)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.05)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.01)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.7, 0.95), weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in options.items())}" for name, options in CONFIGS]
SHAPES = [(3,), (2, 3), ()]


def reference_step(name: str, o: dict, theta, g, s: dict):
    """One update of parameter ``theta`` (a NumPy array, returned new) in textbook form."""
    lr, wd = o["lr"], o.get("weight_decay", 0.01 if name == "AdamW" else 0.0)
    s["t"] = t = s.get("t", 0) + 1
    if name == "AdamW":
        theta = theta * (1 - lr * wd)
    elif wd:
        g = g + wd * theta
    if name == "SGD":
        mu, tau = o.get("momentum", 0.0), o.get("dampening", 0.0)
        if mu:
            s["b"] = g.copy() if t == 1 else mu * s["b"] + (1 - tau) * g
            g = g + mu * s["b"] if o.get("nesterov") else s["b"]
        return theta - lr * g
    if name in ("Adam", "AdamW"):
        b1, b2 = o.get("betas", (0.9, 0.999))
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
        v = s["v"]
        if o.get("amsgrad"):
            s["vmax"] = v = np.maximum(s.get("vmax", 0.0), s["v"])
        m_hat, v_hat = s["m"] / (1 - b1**t), v / (1 - b2**t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + o.get("eps", 1e-8))
    if name == "Adamax":
        b1, b2 = o.get("betas", (0.9, 0.999))
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g) + o.get("eps", 1e-8))
        return theta - lr / (1 - b1**t) * s["m"] / s["u"]
    if name == "RMSprop":
        a, eps = o.get("alpha", 0.99), o.get("eps", 1e-8)
        s["v"] = a * s.get("v", 0.0) + (1 - a) * g**2
        if o.get("centered"):
            s["gbar"] = a * s.get("gbar", 0.0) + (1 - a) * g
            d = np.sqrt(s["v"] - s["gbar"] ** 2) + eps
        else:
            d = np.sqrt(s["v"]) + eps
        if o.get("momentum", 0.0):
            s["b"] = o["momentum"] * s.get("b", 0.0) + g / d
            return theta - lr * s["b"]
        return theta - lr * g / d
    if name == "Adagrad":
        s["sum"] = s.get("sum", o.get("initial_accumulator_value", 0.0)) + g**2
        clr = lr / (1 + (t - 1) * o.get("lr_decay", 0.0))
        return theta - clr * g / (np.sqrt(s["sum"]) + o.get("eps", 1e-10))
    raise AssertionError(name)


def quadratic(shapes, seed=0):
    """Initial values and a gradient function of f(θ) = Σ ½‖A θ − b‖² per parameter."""
    rng = np.random.default_rng(seed)
    thetas = [rng.normal(size=s) for s in shapes]
    problems = [(rng.normal(size=(max(1, int(np.prod(s))),) * 2), rng.normal(size=s))
                for s in shapes]

    def grad(i, theta):
        A, b = problems[i]
        r = A @ theta.reshape(-1) - b.reshape(-1)
        return (A.T @ r).reshape(theta.shape)
    return thetas, grad


def set_grads(params, grad):
    for i, p in enumerate(params):
        p.grad = tg.Tensor(grad(i, p.numpy()).astype(p.dtype))


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_matches_numpy_reference(name, options):
    thetas, grad = quadratic(SHAPES)
    params = [tg.tensor(t, requires_grad=True) for t in thetas]
    opt = getattr(optim, name)(params, **options)
    ref, states = [t.copy() for t in thetas], [{} for _ in thetas]
    for _ in range(6):
        set_grads(params, grad)
        opt.step()
        ref = [reference_step(name, options, r, grad(i, r), states[i]) for i, r in enumerate(ref)]
        for p, r in zip(params, ref):
            assert p.dtype == np.float64 and p.shape == r.shape
            np.testing.assert_allclose(p.numpy(), r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_matches_torch(name, options):
    torch = pytest.importorskip("torch")
    thetas, grad = quadratic(SHAPES, seed=1)
    params = [tg.tensor(t, requires_grad=True) for t in thetas]
    # two groups with different learning rates exercise per-group options too
    groups = [{"params": params[:2]}, {"params": params[2:], "lr": options["lr"] / 2}]
    opt = getattr(optim, name)(groups, **options)
    tparams = [torch.tensor(t, requires_grad=True) for t in thetas]
    tgroups = [{"params": tparams[:2]}, {"params": tparams[2:], "lr": options["lr"] / 2}]
    topt = getattr(torch.optim, name)(tgroups, foreach=False, **options)
    for _ in range(8):
        set_grads(params, grad)
        for i, tp in enumerate(tparams):
            tp.grad = torch.from_numpy(grad(i, tp.detach().numpy()))
        opt.step()
        topt.step()
        for p, tp in zip(params, tparams):
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_dtype_and_device_are_kept(name, options, device):
    thetas, grad = quadratic(SHAPES, seed=2)
    params = [tg.tensor(t, dtype="float32", device=device, requires_grad=True) for t in thetas]
    opt = getattr(optim, name)(params, **options)
    ref, states = [t.copy() for t in thetas], [{} for _ in thetas]
    for _ in range(4):
        set_grads(params, grad)
        for p in params:
            p.grad = p.grad.to(device)
        data_before = [p.data for p in params]
        opt.step()
        ref = [reference_step(name, options, r, grad(i, r), states[i]) for i, r in enumerate(ref)]
        for p, before in zip(params, data_before):
            assert p.data is before, "the update must be in place"
    for p, r in zip(params, ref):
        assert p.dtype == np.float32 and p.device == device
        np.testing.assert_allclose(p.numpy(), r, rtol=2e-4, atol=2e-5)
    for state in opt.state.values():
        for value in state.values():
            if not isinstance(value, int | float):
                assert value.dtype == np.float32 and tg.backend.device_of(value) == device


def test_params_without_grad_are_skipped_and_zero_grad_clears():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = tg.tensor([1.0, 1.0])
    opt.step()
    assert b.tolist() == [3.0] and b not in opt.state and opt.state[a]["step"] == 1
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_gradient_of_another_dtype_is_cast_and_a_wrong_shape_is_an_error():
    p = tg.tensor(np.ones(3), dtype="float32", requires_grad=True)
    opt = optim.SGD([p], lr=0.5, momentum=0.9)
    p.grad = tg.tensor(np.ones(3), dtype="float64")
    opt.step()
    assert p.dtype == np.float32 and opt.state[p]["momentum_buffer"].dtype == np.float32
    p.grad = tg.tensor(np.ones(2))
    with pytest.raises(tg.ShapeError, match=r"SGD.step: a parameter of shape \(3,\) has a "
                                            r"gradient of shape \(2,\)"):
        opt.step()


def test_step_with_closure_and_real_backward():
    w = tg.tensor([1.0, -2.0], dtype="float64", requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert float(loss) == 5.0 and w.tolist() == [0.5, -1.0]  # w − 0.25·2w


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_state_dict_round_trip_continues_bitwise(name, options):
    thetas, grad = quadratic(SHAPES, seed=3)
    params = [tg.tensor(t, requires_grad=True) for t in thetas]
    opt = getattr(optim, name)(params, **options)
    for _ in range(3):
        set_grads(params, grad)
        opt.step()
    saved = opt.state_dict()
    meta = json.loads(json.dumps(saved["json"]))           # the JSON part really is JSON
    arrays = {k: np.array(v) for k, v in saved["arrays"].items()}
    clones = [tg.tensor(p.numpy(), requires_grad=True) for p in params]
    fresh = getattr(optim, name)(clones, lr=123.0)          # options come from the state
    fresh.load_state_dict({"json": meta, "arrays": arrays})
    for _ in range(3):
        set_grads(params, grad)
        set_grads(clones, grad)
        opt.step()
        fresh.step()
    for p, c in zip(params, clones):
        assert np.array_equal(p.numpy(), c.numpy())
    # the saved arrays were copies: training on did not change them
    for key, value in saved["arrays"].items():
        np.testing.assert_array_equal(value, arrays[key])


def test_state_dict_format():
    p = tg.tensor(np.ones(3), requires_grad=True)
    q = tg.tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([{"params": [p]}, {"params": [q], "lr": 0.5}], amsgrad=True)
    p.grad = tg.tensor(np.ones(3))
    opt.step()
    sd = opt.state_dict()
    assert sd["json"]["optimizer"] == "Adam" and sd["json"]["state"] == {"0": {"step": 1}}
    assert [g["params"] for g in sd["json"]["param_groups"]] == [[0], [1]]
    assert sd["json"]["param_groups"][1]["lr"] == 0.5
    assert sd["json"]["param_groups"][0]["betas"] == [0.9, 0.999]
    assert sorted(sd["arrays"]) == ["0.exp_avg", "0.exp_avg_sq", "0.max_exp_avg_sq"]


def test_load_state_dict_rejects_mismatches():
    p = tg.tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = tg.tensor(np.ones(3))
    opt.step()
    good = opt.state_dict()

    def variant(**changes):
        sd = {"json": json.loads(json.dumps(good["json"])), "arrays": dict(good["arrays"])}
        for key, value in changes.items():
            if key == "arrays":
                sd["arrays"] = value
            else:
                sd["json"][key] = value
        return sd
    with pytest.raises(optim.OptimizerError, match="Adam.load_state_dict: the state is for 'SGD'"):
        optim.Adam([p]).load_state_dict(good)
    with pytest.raises(optim.OptimizerError, match=r"shape \(2,\).*shape \(3,\)"):
        opt.load_state_dict(variant(arrays={"0.momentum_buffer": np.zeros(2)}))
    with pytest.raises(optim.OptimizerError, match="dtype float32"):
        opt.load_state_dict(variant(arrays={"0.momentum_buffer": np.zeros(3, np.float32)}))
    with pytest.raises(optim.OptimizerError, match=r"parameter 0 has state \[\]"):
        opt.load_state_dict(variant(arrays={}, state={"0": {}}))
    with pytest.raises(optim.OptimizerError, match="unexpected array '5.momentum_buffer'"):
        opt.load_state_dict(variant(arrays={"5.momentum_buffer": np.zeros(3)}))
    with pytest.raises(optim.OptimizerError, match="groups of sizes"):
        opt.load_state_dict(variant(param_groups=[]))
    with pytest.raises(optim.OptimizerError, match="lr must be"):
        bad = variant()
        bad["json"]["param_groups"][0]["lr"] = -1
        opt.load_state_dict(bad)
    with pytest.raises(optim.OptimizerError, match="version"):
        opt.load_state_dict(variant(version=99))
    opt.load_state_dict(good)  # nothing above changed the optimizer
    assert opt.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize("name,options,steps", [
    ("SGD", dict(lr=0.1, momentum=0.9), 200), ("SGD", dict(lr=0.1, momentum=0.9,
                                                            nesterov=True), 200),
    ("Adam", dict(lr=0.05), 400), ("AdamW", dict(lr=0.05, weight_decay=0.0), 400),
    ("RMSprop", dict(lr=0.01), 400), ("Adamax", dict(lr=0.1), 400),
    ("Adagrad", dict(lr=0.5), 400),
])
def test_converges_on_least_squares(name, options, steps):
    rng = np.random.default_rng(0)
    X = tg.tensor(rng.normal(size=(40, 3)))
    w_true = np.array([1.5, -2.0, 0.5])
    y = X @ tg.tensor(w_true)
    w = tg.tensor(np.zeros(3), requires_grad=True)
    opt = getattr(optim, name)([w], **options)
    for _ in range(steps):
        opt.zero_grad()
        ((X @ w - y) ** 2).mean().backward()
        opt.step()
    np.testing.assert_allclose(w.numpy(), w_true, atol=2e-2)


def test_argument_errors_name_the_optimizer():
    p = tg.tensor(np.ones(2), requires_grad=True)
    cases = [
        (lambda: optim.SGD([p], lr=-0.1), "SGD: lr must be in"),
        (lambda: optim.SGD([p], momentum=-1), "SGD: momentum"),
        (lambda: optim.SGD([p], nesterov=True), "SGD: Nesterov momentum needs"),
        (lambda: optim.Adam([p], betas=(1.0, 0.999)), r"Adam: betas\[0\] must be in \[0.0, 1.0\)"),
        (lambda: optim.AdamW([p], betas=(0.9, -0.1)), r"AdamW: betas\[1\]"),
        (lambda: optim.Adamax([p], betas=(0.9,)), "Adamax: betas must be a pair"),
        (lambda: optim.Adam([p], eps=-1e-8), "Adam: eps"),
        (lambda: optim.RMSprop([p], alpha=1.5), "RMSprop: alpha"),
        (lambda: optim.Adagrad([p], lr_decay=-1), "Adagrad: lr_decay"),
        (lambda: optim.Adam([]), "Adam: got an empty parameter list"),
        (lambda: optim.SGD([{"params": []}]), "SGD: got an empty parameter list"),
        (lambda: optim.Adam([p * 2]), "Adam: parameter 0 .* not a leaf"),
        (lambda: optim.Adam([tg.tensor([1.0])]), "Adam: parameter 0 .* does not require grad"),
        (lambda: optim.Adam([np.ones(2)]), "Adam: parameter 0 is a ndarray"),
        (lambda: optim.SGD([p, p]), "SGD: a parameter appears more than once"),
        (lambda: optim.SGD([{"params": [p], "learning_rate": 1}]), r"unknown option\(s\)"),
        (lambda: optim.Adam([p], lr="fast"), "Adam: lr must be a number"),
    ]
    for make, message in cases:
        with pytest.raises(optim.OptimizerError, match=message) as info:
            make()
        assert isinstance(info.value, ValueError) and isinstance(info.value, tg.TinygenError)


def test_a_single_tensor_and_a_module_are_accepted():
    p = tg.tensor(np.ones(2), requires_grad=True)
    assert optim.SGD(p).param_groups[0]["params"] == [p]

    class Model:
        def parameters(self):
            return iter([p])
    assert optim.SGD(Model()).param_groups[0]["params"][0] is p
