"""Shared helpers for the nn tests: gradient checks with a module's parameters as inputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tinygen import nn
from tinygen.testing import check_grads


def check_module_grads(module: nn.Module, args: Sequence = (), order: int = 1,
                       output: Callable = lambda out: out, params: Sequence[str] | None = None,
                       kwargs: dict | None = None, **check) -> None:
    """check_grads of ``output(module(*args, **kwargs))`` in float64 with respect to the
    (floating) ``args`` and the module's parameters (all, or those named in ``params``), each
    set through :func:`nn.functional_call`."""
    module.to(dtype=np.float64)
    named = [(n, p) for n, p in module.named_parameters() if params is None or n in params]
    names, n_args = [n for n, _ in named], len(args)

    def fn(*ts):
        out = nn.functional_call(module, dict(zip(names, ts[n_args:])), *ts[:n_args],
                                 **(kwargs or {}))
        return output(out)

    check_grads(fn, list(args) + [p.data for _, p in named], order=order,
                name=type(module).__name__, **check)
