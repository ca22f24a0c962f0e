"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from .optimizer import Optimizer, OptimizerError, check_range


class SGD(Optimizer):
    """SGD as in ``torch.optim.SGD``. With g = ∇θ + λθ (weight decay λ):

    * no momentum: θ ← θ − lr·g;
    * momentum μ: b ← g on the first step, then b ← μ·b + (1 − dampening)·g, and
      θ ← θ − lr·b, or with Nesterov θ ← θ − lr·(g + μ·b).
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check(group)
        for name in ("momentum", "dampening", "weight_decay"):
            group[name] = check_range("SGD", name, group[name], 0.0)
        group["nesterov"] = bool(group["nesterov"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise OptimizerError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        return group

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _update(self, p: Tensor, grad, state: dict[str, Any], group: dict[str, Any]) -> None:
        momentum = group["momentum"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        if momentum != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = p.xp.array(grad, copy=True)  # an array even if 0-d
            else:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            buf = state["momentum_buffer"]
            grad = grad + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * grad
