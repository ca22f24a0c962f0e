"""Feed-forward layers: Linear, Embedding, Dropout, BatchNorm1d, LayerNorm, Maxout, activations.

Weights use Keras' layout (inputs before outputs), so a dense layer is ``y = x W + b`` with no
transpose. Every layer checks its input's shape and raises a ShapeError naming itself, the shape
it got and the shape it expects.
"""

from __future__ import annotations

import math

from .. import backend, ops
from .. import functional as F
from ..autograd import Tensor, as_tensor, is_grad_enabled
from ..creation import ones, zeros
from ..errors import DTypeError, IndexOutOfRange
from ..random import Generator
from . import init
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "Dropout", "Embedding", "LayerNorm", "LeakyReLU", "Linear", "Maxout",
           "ReLU", "Sigmoid", "Tanh"]


class Linear(Module):
    """y = x W + b for inputs of shape (..., in_features), with W of shape (in_features,
    out_features); W starts Glorot-uniform and b at zero (Keras' defaults)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 generator: Generator | None = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(init.glorot_uniform_(zeros(in_features, out_features),
                                                     generator=generator))
        self.bias = Parameter(zeros(out_features)) if bias else None

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        self._expect(x.ndim >= 1 and x.shape[-1] == self.in_features, x.shape,
                     f"(..., {self.in_features})")
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}"
                + ("" if self.bias is not None else ", bias=False"))


class Embedding(Module):
    """A lookup table: integer indices of any shape → rows of ``weight`` (num_embeddings,
    embedding_dim), initialised N(0, 1). Index ``padding_idx`` always maps to a zero vector and
    its row never gets a gradient (the output is multiplied by a 0/1 mask).

    ``sparse=True``: a **row-sparse gradient**, for large tables of which a batch uses few
    rows. While recording, a lookup copies the rows it uses into a small leaf tensor and
    reads from that, so backward costs only those rows and leaves ``weight.grad`` None; the
    gradient is ``weight.row_grad()`` (row ids, summed rows), which optimizers apply to those
    rows only (:class:`~tinygen.optim.Adam` lazily: the moments of unused rows stand still).
    First order only: the lookup is not a differentiable function of ``weight`` (``grad``
    with respect to ``weight``, or of a gradient, needs ``sparse=False``), and
    ``clip_grad_norm`` does not see it. Without recording (``no_grad``) the lookup is the
    dense one. The rows of every recorded lookup are kept until the optimizer's next
    ``step`` (or a ``zero_grad`` after its backward): evaluate under ``no_grad``."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 generator: Generator | None = None, sparse: bool = False):
        super().__init__()
        self.sparse = bool(sparse)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise IndexOutOfRange(f"Embedding: padding_idx {padding_idx} is outside "
                                      f"[0, {num_embeddings})")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(init.normal_(zeros(num_embeddings, embedding_dim),
                                             generator=generator))
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, indices) -> Tensor:
        idx = indices.data if isinstance(indices, Tensor) else indices
        if not hasattr(idx, "dtype"):
            idx = as_tensor(idx).data
        idx = backend.to_device(idx, self.weight.device)
        if idx.dtype.kind not in "iu":
            raise DTypeError(f"{self._describe()}: expected integer indices, got dtype "
                             f"{idx.dtype} (shape {tuple(idx.shape)})")
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= self.num_embeddings):
            raise IndexOutOfRange(f"{self._describe()}: indices must lie in "
                                  f"[0, {self.num_embeddings}), got values in "
                                  f"[{int(idx.min())}, {int(idx.max())}]")
        if self.sparse and self.weight.requires_grad and is_grad_enabled():
            xp = backend.xp_of(idx)
            rows, inverse = xp.unique(idx.reshape(-1), return_inverse=True)
            part = Tensor(self.weight.data[rows], requires_grad=True)
            self.weight.row_parts.append((rows, part))
            out = part[inverse.reshape(idx.shape)]
        else:
            out = self.weight[idx]
        if self.padding_idx is not None:
            out = out * Tensor((idx != self.padding_idx)[..., None].astype(out.dtype))
        return out

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        pad += ", sparse=True" if self.sparse else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class Dropout(Module):
    """Inverted dropout in training (x · m/(1 − p), m ~ Bernoulli(1 − p)); the identity in eval.
    ``generator`` (default: the default generator of the input's device) makes masks
    reproducible."""

    def __init__(self, p: float = 0.5, generator: Generator | None = None):
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, x) -> Tensor:
        return F.dropout(x, self.p, training=self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Batch normalisation (Ioffe & Szegedy, 2015) of inputs (N, C) or (N, C, L) per channel C:
    y = (x − μ)/√(σ² + eps)·γ + β. Training uses the batch's μ, σ² (over N and L) and updates
    the running estimates r ← (1 − momentum)·r + momentum·batch (PyTorch's convention; the
    running variance is the unbiased one); eval uses the running estimates."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum, self.affine = (num_features, eps, momentum,
                                                                   affine)
        self.weight = Parameter(ones(num_features)) if affine else None
        self.bias = Parameter(zeros(num_features)) if affine else None
        self.register_buffer("running_mean", zeros(num_features))
        self.register_buffer("running_var", ones(num_features))

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        c = self.num_features
        self._expect(x.ndim in (2, 3) and x.shape[1] == c, x.shape, f"(N, {c}) or (N, {c}, L)")
        axes = (0,) if x.ndim == 2 else (0, 2)
        shape = (1, c) if x.ndim == 2 else (1, c, 1)
        if self.training:
            n = math.prod(x.shape[a] for a in axes)
            self._expect(n > 1, x.shape, f"(N, {c}) or (N, {c}, L) with N·L > 1 (training "
                         "needs more than one value per channel)")
            affine = ((ops.reshape(self.weight, shape), ops.reshape(self.bias, shape))
                      if self.affine else ())
            y, mean, var = ops.standardize(x, axes, self.eps, *affine, stats=True)
            m = self.momentum
            self.running_mean.data[...] = ((1 - m) * self.running_mean.data
                                           + m * mean.reshape(c))
            self.running_var.data[...] = ((1 - m) * self.running_var.data
                                          + m * var.reshape(c) * (n / (n - 1)))
            return y
        mean = Tensor(self.running_mean.data.reshape(shape))
        var = Tensor(self.running_var.data.reshape(shape))
        y = (x - mean) / ops.sqrt(var + self.eps)
        if self.affine:
            y = y * ops.reshape(self.weight, shape) + ops.reshape(self.bias, shape)
        return y

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class LayerNorm(Module):
    """Layer normalisation (Ba et al., 2016): y = (x − μ)/√(σ² + eps)·γ + β with μ, σ² taken
    over the last dimensions ``normalized_shape`` of each sample (same in train and eval)."""

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 affine: bool = True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape, self.eps = tuple(shape), eps
        self.weight = Parameter(ones(self.normalized_shape)) if affine else None
        self.bias = Parameter(zeros(self.normalized_shape)) if affine else None

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        k = len(self.normalized_shape)
        self._expect(x.shape[x.ndim - k:] == self.normalized_shape and x.ndim >= k, x.shape,
                     "(..., " + ", ".join(map(str, self.normalized_shape)) + ")")
        affine = () if self.weight is None else (self.weight, self.bias)
        return ops.standardize(x, tuple(range(x.ndim - k, x.ndim)), self.eps, *affine)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


class Maxout(Module):
    """Maxout (Goodfellow et al., 2013): y_j = max_k (x W + b)_{j,k}, the largest of ``pieces``
    linear functions per output unit, a learned convex piecewise-linear activation."""

    def __init__(self, in_features: int, out_features: int, pieces: int = 2,
                 generator: Generator | None = None):
        super().__init__()
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.linear = Linear(in_features, out_features * pieces, generator=generator)

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        self._expect(x.ndim >= 1 and x.shape[-1] == self.in_features, x.shape,
                     f"(..., {self.in_features})")
        y = self.linear(x)
        return ops.max(ops.reshape(y, x.shape[:-1] + (self.out_features, self.pieces)), axis=-1)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}")


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x) -> Tensor:
        return ops.relu(x)


class LeakyReLU(Module):
    """x for x > 0, negative_slope·x otherwise."""

    def __init__(self, negative_slope: float = 0.2):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x) -> Tensor:
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x) -> Tensor:
        return ops.tanh(x)


class Sigmoid(Module):
    """σ(x) = 1/(1 + e⁻ˣ)."""

    def forward(self, x) -> Tensor:
        return ops.sigmoid(x)
