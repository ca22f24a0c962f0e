"""The argument check every MLP kernel family shares (gradient penalty, log-det): a float
batch and a chain of dense layers. NumPy and CuPy arrays alike; kernels never import the
engine, so the errors are plain ValueError/TypeError naming the kernel family."""

from __future__ import annotations

from collections.abc import Sequence


def check_layers(family: str, x, weights: Sequence, biases: Sequence,
                 activations: Sequence[str], known: dict, hidden_only: bool) -> int:
    """Raise unless x is a non-empty (B, d₀) float32/float64 batch, weights[l] is
    (d_{l−1}, d_l), biases[l] has d_l values or is None, and there is one known activation per
    layer (``hidden_only``: per hidden layer, the last layer being linear). Returns the
    output width d_L."""
    if x.dtype.name not in ("float32", "float64"):
        raise TypeError(f"{family} kernel: x must be float32 or float64, got {x.dtype}")
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{family} kernel: x must be a non-empty (B, d) batch, got {x.shape}")
    L = len(weights)
    acts = L - 1 if hidden_only else L
    if L == 0 or len(biases) != L or len(activations) != acts:
        per = "per hidden layer" if hidden_only else "per layer"
        raise ValueError(f"{family} kernel: need one bias (or None) per layer and one "
                         f"activation {per}")
    unknown = [a for a in activations if a not in known]
    if unknown:
        raise ValueError(f"{family} kernel: unknown activation {unknown[0]!r}; expected one "
                         f"of {sorted(known)}")
    width = x.shape[1]
    for l, (w, b) in enumerate(zip(weights, biases)):
        if w.ndim != 2 or w.shape[0] != width:
            raise ValueError(f"{family} kernel: layer {l} weight {w.shape} does not take "
                             f"{width} inputs")
        width = w.shape[1]
        if b is not None and b.size != width:
            raise ValueError(f"{family} kernel: layer {l} bias has {b.size} values for "
                             f"{width} outputs")
    return width
