"""A Transformer encoder block (Vaswani et al., 2017) in the pre-LayerNorm arrangement.

Each block is two residual steps, each reading a layer-normalised copy of its input:

    x ← x + Dropout(MHA(LN₁(x)))          (self-attention; padded keys masked out)
    x ← x + Dropout(W₂ relu(W₁ LN₂(x) + b₁) + b₂)

Normalising before (not after) each step keeps the residual path an identity, which lets a
small stack train with a plain Adam step and no learning-rate warm-up. Positions are not
known to the block: a model adds position embeddings to its inputs (which is what lets an
MAE-style encoder drop tokens and still know where the kept ones stand).
"""

from __future__ import annotations

from .. import ops
from ..autograd import Tensor, as_tensor
from ..random import Generator
from .attention import MultiHeadAttention
from .layers import Dropout, LayerNorm, Linear
from .module import Module

__all__ = ["TransformerEncoderLayer"]


class TransformerEncoderLayer(Module):
    """One pre-LN encoder block on (B, T, dim): self-attention with ``heads`` heads, then a
    feed-forward layer of width ``ff``; ``dropout`` on each residual branch.

    ``forward(x, key_mask=None)``: ``key_mask`` (B, T) is 1 for real tokens and 0 for
    padding; padded positions are never attended to (their own outputs are computed but mean
    nothing); ``bias`` is added to the attention scores (see :class:`MultiHeadAttention`)."""

    def __init__(self, dim: int, heads: int, ff: int, dropout: float = 0.0,
                 generator: Generator | None = None):
        super().__init__()
        self.dim = dim
        self.norm1, self.norm2 = LayerNorm(dim), LayerNorm(dim)
        self.attention = MultiHeadAttention(dim, heads, generator=generator)
        self.ff1, self.ff2 = Linear(dim, ff, generator=generator), Linear(ff, dim,
                                                                          generator=generator)
        self.drop = Dropout(dropout, generator=generator)

    def forward(self, x, key_mask=None, bias=None) -> Tensor:
        x = as_tensor(x)
        self._expect(x.ndim == 3 and x.shape[2] == self.dim, x.shape, f"(B, T, {self.dim})")
        attended, _ = self.attention(self.norm1(x), key_mask=key_mask, bias=bias)
        x = x + self.drop(attended)
        return x + self.drop(self.ff2(ops.relu(self.ff1(self.norm2(x)))))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
