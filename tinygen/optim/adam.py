"""Adam (optionally AMSGrad), AdamW (decoupled weight decay) and Adamax."""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Tensor
from .optimizer import Optimizer, OptimizerError, check_range


def _check_adam_like(who: str, group: dict[str, Any]) -> None:
    betas = group["betas"]
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise OptimizerError(f"{who}: betas must be a pair (beta1, beta2), got {betas!r}")
    group["betas"] = tuple(check_range(who, f"betas[{i}]", b, 0.0, 1.0, high_open=True)
                           for i, b in enumerate(betas))
    group["eps"] = check_range(who, "eps", group["eps"], 0.0)
    group["weight_decay"] = check_range(who, "weight_decay", group["weight_decay"], 0.0)


class Adam(Optimizer):
    """Adam as in ``torch.optim.Adam``. At step t, with g = ∇θ + λθ (L2 weight decay λ):
    m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², and
    θ ← θ − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).
    With ``amsgrad=True`` the running maximum of v is used in place of v."""

    decoupled = False  # AdamW sets this: decay θ directly instead of adding λθ to g

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _check(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check(group)
        _check_adam_like(self._name, group)
        group["amsgrad"] = bool(group["amsgrad"])
        return group

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"]
                                                     else ())

    def _count_step(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> int:
        """Create the moments at the first step; count this step and return its number."""
        if not state:
            xp = p.xp
            state.update(step=0, exp_avg=xp.zeros_like(p.data), exp_avg_sq=xp.zeros_like(p.data))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        return state["step"]

    def _update(self, p: Tensor, grad, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = p.xp
        step = self._count_step(p, state, group)
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if wd != 0:
            if self.decoupled:
                p.data *= 1 - lr * wd
            else:
                grad = grad + wd * p.data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (grad - m)          # = β₁m + (1 − β₁)g, written as torch's lerp
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1 ** step)
        denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** step) + group["eps"]
        p.data -= step_size * m / denom

    def _update_rows(self, p: Tensor, rows, grad, state: dict[str, Any],
                     group: dict[str, Any]) -> None:
        """**Lazy Adam** for a row-sparse gradient (``Embedding(sparse=True)``): m, v and θ
        change at the rows ``rows`` only, with the step count t of the whole parameter in the
        bias corrections (as ``torch.optim.SparseAdam`` and TensorFlow's LazyAdam); rows a
        batch does not use keep their moments instead of decaying them. When every row is
        used at every step this is exactly :meth:`_update`. Weight decay, if any, acts on
        the used rows only; AMSGrad's running maximum likewise."""
        xp = p.xp
        step = self._count_step(p, state, group)
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        theta = p.data[rows]
        if wd != 0:
            if self.decoupled:
                theta *= 1 - lr * wd
            else:
                grad = grad + wd * theta
        m = state["exp_avg"][rows]
        v = state["exp_avg_sq"][rows]
        m += (1 - beta1) * (grad - m)
        v *= beta2
        v += (1 - beta2) * grad * grad
        state["exp_avg"][rows], state["exp_avg_sq"][rows] = m, v
        if group["amsgrad"]:
            v = xp.maximum(state["max_exp_avg_sq"][rows], v)
            state["max_exp_avg_sq"][rows] = v
        denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** step) + group["eps"]
        p.data[rows] = theta - lr / (1 - beta1 ** step) * m / denom


class AdamW(Adam):
    """AdamW as in ``torch.optim.AdamW``: Adam whose weight decay is decoupled from the
    gradient, θ ← θ·(1 − lr·λ) before the Adam step (default λ = 0.01)."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)


class Adamax(Optimizer):
    """Adamax as in ``torch.optim.Adamax`` (Adam with an infinity norm). With g = ∇θ + λθ:
    m ← β₁m + (1 − β₁)g, u ← max(β₂u, |g| + ε), θ ← θ − lr/(1 − β₁ᵗ) · m / u."""

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _check(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check(group)
        _check_adam_like(self._name, group)
        return group

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_inf")

    def _update(self, p: Tensor, grad, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = p.xp
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(p.data), exp_inf=xp.zeros_like(p.data))
        (beta1, beta2), wd = group["betas"], group["weight_decay"]
        state["step"] += 1
        if wd != 0:
            grad = grad + wd * p.data
        m, u = state["exp_avg"], state["exp_inf"]
        m += (1 - beta1) * (grad - m)
        u *= beta2
        xp.maximum(u, xp.abs(grad) + group["eps"], out=u)
        p.data -= group["lr"] / (1 - beta1 ** state["step"]) * m / u
