"""Gradient clipping by the global L2 norm of all gradients."""

from __future__ import annotations

import math

from ..autograd import Tensor
from .optimizer import OptimizerError, params_of


def clip_grad_norm(params, max_norm: float, eps: float = 1e-6) -> float:
    """Scale every gradient by min(1, max_norm / (‖g‖ + eps)), where ‖g‖ is the L2 norm of all
    gradients together (as if concatenated), and return ‖g‖ (before clipping).

    ``params`` is a Tensor, an iterable of Tensors or a module; those whose ``.grad`` is None
    are skipped. The clipped gradients are new tensors assigned to ``.grad`` (one gradient
    tensor may be shared by several parameters, so it is never changed in place); dtypes stay.
    """
    if not max_norm >= 0:
        raise OptimizerError(f"clip_grad_norm: max_norm must be >= 0, got {max_norm}")
    params = params_of(params)
    params = [params] if isinstance(params, Tensor) else list(params)
    with_grad = [p for p in params if p.grad is not None]
    norms = [float(p.xp.linalg.norm(p.grad.data.ravel())) for p in with_grad]
    total = math.sqrt(sum(n * n for n in norms))
    scale = max_norm / (total + eps)
    if scale < 1:
        for p in with_grad:
            p.grad = Tensor(p.grad.data * scale)
    return total
