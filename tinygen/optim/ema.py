"""Exponential moving average (EMA) of weights, the "weight averaging" trick of the posts.

The shadow weights Θ start as a copy of the weights θ; after every optimizer step
:meth:`EMA.update` does Θ ← α·Θ + (1 − α)·θ, so after k updates
Θ_k = αᵏ·θ₀ + (1 − α)·Σᵢ₌₁ᵏ αᵏ⁻ⁱ·θᵢ. Evaluate with the averaged weights inside
``with ema.averaged(): ...`` (or :meth:`EMA.apply` … :meth:`EMA.restore`), which swaps them into
the parameters and puts the raw ones back, bit for bit.

State dict (safetensors + JSON friendly, like the optimizers')::

    {"json": {"format": "tinygen.ema", "version": 1, "alpha": 0.999, "num_updates": 10,
              "names": ["0", "1"]},
     "arrays": {"0": shadow array, "1": shadow array}}

Names are those of ``named_parameters()`` when a module is given, else "0", "1", ...

The shadow weights follow their parameters: after ``model.to("cuda")`` or
``model.to(dtype=...)`` the next call of any method moves them to the parameter's device and
dtype first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .. import backend
from ..autograd import Tensor
from ..errors import TinygenError
from .optimizer import OptimizerError, check_range, params_of

FORMAT, VERSION = "tinygen.ema", 1


class EMA:
    """Shadow weights Θ ← α·Θ + (1 − α)·θ of a module's parameters or a list of tensors."""

    def __init__(self, params_or_module, alpha: float = 0.9999):
        if hasattr(params_or_module, "named_parameters"):
            named = list(params_or_module.named_parameters())
        else:
            items = params_of(params_or_module)
            items = [items] if isinstance(items, Tensor) else list(items)
            named = [(str(i), p) for i, p in enumerate(items)]
        if not named:
            raise OptimizerError("EMA: got an empty parameter list")
        for name, p in named:
            if not isinstance(p, Tensor) or p.dtype.kind != "f":
                raise OptimizerError(f"EMA: parameter {name!r} must be a floating Tensor, got "
                                     f"{type(p).__name__}")
        self.alpha = check_range("EMA", "alpha", alpha, 0.0, 1.0)
        self.names = [name for name, _ in named]
        self.params = [p for _, p in named]
        self.shadow = [p.data.copy() for p in self.params]
        self.num_updates = 0
        self._backup: list | None = None

    def _follow(self) -> None:
        """Move each shadow array to its parameter's device and dtype (after ``Module.to``)."""
        for i, (s, p) in enumerate(zip(self.shadow, self.params)):
            if backend.device_of(s) != p.device or s.dtype != p.dtype:
                self.shadow[i] = p.xp.asarray(backend.to_device(s, p.device), dtype=p.dtype)

    def update(self) -> None:
        """Θ ← α·Θ + (1 − α)·θ for every parameter (call after each optimizer step)."""
        if self._backup is not None:
            raise TinygenError("EMA.update: the averaged weights are applied; restore() first")
        self._follow()
        a = self.alpha
        for s, p in zip(self.shadow, self.params):
            s *= a
            s += (1 - a) * p.data
        self.num_updates += 1

    def apply(self) -> None:
        """Copy the averaged weights into the parameters, keeping the raw ones aside."""
        if self._backup is not None:
            raise TinygenError("EMA.apply: the averaged weights are already applied")
        self._follow()
        self._backup = [p.data.copy() for p in self.params]
        for s, p in zip(self.shadow, self.params):
            p.data[...] = s

    def restore(self) -> None:
        """Put back the raw weights saved by :meth:`apply` (bitwise)."""
        if self._backup is None:
            raise TinygenError("EMA.restore: apply() was not called")
        for b, p in zip(self._backup, self.params):
            p.data[...] = backend.to_device(b, p.device)
        self._backup = None

    @contextlib.contextmanager
    def averaged(self) -> Iterator[None]:
        """``with ema.averaged():`` runs its body with the averaged weights."""
        self.apply()
        try:
            yield
        finally:
            self.restore()

    def state_dict(self) -> dict[str, Any]:
        """``{"json": ..., "arrays": ...}`` as in the module docstring (copies)."""
        self._follow()
        return {"json": {"format": FORMAT, "version": VERSION, "alpha": self.alpha,
                         "num_updates": self.num_updates, "names": list(self.names)},
                "arrays": {n: s.copy() for n, s in zip(self.names, self.shadow)}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore α, the update count and the shadow weights (names, shapes and dtypes must
        match; nothing changes if they do not)."""
        who = "EMA.load_state_dict"
        if self._backup is not None:
            raise TinygenError(f"{who}: the averaged weights are applied; restore() first")
        if not isinstance(state_dict, dict) or set(state_dict) != {"json", "arrays"}:
            raise OptimizerError(f"{who}: expected a dict with keys 'json' and 'arrays'")
        meta, arrays = state_dict["json"], state_dict["arrays"]
        if not isinstance(meta, dict) or meta.get("format") != FORMAT \
                or meta.get("version") != VERSION or not isinstance(meta.get("num_updates"), int):
            raise OptimizerError(f"{who}: not a {FORMAT} state of version {VERSION}")
        missing = sorted(set(self.names) - set(arrays))
        unexpected = sorted(set(arrays) - set(self.names))
        if missing or unexpected:
            raise OptimizerError(f"{who}: missing {missing}, unexpected {unexpected}")
        new = []
        for name, p in zip(self.names, self.params):
            a = arrays[name]
            a = a.data if isinstance(a, Tensor) else a
            if tuple(a.shape) != p.shape or a.dtype != p.dtype:
                raise OptimizerError(f"{who}: {name!r} has shape {tuple(a.shape)} and dtype "
                                     f"{a.dtype}; the parameter has shape {p.shape} and dtype "
                                     f"{p.dtype}")
            new.append(p.xp.array(backend.to_device(a, p.device), copy=True))
        alpha = check_range("EMA", "alpha", meta.get("alpha"), 0.0, 1.0)
        self.alpha, self.num_updates, self.shadow = alpha, meta["num_updates"], new
