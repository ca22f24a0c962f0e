"""The :class:`Optimizer` base class: parameter groups, ``zero_grad``, ``step``, state dicts.

An optimizer holds *parameter groups*: each group is a dict with a ``"params"`` list and its
own options (``lr``, ``weight_decay``, ...); options a group does not give come from the
optimizer's defaults. ``step()`` visits every parameter whose ``.grad`` is not None and calls
the subclass's :meth:`Optimizer._update`, which changes ``p.data`` **in place** with the
parameter's own array module (``p.xp``: NumPy or CuPy) and keeps its dtype. Per-parameter state
(moment estimates, step counts) lives in ``self.state[p]``, a dict of arrays and numbers.

State dict format (the same for every optimizer, made to be saved as safetensors + JSON)::

    {"json": {"format": "tinygen.optim", "version": 1, "optimizer": "Adam",
              "param_groups": [{"lr": 0.001, "betas": [0.9, 0.999], ..., "params": [0, 1]}],
              "state": {"0": {"step": 3}, "1": {"step": 3}}},
     "arrays": {"0.exp_avg": array, "0.exp_avg_sq": array, "1.exp_avg": array, ...}}

Parameters are numbered 0, 1, 2, ... in the order of the groups and of their ``"params"``
lists (so a state dict loads into a new optimizer built the same way). ``json`` holds only
JSON values; ``arrays`` maps ``"<index>.<name>"`` to copies of the state arrays (on the
parameters' device; :mod:`tinygen.checkpoint` moves them to the CPU).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from .. import backend
from ..autograd import Tensor, enable_grad
from ..errors import ShapeError, TinygenError

FORMAT, VERSION = "tinygen.optim", 1


class OptimizerError(TinygenError, ValueError):
    """A bad optimizer argument or a state dict that does not fit (a ValueError too)."""


def check_range(who: str, name: str, value, low: float, high: float = math.inf,
                high_open: bool = False) -> float:
    """``value`` as a float after checking ``low <= value <= high`` (``< high`` if open)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise OptimizerError(f"{who}: {name} must be a number, got {value!r}") from None
    if not (low <= value and (value < high if high_open else value <= high)):
        bracket = ")" if high_open else "]"
        raise OptimizerError(f"{who}: {name} must be in [{low}, {high}{bracket}, got {value}")
    return value


def as_param_list(who: str, params) -> list[Tensor]:
    """A list of leaf Tensors that require grad (one Tensor counts as a list of one)."""
    params = [params] if isinstance(params, Tensor) else list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise OptimizerError(f"{who}: parameter {i} is a {type(p).__name__}, "
                                 "expected a Tensor")
        if not p.requires_grad:
            raise OptimizerError(f"{who}: parameter {i} (shape {p.shape}) does not require "
                                 "grad; create it with requires_grad=True")
        if not p.is_leaf:
            raise OptimizerError(f"{who}: parameter {i} (shape {p.shape}) is not a leaf tensor "
                                 f"(it was computed by '{p._node.op}'); optimize the tensors "
                                 "you created, not results of ops")
    return params


