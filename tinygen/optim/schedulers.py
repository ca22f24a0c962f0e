"""Learning-rate schedules: StepLR, ExponentialLR, CosineAnnealingLR and LinearWarmup.

Each schedule is a closed form ``lr_at(t)`` of its step counter t (``last_epoch``) and the
groups' base learning rates (their ``initial_lr``, which the first scheduler records). Creating
a scheduler sets t = 0 and writes ``lr_at(0)`` into the optimizer; each :meth:`step` adds one
to t and writes ``lr_at(t)``. Call ``step()`` after ``optimizer.step()``, once per batch or
once per epoch, as you choose. ``state_dict()`` is plain JSON.
"""

from __future__ import annotations

import math
from typing import Any

from .optimizer import Optimizer, OptimizerError, check_range


class LRScheduler:
    """Base class: subclasses define :meth:`lr_at` and list their settings in ``_config``."""

    _config: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer):
        if not isinstance(getattr(optimizer, "param_groups", None), list):
            raise OptimizerError(f"{type(self).__name__}: expected an optimizer, "
                                 f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    def lr_at(self, t: int) -> list[float]:
        """The learning rate of every group at step ``t``."""
        raise NotImplementedError

    def _apply(self) -> None:
        self._last_lr = [float(lr) for lr in self.lr_at(self.last_epoch)]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def step(self) -> None:
        """Advance the schedule by one and set the optimizer's learning rates."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        """The learning rates the last :meth:`step` (or the constructor) set, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """``{"scheduler": name, "last_epoch": t, "base_lrs": [...], <settings>}`` (JSON)."""
        return {"scheduler": type(self).__name__, "last_epoch": self.last_epoch,
                "base_lrs": list(self.base_lrs),
                **{name: getattr(self, name) for name in self._config}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        name = type(self).__name__
        expected = {"scheduler", "last_epoch", "base_lrs", *self._config}
        if not isinstance(state, dict) or set(state) != expected \
                or state["scheduler"] != name:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise OptimizerError(f"{name}.load_state_dict: expected keys {sorted(expected)} "
                                 f"of a {name}, got {got}")
        if len(state["base_lrs"]) != len(self.optimizer.param_groups):
            raise OptimizerError(f"{name}.load_state_dict: {len(state['base_lrs'])} base "
                                 f"lrs for {len(self.optimizer.param_groups)} groups")
        for key in self._config:
            setattr(self, key, state[key])
        self.last_epoch = int(state["last_epoch"])
        self.base_lrs = [float(lr) for lr in state["base_lrs"]]
        self._apply()


class StepLR(LRScheduler):
    """lr_t = base · γ^⌊t / step_size⌋ (decay by γ every ``step_size`` steps)."""

    _config = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if not isinstance(step_size, int) or step_size < 1:
            raise OptimizerError(f"StepLR: step_size must be an int >= 1, got {step_size!r}")
        self.step_size = step_size
        self.gamma = check_range("StepLR", "gamma", gamma, 0.0)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> list[float]:
        return [base * self.gamma ** (t // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr_t = base · γ^t."""

    _config = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.gamma = check_range("ExponentialLR", "gamma", gamma, 0.0)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> list[float]:
        return [base * self.gamma ** t for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr_t = η_min + (base − η_min)·(1 + cos(π·t / T_max))/2: from base down to η_min at
    t = T_max (and back up after, like PyTorch's closed form)."""

    _config = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        if not isinstance(T_max, int) or T_max < 1:
            raise OptimizerError(f"CosineAnnealingLR: T_max must be an int >= 1, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = check_range("CosineAnnealingLR", "eta_min", eta_min, 0.0)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> list[float]:
        c = (1 + math.cos(math.pi * t / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_lrs]


class LinearWarmup(LRScheduler):
    """Linear warm-up for ``warmup_steps`` steps, then another schedule (or a constant).

    lr_t = base · (f + (1 − f)·t / warmup_steps) for t < warmup_steps (f = ``start_factor``),
    then ``after.lr_at(t − warmup_steps)``, or base if ``after`` is None.
    """

    _config = ("warmup_steps", "start_factor")

    def __init__(self, optimizer: Optimizer, warmup_steps: int,
                 after: LRScheduler | None = None, start_factor: float = 0.0):
        if not isinstance(warmup_steps, int) or warmup_steps < 1:
            raise OptimizerError(f"LinearWarmup: warmup_steps must be an int >= 1, "
                                 f"got {warmup_steps!r}")
        if after is not None and after.optimizer is not optimizer:
            raise OptimizerError("LinearWarmup: 'after' must schedule the same optimizer")
        self.warmup_steps = warmup_steps
        self.start_factor = check_range("LinearWarmup", "start_factor", start_factor, 0.0, 1.0)
        self.after = after
        super().__init__(optimizer)

    def lr_at(self, t: int) -> list[float]:
        if t < self.warmup_steps:
            f = self.start_factor + (1 - self.start_factor) * t / self.warmup_steps
            return [base * f for base in self.base_lrs]
        if self.after is not None:
            return self.after.lr_at(t - self.warmup_steps)
        return list(self.base_lrs)

    def _apply(self) -> None:
        if self.after is not None:  # keep the wrapped schedule's own counter in step
            self.after.last_epoch = max(0, self.last_epoch - self.warmup_steps)
            self.after._last_lr = self.after.lr_at(self.after.last_epoch)
        super()._apply()

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["after"] = None if self.after is None else self.after.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        state = dict(state)
        after = state.pop("after", None)
        if (after is None) != (self.after is None):
            raise OptimizerError("LinearWarmup.load_state_dict: the state and this scheduler "
                                 "disagree on whether a schedule follows the warm-up")
        if self.after is not None:
            self.after.load_state_dict(after)
        super().load_state_dict(state)
