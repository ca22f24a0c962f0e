"""RMSprop and Adagrad: step sizes scaled by a running (RMSprop) or total (Adagrad) sum of
squared gradients."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from .optimizer import Optimizer, check_range


class RMSprop(Optimizer):
    """RMSprop as in ``torch.optim.RMSprop``. With g = ∇θ + λθ: v ← αv + (1 − α)g²;
    centered: ḡ ← αḡ + (1 − α)g and d = √(v − ḡ²) + ε, else d = √v + ε; then
    θ ← θ − lr·g/d, or with momentum μ: b ← μb + g/d and θ ← θ − lr·b."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check(group)
        group["alpha"] = check_range("RMSprop", "alpha", group["alpha"], 0.0, 1.0)
        for name in ("eps", "weight_decay", "momentum"):
            group[name] = check_range("RMSprop", name, group[name], 0.0)
        group["centered"] = bool(group["centered"])
        return group

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return (("step", "square_avg") + (("momentum_buffer",) if group["momentum"] > 0 else ())
                + (("grad_avg",) if group["centered"] else ()))

    def _update(self, p: Tensor, grad, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp, alpha = p.xp, group["alpha"]
        if not state:
            state.update(step=0, square_avg=xp.zeros_like(p.data))
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * grad * grad
        if group["centered"]:
            gbar = state["grad_avg"]
            gbar += (1 - alpha) * (grad - gbar)
            denom = xp.sqrt(v - gbar * gbar) + group["eps"]
        else:
            denom = xp.sqrt(v) + group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += grad / denom
            p.data -= group["lr"] * buf
        else:
            p.data -= group["lr"] * grad / denom


class Adagrad(Optimizer):
    """Adagrad as in ``torch.optim.Adagrad``. At step t, with g = ∇θ + λθ: s ← s + g²
    (s starts at ``initial_accumulator_value``) and θ ← θ − lr/(1 + (t − 1)·lr_decay) · g/(√s + ε).
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps))

    def _check(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check(group)
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            group[name] = check_range("Adagrad", name, group[name], 0.0)
        return group

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "sum")

    def _update(self, p: Tensor, grad, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = p.xp
        if not state:
            state.update(step=0, sum=xp.full_like(p.data, group["initial_accumulator_value"]))
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += grad * grad
        p.data -= clr * grad / (xp.sqrt(s) + group["eps"])
