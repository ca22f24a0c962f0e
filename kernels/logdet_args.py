"""What the CPU and CUDA log-det kernels share: the activation codes and the check of their
arguments (NumPy and CuPy arrays alike; the kernels never import the engine)."""

from __future__ import annotations

from collections.abc import Sequence

from .mlp_args import check_layers

ELU, LIPSWISH, TANH = 0, 1, 2  # activation codes
ACTIVATIONS = {"elu": ELU, "lipswish": LIPSWISH, "tanh": TANH}
LIPSWISH_SCALE = 1.1  # LipSwish(z) = z·σ(z)/1.1


def check_block(x, weights: Sequence, biases: Sequence, activations: Sequence[str], v,
                n: int, tbar=None) -> None:
    """Raise a ValueError/TypeError unless x (B, d) is float32/float64, the layers
    (weights[l] (d_{l−1}, d_l), biases[l] with d_l values or None) map d back to d with one
    activation per hidden layer, the probes v are (B, m, d), n ≥ 1, and the upstream
    gradient ``tbar`` (if given) is (B, m, n)."""
    width = check_layers("logdet", x, weights, biases, activations, ACTIVATIONS,
                         hidden_only=True)
    if width != x.shape[1]:
        raise ValueError(f"logdet kernel: the block maps {x.shape[1]} features to {width}; a "
                         "residual block needs the same number")
    if v.ndim != 3 or v.shape[0] != x.shape[0] or v.shape[2] != x.shape[1] or v.shape[1] == 0:
        raise ValueError(f"logdet kernel: probes must be (B, m, d) = ({x.shape[0]}, m, "
                         f"{x.shape[1]}) with m ≥ 1, got {v.shape}")
    if int(n) != n or n < 1:
        raise ValueError(f"logdet kernel: n must be a positive integer, got {n!r}")
    if tbar is not None and tuple(tbar.shape) != (v.shape[0], v.shape[1], n):
        raise ValueError(f"logdet kernel: the upstream gradient must be (B, m, n) = "
                         f"{(v.shape[0], v.shape[1], n)}, got {tuple(tbar.shape)}")


def jacobian_mode(d: int, m: int, n: int, mode: str) -> bool:
    """Whether to form each sample's d × d Jacobian (d chain rows per sample, then the powers
    on d × d matrices) rather than push the m probes through n chains (m·n chain rows per
    sample): ``"auto"`` picks the fewer rows, ``"jacobian"`` / ``"chain"`` force one."""
    if mode not in ("auto", "jacobian", "chain"):
        raise ValueError(f"logdet kernel: mode must be 'auto', 'jacobian' or 'chain', got "
                         f"{mode!r}")
    return mode == "jacobian" or (mode == "auto" and d < m * n)
