"""What the CPU and CUDA gradient-penalty kernels share: the activation codes and the check of
their arguments (for NumPy and CuPy arrays alike; the kernels never import the engine)."""

from __future__ import annotations

from collections.abc import Sequence

from .mlp_args import check_layers

IDENTITY, LEAKY, TANH = 0, 1, 2  # activation codes (ReLU is LEAKY with slope 0)
ACTIVATIONS = {"identity": IDENTITY, "relu": LEAKY, "leaky_relu": LEAKY, "tanh": TANH}


def check_mlp(x, weights: Sequence, biases: Sequence, activations: Sequence[str],
              slopes: Sequence[float], kind: str) -> None:
    """Raise a ValueError/TypeError unless x (B, d₀) float32/float64 and the layers
    (weights[l] (d_{l−1}, d_l), biases[l] with d_l values or None, one activation and slope
    each) make an MLP with one output, and ``kind`` is a known penalty."""
    if kind not in ("two_sided", "zero_centred"):
        raise ValueError(f"gp kernel: kind must be 'two_sided' or 'zero_centred', got {kind!r}")
    if len(slopes) != len(weights):
        raise ValueError("gp kernel: need one bias (or None), activation and slope per layer")
    width = check_layers("gp", x, weights, biases, activations, ACTIVATIONS, hidden_only=False)
    if width != 1:
        raise ValueError(f"gp kernel: the last layer must have one output, got {width}")
