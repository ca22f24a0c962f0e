"""The gradient penalty of an MLP critic through a hand-derived kernel: one pass, no graph.

:func:`tinygen.models.gan.gradient_penalty` works for any critic: it differentiates the
critic with ``create_graph=True`` and lets the autograd differentiate that graph again.
For the MLP critics of the toy GANs (``nn.Sequential`` of ``Linear`` layers with ReLU,
LeakyReLU or Tanh between them and one output) :func:`fused_gradient_penalty` computes the
same number, and its gradient with respect to every weight and bias, in one call of
:mod:`tinygen.kernels.cpu.gp` (NumPy arrays) or :mod:`tinygen.kernels.cuda.gp` (CuPy
arrays); read the CPU kernel's docstring for the derivation (forward, input-gradient
backward, and reverse over both). The result is one graph node whose inputs are the critic's
parameters, so ``(wgan_d_loss(...) + 10 * fused_gradient_penalty(...)).backward()`` works as
with the generic path, and gives the same gradients (to rounding)::

    P = (1/B) Σ_b (‖∇ₓD(x̂_b)‖₂ − 1)²     kind="two_sided" (WGAN-GP)
    P = (1/B) Σ_b ‖∇ₓD(x̂_b)‖₂²           kind="zero_centred" (the energy view)

Limits: the gradient is a constant computed by the kernel, so the penalty can be
differentiated once (a request for a second order through it raises TinygenError; use the
generic path). Parameters the penalty does not depend on are not inputs of the node, exactly
as the generic path does not reach them: the biases of the Linear layers after the last
Tanh, whose ``grad(..., allow_unused=True)`` is None on both paths. That is every bias of a
ReLU or LeakyReLU critic, and the last layer's bias unless a Tanh follows it (a tanh head).
Forward hooks on the critic's modules would be skipped, so a critic with hooks is refused
too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import backend, nn
from . import gan
from ..autograd import Tensor, apply, is_grad_enabled
from ..errors import ShapeError, TinygenError
from ..random import Generator

__all__ = ["fused_gradient_penalty", "mlp_layers"]

_ACTIVATIONS = {nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.Tanh: "tanh"}
_GENERIC = "use tinygen.models.gan.gradient_penalty, which works for any critic"


def _unsupported(what: str) -> TinygenError:
    return TinygenError(f"fused_gradient_penalty: {what}. It handles nn.Sequential MLP critics "
                        f"(Linear layers, each optionally followed by ReLU, LeakyReLU or Tanh, "
                        f"ending in one output); {_GENERIC}")


def _flatten(module: nn.Module, name: str) -> list[tuple[str, nn.Module]]:
    if type(module) is nn.Sequential:
        if module._forward_hooks:
            raise _unsupported(f"{name} has forward hooks, which the kernel would skip")
        out = []
        for key, child in module._modules.items():
            if child is not None:
                out.extend(_flatten(child, f"{name}[{key}]" if key.isdigit()
                                    else f"{name}.{key}"))
        return out
    return [(name, module)]


def mlp_layers(critic: nn.Module) -> list[tuple[nn.Linear, str, float]]:
    """The critic as (Linear, activation after it, LeakyReLU slope) per layer, activation one
    of "identity", "relu", "leaky_relu", "tanh"; raises TinygenError naming the first thing
    the fused kernel cannot do (any other module, an activation not right after a Linear, a
    Linear subclass, forward hooks, more than one output)."""
    if not isinstance(critic, nn.Module) or type(critic) not in (nn.Sequential, nn.Linear):
        raise _unsupported(f"the critic is a {type(critic).__name__}, not an nn.Sequential")
    layers: list[list] = []
    for name, m in _flatten(critic, "critic"):
        if m._forward_hooks:
            raise _unsupported(f"{name} has forward hooks, which the kernel would skip")
        if type(m) is nn.Linear:
            layers.append([m, "identity", 0.0])
        elif type(m) in _ACTIVATIONS:
            if not layers or layers[-1][1] != "identity":
                raise _unsupported(f"{name} ({m._describe()}) does not directly follow a "
                                   "Linear layer")
            layers[-1][1] = _ACTIVATIONS[type(m)]
            layers[-1][2] = float(getattr(m, "negative_slope", 0.0))
        else:
            raise _unsupported(f"{name} is {m._describe()}, which the kernel does not know")
    if not layers:
        raise _unsupported("the critic has no Linear layer")
    out = layers[-1][0].out_features
    if out != 1:
        raise _unsupported(f"the critic's output has {out} features per sample, not one "
                           "(a scalar critic ends in Linear(..., 1))")
    return [(lin, act, slope) for lin, act, slope in layers]


def _vjp(grad_array) -> Callable:
    def vjp(g: Tensor, out: Tensor) -> Tensor:
        if is_grad_enabled():
            raise TinygenError(
                "fused_gradient_penalty: its gradient comes from a hand-derived kernel and "
                "cannot be differentiated again (this backward has create_graph=True, a "
                f"second-order request); {_GENERIC} through tinygen.grad to any order")
        return Tensor(g.data * grad_array)
    return vjp


def fused_gradient_penalty(critic: nn.Module, real, fake=None, kind: str = "two_sided",
                           at: str | None = None, generator: Generator | None = None) -> Tensor:
    """E[(‖∇ₓD(x̂)‖₂ − 1)²] (``"two_sided"``) or E‖∇ₓD(x̂)‖₂² (``"zero_centred"``) for an MLP
    critic, with its gradient for every weight from a hand-derived kernel (CPU: Numba +
    BLAS; CUDA: Numba CUDA). Arguments and the choice of x̂ (``at``: ``"interpolates"``,
    ``"real"`` or ``"fake"``; one ε ~ U[0, 1) per sample drawn from ``generator``) are those
    of :func:`tinygen.models.gan.gradient_penalty`, and with the same generator state both
    return the same value and gradients. Multiply by λ yourself.

    ``critic`` must be an ``nn.Sequential`` of ``nn.Linear`` layers (bias or not), each
    optionally followed by ``nn.ReLU``, ``nn.LeakyReLU`` or ``nn.Tanh``, with one output;
    samples are (B, d). Anything else raises TinygenError saying what is unsupported. The
    result can be differentiated once (``backward()``, ``tinygen.grad``), not twice.
    """
    layers = mlp_layers(critic)
    x = gan.penalty_points(real, fake, kind, at, generator, op="fused_gradient_penalty")
    first = layers[0][0]
    if x.ndim != 2:
        raise _unsupported(f"the samples have shape {x.shape}; the kernel takes (B, features) "
                           "rows (flatten them, or keep the generic path)")
    if x.shape[1] != first.in_features:
        raise ShapeError(f"fused_gradient_penalty: samples of shape {x.shape} for a critic "
                         f"that takes {first.in_features} features")
    if x.shape[0] == 0:
        raise ShapeError("fused_gradient_penalty: the batch is empty")
    params = [t for lin, _, _ in layers for t in (lin.weight, lin.bias) if t is not None]
    xp = backend.xp_of(x.data, *(p.data for p in params), op="fused_gradient_penalty")
    dtype = np.result_type(x.dtype, *(p.dtype for p in params))
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    acts = [act for _, act, _ in layers]
    top = max((i for i, a in enumerate(acts) if a == "tanh"), default=-1)
    reached = [(lin.weight, lin.bias if i <= top else None) for i, (lin, _, _) in
               enumerate(layers)]
    want = is_grad_enabled() and any(t is not None and t.requires_grad
                                     for pair in reached for t in pair)
    penalty, dws, dbs = backend.kernels(xp, "gp").penalty_and_grads(
        x.data.astype(dtype, copy=False),
        [lin.weight.data.astype(dtype, copy=False) for lin, _, _ in layers],
        [None if lin.bias is None else lin.bias.data.astype(dtype, copy=False)
         for lin, _, _ in layers],
        acts, [slope for _, _, slope in layers], kind=kind, want_grads=want)
    parents = []
    for (weight, bias), dw, db in zip(reached, dws, dbs):
        parents.append((weight, _vjp(dw)))
        if bias is not None:
            parents.append((bias, _vjp(db)))
    return apply("fused_gradient_penalty", penalty, parents if want else [])
