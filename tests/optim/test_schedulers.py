"""Learning-rate schedules: sequences against closed forms (and torch), state dicts, errors."""

import json
import math

import numpy as np
import pytest

import tinygen as tg
from tinygen import optim


def make_optimizer(lrs=(0.1, 0.02)):
    groups = [{"params": [tg.tensor(np.ones(2), requires_grad=True)], "lr": lr} for lr in lrs]
    return optim.SGD(groups, momentum=0.9)


def run(scheduler, n):
    """The lrs of every group at t = 0 … n − 1 (as set in the optimizer)."""
    out = []
    for _ in range(n):
        lrs = [g["lr"] for g in scheduler.optimizer.param_groups]
        assert lrs == scheduler.get_last_lr()
        out.append(lrs)
        scheduler.step()
    return np.array(out)


BASE = np.array([0.1, 0.02])
T = np.arange(25)[:, None]
CASES = [
    (lambda o: optim.StepLR(o, step_size=4, gamma=0.5), BASE * 0.5 ** (T // 4)),
    (lambda o: optim.ExponentialLR(o, gamma=0.9), BASE * 0.9**T),
    (lambda o: optim.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
     1e-3 + (BASE - 1e-3) * (1 + np.cos(np.pi * T / 10)) / 2),
    (lambda o: optim.LinearWarmup(o, warmup_steps=5),
     BASE * np.minimum(T / 5, 1.0)),
    (lambda o: optim.LinearWarmup(o, 5, start_factor=0.2),
     BASE * np.minimum(0.2 + 0.8 * T / 5, 1.0)),
    (lambda o: optim.LinearWarmup(o, 4, after=optim.CosineAnnealingLR(o, T_max=12)),
     np.where(T < 4, BASE * T / 4, BASE * (1 + np.cos(np.pi * (T - 4) / 12)) / 2)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_lr_sequences_follow_the_closed_forms(case):
    make, expected = CASES[case]
    np.testing.assert_allclose(run(make(make_optimizer()), len(T)), expected, rtol=1e-14,
                               atol=1e-17)


@pytest.mark.parametrize("ours,theirs", [
    (lambda o: optim.StepLR(o, 3, gamma=0.3), lambda o, s: s.StepLR(o, 3, gamma=0.3)),
    (lambda o: optim.ExponentialLR(o, 0.8), lambda o, s: s.ExponentialLR(o, 0.8)),
    (lambda o: optim.CosineAnnealingLR(o, 7, eta_min=0.001),
     lambda o, s: s.CosineAnnealingLR(o, 7, eta_min=0.001)),
])
def test_matches_torch_schedulers(ours, theirs):
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr}
                            for lr in BASE])
    sched = theirs(topt, torch.optim.lr_scheduler)
    expected = []
    for _ in range(15):
        expected.append(sched.get_last_lr())
        topt.step()
        sched.step()
    np.testing.assert_allclose(run(ours(make_optimizer()), 15), expected, rtol=1e-12)


def test_the_optimizer_uses_the_scheduled_lr():
    p = tg.tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = tg.tensor(np.ones(1))
        opt.step()
        sched.step()
    assert p.tolist() == [-(1 + 0.5 + 0.25)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_state_dict_round_trip(case):
    make = CASES[case][0]
    sched = make(make_optimizer())
    for _ in range(7):
        sched.step()
    state = json.loads(json.dumps(sched.state_dict()))
    other = make(make_optimizer())
    other.load_state_dict(state)
    assert other.last_epoch == 7 and other.get_last_lr() == sched.get_last_lr()
    np.testing.assert_array_equal(run(other, 10), run(sched, 10))


def test_scheduler_keeps_the_base_lr_of_a_reloaded_optimizer():
    opt = make_optimizer()
    sched = optim.ExponentialLR(opt, gamma=0.5)
    sched.step()
    sched.step()
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    opt2 = make_optimizer(lrs=(9.0, 9.0))
    opt2.load_state_dict(saved_opt)
    sched2 = optim.ExponentialLR(opt2, gamma=0.5)  # built after loading: base = initial_lr
    assert sched2.base_lrs == [0.1, 0.02]
    sched2.load_state_dict(saved_sched)
    assert [g["lr"] for g in opt2.param_groups] == [0.1 * 0.25, 0.02 * 0.25]


def test_scheduler_errors():
    opt = make_optimizer()
    with pytest.raises(optim.OptimizerError, match="StepLR: step_size must be an int >= 1"):
        optim.StepLR(opt, 0)
    with pytest.raises(optim.OptimizerError, match="ExponentialLR: gamma"):
        optim.ExponentialLR(opt, -0.5)
    with pytest.raises(optim.OptimizerError, match="CosineAnnealingLR: T_max"):
        optim.CosineAnnealingLR(opt, 0)
    with pytest.raises(optim.OptimizerError, match="LinearWarmup: warmup_steps"):
        optim.LinearWarmup(opt, 0)
    with pytest.raises(optim.OptimizerError, match="same optimizer"):
        optim.LinearWarmup(opt, 3, after=optim.StepLR(make_optimizer(), 2))
    with pytest.raises(optim.OptimizerError, match="expected an optimizer"):
        optim.StepLR("sgd", 2)
    with pytest.raises(optim.OptimizerError, match="of a StepLR"):
        optim.StepLR(opt, 2).load_state_dict(optim.ExponentialLR(opt, 0.5).state_dict())
    assert math.isclose(optim.StepLR(opt, 2).get_last_lr()[0], 0.1)
