"""The couplet post's sequence-labelling model: one output character per input position.

A couplet's second line (下联) has as many characters as its first (上联), and each
character answers the one opposite it, so the post treats generation as *tagging*: read the
first line, predict a distribution over the vocabulary at every position, take the best
character at each. The network is

    Embedding(d) → Dropout 0.25 → 6 × GatedResidualConv1d(d) → Linear(d, V) → softmax

where a gated residual block mixes each position with its two neighbours and decides, per
channel, how much of its input to keep:

    h = Conv1D_{2d, k=3, same}(x),   [g, c] = split(h),   y = x·σ(g) + c·(1 − σ(g)).

Six blocks of width 3 let position t see positions t − 6 … t + 6, a whole 5- or 7-character
line. Decoding (:func:`decode_couplet`) can forbid the character of the first line at the
same position, the post's rule against lazy echoes (春 answered by 春).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd import Tensor, apply, as_tensor
from ..errors import ShapeError, TinygenError
from ..ops.elementwise import _sigmoid
from ..nn import Conv1d, Dropout, Embedding, Linear, Module, ModuleList
from ..random import Generator

__all__ = ["CoupletTagger", "GatedResidualConv1d", "decode_couplet", "gated_residual_conv1d"]


class GatedResidualConv1d(Module):
    """y = x·σ(g) + c·(1 − σ(g)) with [g, c] = Conv1D(2d, k, "same")(x), on x of shape
    (N, L, d) (channels last, like the embedding that feeds it).

    The gate σ(g) ∈ (0, 1) chooses per position and channel between keeping the input (a
    residual path, so gradients pass six blocks easily) and taking the new candidate c.

    The convolution's parameters are those of an ordinary ``Conv1d(d, 2d, k, padding="same")``
    (``self.conv``; weight (2d, d, k), He-uniform), but it is evaluated as one matrix product
    over every window of the batch: with zero padding p = (k − 1)/2,

        h[n, t, o] = b[o] + Σ_{c, j} W[o, c, j] · x_pad[n, t + j, c],

    i.e. the windows (N·L, d·k) times W reshaped to (2d, d·k), transposed. That is the very
    same map as ``self.conv`` (the tests check it), only faster for short sequences: the conv
    kernel (channels first) adds column-matrix passes and transposing copies, which on 5- and
    7-character lines cost more than the product itself.

    ``gate_bias`` is where the gate's half of the bias starts. 0 (Keras' zeros, the post)
    gives σ(g) ≈ ½ at first, so six blocks pass on only about 0.5⁶ ≈ 2% of the embedding
    through the keep-path; a positive value starts each block near the identity
    (σ(2) ≈ 0.88, 0.88⁶ ≈ 46%), the carry bias of highway networks (Srivastava et al., 2015).

    ``fused`` (the default) runs the whole block as one primitive, :func:`gated_residual_conv1d`,
    whose backward is array code (one node instead of about sixty: lesson 09's six blocks
    took half of its training step); ``fused=False`` runs the same formulas as ordinary
    differentiable ops, the twin that the tests hold the fused block against and the path
    for gradients of gradients.
    """

    def __init__(self, channels: int, kernel_size: int = 3, gate_bias: float = 0.0,
                 generator: Generator | None = None, fused: bool = True):
        super().__init__()
        self.fused = fused
        if kernel_size % 2 != 1:
            raise ShapeError(f"GatedResidualConv1d: kernel_size must be odd for 'same' padding, "
                             f"got {kernel_size}")
        self.channels, self.kernel_size = channels, kernel_size
        self.conv = Conv1d(channels, 2 * channels, kernel_size, padding="same",
                           generator=generator)
        self.conv.bias.data[:channels] = gate_bias

    def pre_activation(self, x) -> Tensor:
        """h = Conv1D(2d, k, same)(x) for x (N, L, d): shape (N, L, 2d)."""
        x = as_tensor(x)
        d, k = self.channels, self.kernel_size
        self._expect(x.ndim == 3 and x.shape[-1] == d, x.shape, f"(N, L, {d})")
        n, length, _ = x.shape
        half = (k - 1) // 2
        padded = ops.pad(x, ((0, 0), (half, half), (0, 0)))
        windows = ops.stack([padded[:, j: j + length] for j in range(k)], axis=-1)  # N,L,d,k
        w = ops.reshape(self.conv.weight, (2 * d, d * k))
        h = ops.reshape(windows, (n * length, d * k)) @ ops.transpose(w) + self.conv.bias
        return ops.reshape(h, (n, length, 2 * d))

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        if self.fused:
            d = self.channels
            self._expect(x.ndim == 3 and x.shape[-1] == d, x.shape, f"(N, L, {d})")
            return gated_residual_conv1d(x, self.conv.weight, self.conv.bias)
        g, c = ops.split(self.pre_activation(x), 2, axis=-1)
        gate = ops.sigmoid(g)
        return x * gate + c * (1.0 - gate)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, kernel_size={self.kernel_size}"


def _windows(xp, x, k: int):
    """The (N·L, d·k) matrix of 'same'-padded windows of x (N, L, d): row (n, t) holds
    x_pad[n, t + j, c] at column c·k + j."""
    n, length, d = x.shape
    half = (k - 1) // 2
    padded = xp.zeros((n, length + 2 * half, d), dtype=x.dtype)
    padded[:, half:half + length] = x
    return xp.stack([padded[:, j:j + length] for j in range(k)], axis=-1).reshape(n * length,
                                                                                   d * k)


def gated_residual_conv1d(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """:class:`GatedResidualConv1d`'s map as one primitive: x (N, L, d), weight (2d, d, k)
    and bias (2d,) of its "same" convolution, → y (N, L, d), with

        [g, c] = windows(x) · Wᵀ + b,   s = σ(g),   y = x·s + c·(1 − s).

    The VJP is array code, all three gradients from one pass (g_y the upstream gradient):

        ∂g = g_y·(x − c)·s(1 − s),   ∂c = g_y·(1 − s),   ∂h = [∂g, ∂c],
        ∂W = ∂hᵀ · windows,   ∂b = Σ ∂h,   ∂x = g_y·s + the windows' adjoint of ∂h · W.

    Its gradients cannot be differentiated again (a second derivative raises an error that
    names the twin, ``GatedResidualConv1d(..., fused=False)``).
    """
    xp = x.xp
    n, length, d = x.shape
    k = weight.shape[2]
    w2 = weight.data.reshape(2 * d, d * k)
    windows = _windows(xp, x.data, k)
    h = windows @ w2.T + bias.data
    g, c = h[:, :d], h[:, d:]
    s = _sigmoid(xp, g)
    xf = x.data.reshape(n * length, d)
    y = (xf * s + c * (1.0 - s)).reshape(n, length, d)
    grads: dict = {}

    def backward(gy: Tensor, which: int) -> Tensor:
        if grads.get("of") is not gy:  # the three VJPs share one computation
            gf = gy.data.reshape(n * length, d)
            dh = xp.concatenate([gf * (xf - c) * (s * (1.0 - s)), gf * (1.0 - s)], axis=1)
            dwin = (dh @ w2).reshape(n, length, d, k)
            half = (k - 1) // 2
            dpad = xp.zeros((n, length + 2 * half, d), dtype=dh.dtype)
            for j in range(k):
                dpad[:, j:j + length] += dwin[..., j]
            grads.update(of=gy, arrays=(
                (gf * s).reshape(n, length, d) + dpad[:, half:half + length],
                (dh.T @ windows).reshape(weight.shape), dh.sum(axis=0)))
        return apply("gated_residual_conv1d_backward", grads["arrays"][which],
                     [(t, _no_second_derivative) for t in (gy, x, weight, bias)])

    return apply("gated_residual_conv1d", y, [(x, lambda gy, out: backward(gy, 0)),
                                              (weight, lambda gy, out: backward(gy, 1)),
                                              (bias, lambda gy, out: backward(gy, 2))])


def _no_second_derivative(g, out):
    raise TinygenError("gated_residual_conv1d: the fused block's gradients cannot be "
                       "differentiated again; use GatedResidualConv1d(..., fused=False), the "
                       "same block made of differentiable ops")


class CoupletTagger(Module):
    """Character ids (N, L) → logits (N, L, V) over the vocabulary at every position.

    Embedding(V, d) → Dropout(p) → ``blocks`` × :class:`GatedResidualConv1d` (width
    ``kernel_size``, gates starting at ``gate_bias``) → Linear(d, V). The post uses
    d = 128, p = 0.25, 6 blocks of width 3 and gate bias 0.
    """

    def __init__(self, vocab_size: int, dim: int = 128, blocks: int = 6,
                 kernel_size: int = 3, dropout: float = 0.25, gate_bias: float = 0.0,
                 generator: Generator | None = None):
        super().__init__()
        self.vocab_size, self.dim = vocab_size, dim
        self.embedding = Embedding(vocab_size, dim, generator=generator)
        self.dropout = Dropout(dropout, generator=generator)
        self.blocks = ModuleList(GatedResidualConv1d(dim, kernel_size, gate_bias, generator)
                                 for _ in range(blocks))
        self.out = Linear(dim, vocab_size, generator=generator)

    def forward(self, ids) -> Tensor:
        x = self.dropout(self.embedding(ids))
        n, length, d = x.shape
        for block in self.blocks:
            x = block(x)
        # one (N·L, d) @ (d, V) product: a 3-D input would make matmul's weight gradient a
        # batch of N products summed afterwards, much slower
        logits = self.out(ops.reshape(x, (n * length, d)))
        return ops.reshape(logits, (n, length, self.vocab_size))

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}, dim={self.dim}, blocks={len(self.blocks)}"


def decode_couplet(logits, inputs, forbid: tuple[int, ...] = (), no_repeat: bool = True
                   ) -> np.ndarray:
    """The best character id at every position: argmax over the vocabulary of ``logits``
    (N, L, V), after setting to −∞ the logits of the ids in ``forbid`` (e.g. ``<unk>``) and,
    with ``no_repeat``, of the input character at the same position, ``inputs`` (N, L):

        ŷ_t = argmax_{v ∉ forbid, v ≠ x_t} z_{t, v}.
    """
    z = np.array(logits.numpy() if isinstance(logits, Tensor) else logits, dtype=np.float64)
    x = np.asarray(inputs.numpy() if isinstance(inputs, Tensor) else inputs)
    if z.ndim != 3 or x.shape != z.shape[:2]:
        raise ShapeError(f"decode_couplet: expected logits (N, L, V) and inputs (N, L), got "
                         f"{z.shape} and {x.shape}")
    if forbid:
        z[..., list(forbid)] = -np.inf
    if no_repeat:
        np.put_along_axis(z, x[..., None].astype(np.int64), -np.inf, axis=-1)
    return z.argmax(axis=-1)
