"""Self-modulated BatchNorm (Chen, Lucic, Houlsby & Gelly 2019, "On Self Modulation for
Generative Adversarial Networks"; the "DCGAN → SELF-MOD" post): in the generator, each
BatchNorm's scale and shift are functions of the noise z instead of constants,

    y = BN(x)·(1 + γ_ℓ(z)) + β_ℓ(z),    γ_ℓ, β_ℓ: z → Linear(hidden) → ReLU → Linear(C_ℓ),

so z reaches every layer directly, not only through the first. The output layers of γ and β
start at zero: a fresh self-modulated generator computes exactly what plain BatchNorm with
γ = 1, β = 0 does, so a comparison starts from the same function.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn, ops
from ..autograd import Tensor
from ..errors import ShapeError

__all__ = ["SelfModBatchNorm2d", "SelfModGenerator"]


class SelfModBatchNorm2d(nn.Module):
    """BN(x)·(1 + γ(z)) + β(z) for x (B, C, H, W) and z (B, z_dim); BN without its own affine
    parameters, γ and β one-hidden-layer MLPs whose output layers start at zero."""

    def __init__(self, channels: int, z_dim: int, hidden: int = 32):
        super().__init__()
        self.channels, self.z_dim = channels, z_dim
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        self.beta = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        for mlp in (self.gamma, self.beta):
            mlp[2].weight.data[...] = 0
            mlp[2].bias.data[...] = 0

    def forward(self, x, z) -> Tensor:
        if z.ndim != 2 or z.shape != (x.shape[0], self.z_dim):
            raise ShapeError(f"SelfModBatchNorm2d: z must have shape ({x.shape[0]}, "
                             f"{self.z_dim}) for x of shape {x.shape}, got {z.shape}")
        shape = (-1, self.channels, 1, 1)
        return (self.norm(x) * (1.0 + ops.reshape(self.gamma(z), shape))
                + ops.reshape(self.beta(z), shape))


class SelfModGenerator(nn.Module):
    """:class:`~tinygen.models.image_gans.Generator` with every BatchNorm2d self-modulated:
    z → Linear → (C₀, s/2ᵏ, s/2ᵏ) → k × [SelfModBN(z), ReLU, ConvTranspose 4×4/2] →
    SelfModBN(z), ReLU → Conv 3×3 → tanh."""

    def __init__(self, z_dim: int, size: int, channels: Sequence[int] = (64, 32),
                 hidden: int = 32):
        super().__init__()
        k = len(channels) - 1
        if k < 1 or size % 2 ** k:
            raise ValueError(f"SelfModGenerator: size {size} must be divisible by 2^{k}")
        self.z_dim, self.size, self.channels = z_dim, size, tuple(channels)
        self.base = size // 2 ** k
        self.project = nn.Linear(z_dim, channels[0] * self.base ** 2)
        self.norms = nn.ModuleList([SelfModBatchNorm2d(c, z_dim, hidden) for c in channels])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(a, b, 4, stride=2, padding=1)
                                  for a, b in zip(channels[:-1], channels[1:])])
        self.out = nn.Conv2d(channels[-1], 1, 3, padding="same")

    def forward(self, z) -> Tensor:
        h = ops.reshape(self.project(z), (-1, self.channels[0], self.base, self.base))
        for norm, up in zip(self.norms, self.ups):
            h = up(ops.relu(norm(h, z)))
        return ops.tanh(self.out(ops.relu(self.norms[-1](h, z))))