class Optimizer:
    """Base class. Subclasses set their defaults, check options in :meth:`_check`, list their
    per-parameter state in :meth:`_state_names` and do one update in :meth:`_update`."""

    def __init__(self, params, defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        params = params_of(params)
        groups = [params] if isinstance(params, Tensor) else list(params)
        if not groups:
            raise OptimizerError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group: ``{"params": [...], "lr": ...}``; missing options take the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise OptimizerError(f"{self._name}: a parameter group must be a dict with a "
                                 f"'params' entry, got {type(group).__name__}")
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise OptimizerError(f"{self._name}: unknown option(s) {sorted(unknown)}; "
                                 f"known: {sorted(self.defaults)}")
        params = as_param_list(self._name, group["params"])
        if not params:
            raise OptimizerError(f"{self._name}: got an empty parameter list")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len(seen | {id(p) for p in params}) != len(seen) + len(params):
            raise OptimizerError(f"{self._name}: a parameter appears more than once")
        options = self._check({**self.defaults, **group})
        self.param_groups.append({**options, "params": params})

    def _check(self, group: dict[str, Any]) -> dict[str, Any]:
        """Validate a group's options and return them normalised (Python floats, tuples)."""
        group["lr"] = check_range(self._name, "lr", group["lr"], 0.0)
        if "initial_lr" in group:
            group["initial_lr"] = float(group["initial_lr"])
        return group

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        """Names in ``self.state[p]`` once ``p`` has been updated (for checking state dicts)."""
        return ()

    def _update(self, p: Tensor, grad, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Change ``p.data`` in place given the gradient array ``grad``."""
        raise NotImplementedError

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``p.grad = None``; of the row-sparse parts of
        ``Embedding(sparse=True)`` lookups, those that have a gradient: a lookup made before
        ``zero_grad`` whose backward comes after it still counts, as in :func:`tinygen.fit`)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None
                if getattr(p, "row_parts", None):
                    p.row_parts[:] = [(r, leaf) for r, leaf in p.row_parts if leaf.grad is None]

    def _update_rows(self, p: Tensor, rows, grad, state: dict[str, Any],
                     group: dict[str, Any]) -> None:
        """Apply a row-sparse gradient (``grad`` at rows ``rows``). This default makes it
        dense (zeros elsewhere) and calls :meth:`_update`; Adam overrides it to touch only
        those rows."""
        dense = p.xp.zeros_like(p.data)
        dense[rows] = grad
        self._update(p, dense, state, group)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; returns ``closure()`` if given (it is
        called first, with recording on, to recompute the loss and gradients)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    sparse = p.row_grad() if getattr(p, "row_parts", None) else None
                    if sparse is not None:
                        rows, grad = sparse
                        self._update_rows(p, rows, grad.astype(p.data.dtype, copy=False),
                                          self.state.setdefault(p, {}), group)
                    if getattr(p, "row_parts", None):  # used up by this step; a lookup
                        p.row_parts.clear()  # still without a backward never gets one now
                    continue
                grad = p.grad.data
                if grad.shape != p.data.shape:
                    raise ShapeError(f"{self._name}.step: a parameter of shape {p.shape} has a "
                                     f"gradient of shape {tuple(grad.shape)}")
                if grad.dtype != p.data.dtype:  # keep the parameter's dtype everywhere
                    grad = grad.astype(p.data.dtype)
                self._update(p, grad, self.state.setdefault(p, {}), group)
        return loss

    # -- state dicts ----------------------------------------------------------------------

    def _flat_params(self) -> list[Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict[str, Any]:
        """``{"json": ..., "arrays": ...}`` as described in the module docstring (copies)."""
        groups, state, arrays, index = [], {}, {}, 0
        for group in self.param_groups:
            options = {k: list(v) if isinstance(v, tuple) else v
                       for k, v in group.items() if k != "params"}
            groups.append({**options, "params": list(range(index, index + len(group["params"])))})
            for p in group["params"]:
                for name, value in self.state.get(p, {}).items():
                    if isinstance(value, int | float):
                        state.setdefault(str(index), {})[name] = value
                    else:
                        arrays[f"{index}.{name}"] = value.copy()
                index += 1
        return {"json": {"format": FORMAT, "version": VERSION, "optimizer": self._name,
                         "param_groups": groups, "state": state},
                "arrays": arrays}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state from :meth:`state_dict` output. Everything is checked
        before anything changes: kind of optimizer, group sizes, names, shapes and dtypes."""
        who = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"json", "arrays"}:
            raise OptimizerError(f"{who}: expected a dict with keys 'json' and 'arrays'")
        meta, arrays = state_dict["json"], state_dict["arrays"]
        if not isinstance(meta, dict) or meta.get("format") != FORMAT \
                or meta.get("version") != VERSION:
            raise OptimizerError(f"{who}: not a {FORMAT} state of version {VERSION}")
        if meta.get("optimizer") != self._name:
            raise OptimizerError(f"{who}: the state is for {meta.get('optimizer')!r}")
        saved_groups = meta.get("param_groups")
        if not isinstance(saved_groups, list) or len(saved_groups) != len(self.param_groups) \
                or any(not isinstance(s, dict) or len(s.get("params", ())) != len(g["params"])
                       for s, g in zip(saved_groups, self.param_groups)):
            raise OptimizerError(f"{who}: the state has groups of sizes "
                                 f"{[len(s.get('params', ())) for s in saved_groups or []]}, "
                                 "this optimizer "
                                 f"{[len(g['params']) for g in self.param_groups]}")
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            options = {k: v for k, v in saved.items() if k != "params"}
            unknown = set(options) - set(self.defaults) - {"initial_lr"}
            if unknown:
                raise OptimizerError(f"{who}: unknown option(s) {sorted(unknown)}")
            new_groups.append({**self._check({**self.defaults, **options}),
                               "params": group["params"]})
        params = self._flat_params()
        new_state: dict[int, dict[str, Any]] = {}
        scalars = meta.get("state", {})
        for key, values in scalars.items():
            if not key.isdigit() or int(key) >= len(params) or not isinstance(values, dict) \
                    or not all(isinstance(v, int | float) for v in values.values()):
                raise OptimizerError(f"{who}: unexpected state entry {key!r}: {values!r}")
            new_state[int(key)] = dict(values)
        for key, array in arrays.items():
            index, _, name = key.partition(".")
            if not index.isdigit() or int(index) >= len(params) or not name:
                raise OptimizerError(f"{who}: unexpected array {key!r}")
            p = params[int(index)]
            array = array.data if isinstance(array, Tensor) else array
            if tuple(array.shape) != p.shape or array.dtype != p.dtype:
                raise OptimizerError(f"{who}: array {key!r} has shape {tuple(array.shape)} and "
                                     f"dtype {array.dtype}; the parameter has shape {p.shape} "
                                     f"and dtype {p.dtype}")
            array = p.xp.array(
                backend.to_device(array, p.device), copy=True)
            new_state.setdefault(int(index), {})[name] = array
        index = 0
        for group in new_groups:
            expected = set(self._state_names(group))
            for _ in group["params"]:
                got = set(new_state.get(index, expected))
                if got != expected:
                    raise OptimizerError(f"{who}: parameter {index} has state "
                                         f"{sorted(got)}, expected {sorted(expected)}")
                index += 1
        for group, new in zip(self.param_groups, new_groups):
            group.clear()
            group.update(new)
        self.state = {params[i]: s for i, s in new_state.items()}

    def __repr__(self) -> str:
        lines = [f"{self._name}("]
        for i, group in enumerate(self.param_groups):
            options = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} tensors, {options}")
        return "\n".join(lines + [")"])


def params_of(params_or_module) -> Iterable[Tensor]:
    """The parameters of a module (anything with ``parameters()``) or the iterable itself."""
    if hasattr(params_or_module, "parameters"):
        return params_or_module.parameters()
    return params_or_module
