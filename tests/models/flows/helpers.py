"""Shared by the flow tests: small float64 i-ResNet blocks with weights big enough that the
spectral normalisation is active (‖Ŵ‖₂ = c on every layer)."""

from __future__ import annotations

import numpy as np

import tinygen as tg
from tinygen.models.flows.iresnet import ResidualMLP


def make_block(dims, activations="elu", c=0.9, seed=0, bias=True, scale=3.0,
               dtype=np.float64, device="cpu") -> ResidualMLP:
    """A ResidualMLP in eval mode with N(0, scale²/fan-in) weights, N(0, 0.25) biases and
    converged power iterations (200 steps), in ``dtype`` on ``device``."""
    rng = np.random.default_rng(seed)
    block = ResidualMLP(dims, activations, c=c, n_power_iterations=200,
                        generator=tg.Generator(seed))
    for lin in block.linears:
        a, b = lin.weight.shape
        lin.weight.data = scale * rng.standard_normal((a, b)) / np.sqrt(a)
        lin.bias.data = 0.5 * rng.standard_normal(b)
        if not bias:
            lin.bias = None
    block = block.to(device, dtype)
    block.weights()  # converge the power iterations (training mode)
    return block.eval()


def samples(batch, d, seed=1, dtype=np.float64, device="cpu") -> tg.Tensor:
    return tg.tensor(np.random.default_rng(seed).standard_normal((batch, d)).astype(dtype),
                     device=device)
