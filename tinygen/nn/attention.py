"""Multi-head scaled dot-product attention (Vaswani et al., 2017), with key and causal masks.

For each head, A = softmax(Q Kᵀ/√d) over the keys and the output is A V; the heads are
concatenated and projected. Masked keys get weight exactly 0. The masked softmax never uses
−inf (which would trip ``detect_anomaly`` and gives NaN for a query that may see no key): it
shifts by the largest allowed score and zeroes the disallowed terms, and a query with no
allowed key gets all-zero weights.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend, ops
from ..autograd import Tensor, as_tensor
from ..creation import zeros
from ..errors import ShapeError
from ..random import Generator
from . import init
from .module import Module, Parameter

__all__ = ["MultiHeadAttention", "distance_bias", "masked_softmax"]


def masked_softmax(scores: Tensor, allowed=None, axis: int = -1) -> Tensor:
    """softmax over ``axis`` of the entries where the boolean array ``allowed`` (broadcast to
    ``scores``) is true; disallowed entries get 0, and so does a row with nothing allowed.

    Computed as e / Σe with e = exp(s − m)·allowed, m the row's largest allowed score (a
    constant: softmax does not change under a shift, so all derivatives stay exact)."""
    scores = as_tensor(scores)
    if allowed is None:
        allowed = scores.xp.ones(scores.shape, dtype=bool)
    allowed = scores.xp.broadcast_to(allowed, scores.shape)
    xp = scores.xp
    m = xp.where(allowed, scores.data, -xp.inf).max(axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    e = ops.exp(ops.where(allowed, scores - Tensor(m), 0.0)) * Tensor(allowed.astype(m.dtype))
    total = ops.sum(e, axis=axis, keepdims=True)
    return e / ops.where(total.data > 0, total, 1.0)


def distance_bias(query_positions, key_positions, slopes, offsets=None) -> np.ndarray:
    """ALiBi's score bias (Press et al., 2022) with an offset per head: −s_h·|j − i − o_h| for
    a query at position i and a key at position j, so head h prefers the key o_h places
    away (o_h = −1: its left neighbour) and looks less the farther a key lies from there.
    Positions (B, Tq) and (B, Tk), ``slopes`` and ``offsets`` (default 0) one per head;
    returns (B, heads, Tq, Tk) float32, to pass as ``bias``. A constant: no parameters."""
    q = np.asarray(query_positions, np.float32)
    k = np.asarray(key_positions, np.float32)
    s = np.asarray(slopes, np.float32)
    o = np.zeros_like(s) if offsets is None else np.asarray(offsets, np.float32)
    if q.ndim != 2 or k.ndim != 2 or q.shape[0] != k.shape[0] or s.ndim != 1 or o.shape != s.shape:
        raise ShapeError(f"distance_bias: positions {q.shape} and {k.shape} must be (B, Tq) and "
                         f"(B, Tk), slopes {s.shape} and offsets {o.shape} one per head")
    d = k[:, None, None, :] - q[:, None, :, None] - o[None, :, None, None]
    return -s[None, :, None, None] * np.abs(d)


class MultiHeadAttention(Module):
    """Attention of queries (B, Tq, E) over keys and values (B, Tk, E) with ``num_heads`` heads
    of size d = E / num_heads: Q = query W_q + b_q (likewise K, V), per head
    A = softmax(Q Kᵀ/√d), output = concat_heads(A V) W_o + b_o.

    ``forward(query, key=None, value=None, key_mask=None, causal=False)`` (key and value
    default to the query: self-attention) returns (output (B, Tq, E), weights (B, heads, Tq,
    Tk)). ``key_mask`` (B, Tk) is 1 for real keys and 0 for padding (the same convention as the
    recurrent layers' mask; PyTorch's key_padding_mask is the opposite). ``causal`` lets query i
    see keys j ≤ i + (Tk − Tq) (the query ends aligned with the key ends). ``bias`` (an array
    or Tensor broadcastable to (B, heads, Tq, Tk)) is added to the scores before the softmax:
    a prior on where to look, such as ALiBi's distance penalty."""

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True,
                 generator: Generator | None = None):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiHeadAttention: embed_dim {embed_dim} is not divisible by "
                             f"num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        for name in ("q", "k", "v", "o"):
            w = init.glorot_uniform_(zeros(embed_dim, embed_dim), generator=generator)
            setattr(self, f"w_{name}", Parameter(w))
            setattr(self, f"b_{name}", Parameter(zeros(embed_dim)) if bias else None)

    def _project(self, x: Tensor, name: str) -> Tensor:
        """x (B, T, E) → per-head (B, heads, T, d)."""
        y = x @ getattr(self, f"w_{name}")
        b = getattr(self, f"b_{name}")
        y = y if b is None else y + b
        return ops.permute(ops.reshape(y, x.shape[:2] + (self.num_heads, self.head_dim)),
                           (0, 2, 1, 3))

    def forward(self, query, key=None, value=None, key_mask=None, causal: bool = False,
                bias=None) -> tuple[Tensor, Tensor]:
        query = as_tensor(query)
        key = query if key is None else as_tensor(key)
        value = key if value is None else as_tensor(value)
        e = self.embed_dim
        self._expect(query.ndim == 3 and query.shape[2] == e, query.shape, f"(B, Tq, {e})",
                     "query")
        b, tq = query.shape[:2]
        self._expect(key.ndim == 3 and key.shape[0] == b and key.shape[2] == e, key.shape,
                     f"({b}, Tk, {e})", "key")
        tk = key.shape[1]
        self._expect(value.shape == key.shape, value.shape, f"{key.shape} (as the key)", "value")
        q, k, v = self._project(query, "q"), self._project(key, "k"), self._project(value, "v")
        scores = (q @ ops.transpose(k)) * (1.0 / math.sqrt(self.head_dim))  # (B, h, Tq, Tk)
        if bias is not None:
            scores = scores + bias
        xp = query.xp
        allowed = xp.ones((b, 1, tq, tk), dtype=bool)
        if key_mask is not None:
            m = key_mask.data if isinstance(key_mask, Tensor) else key_mask
            m = backend.to_device(m if hasattr(m, "dtype") else np.asarray(m), query.device)
            self._expect(tuple(m.shape) == (b, tk), m.shape, f"(B, Tk) = {(b, tk)}", "key_mask")
            allowed = allowed & (m != 0)[:, None, None, :]
        if causal:
            allowed = allowed & xp.tril(xp.ones((tq, tk), dtype=bool), k=tk - tq)
        weights = masked_softmax(scores, allowed)
        heads = ops.permute(weights @ v, (0, 2, 1, 3))  # (B, Tq, h, d)
        out = ops.reshape(heads, (b, tq, e)) @ self.w_o
        return (out if self.b_o is None else out + self.b_o), weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
