"""What the CPU and CUDA gradient-penalty kernels share: the activation codes and the check of
their arguments (for NumPy and CuPy arrays alike; the kernels never import the engine)."""

from __future__ import annotations

from collections.abc import Sequence

IDENTITY, LEAKY, TANH = 0, 1, 2  # activation codes (ReLU is LEAKY with slope 0)
ACTIVATIONS = {"identity": IDENTITY, "relu": LEAKY, "leaky_relu": LEAKY, "tanh": TANH}


def check_mlp(x, weights: Sequence, biases: Sequence, activations: Sequence[str],
              slopes: Sequence[float], kind: str) -> None:
    """Raise a ValueError/TypeError unless x (B, d₀) float32/float64 and the layers
    (weights[l] (d_{l−1}, d_l), biases[l] with d_l values or None, one activation and slope
    each) make an MLP with one output, and ``kind`` is a known penalty."""
    if x.dtype.name not in ("float32", "float64"):
        raise TypeError(f"gp kernel: x must be float32 or float64, got {x.dtype}")
    if kind not in ("two_sided", "zero_centred"):
        raise ValueError(f"gp kernel: kind must be 'two_sided' or 'zero_centred', got {kind!r}")
    L = len(weights)
    if L == 0 or not len(biases) == len(activations) == len(slopes) == L:
        raise ValueError("gp kernel: need one bias (or None), activation and slope per layer")
    unknown = [a for a in activations if a not in ACTIVATIONS]
    if unknown:
        raise ValueError(f"gp kernel: unknown activation {unknown[0]!r}; expected one of "
                         f"{sorted(ACTIVATIONS)}")
    width = x.shape[1]
    for l, (w, b) in enumerate(zip(weights, biases)):
        if w.ndim != 2 or w.shape[0] != width:
            raise ValueError(f"gp kernel: layer {l} weight {w.shape} does not take {width} "
                             "inputs")
        width = w.shape[1]
        if b is not None and b.size != width:
            raise ValueError(f"gp kernel: layer {l} bias has {b.size} values for {width} "
                             "outputs")
    if width != 1:
        raise ValueError(f"gp kernel: the last layer must have one output, got {width}")
