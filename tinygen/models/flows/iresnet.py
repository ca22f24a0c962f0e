r"""The invertible residual block of i-ResNet (Behrmann et al. 2019; the invertible-ResNet post):
y = F(x) = x + g(x), with g an MLP whose Lipschitz constant is kept below c < 1.

**The residual.** Samples are rows; with h₀ = x and layers l = 1 … L::

    z_l = h_{l−1} Ŵ_l + b_l,   h_l = φ_l(z_l)  (l < L),   g(x) = z_L

with φ one of ELU, LipSwish (z·σ(z)/1.1, Residual Flows) or tanh, each 1-Lipschitz.

**Spectral normalisation.** Every weight is used as Ŵ = W / max(1, σ̂(W)/c), σ̂ the largest
singular value estimated by power iteration (u ← Wᵀv/‖Wᵀv‖, v ← Wu/‖Wu‖, σ̂ = vᵀWu with a
vector u kept between steps). Then ‖Ŵ‖₂ ≤ c and Lip(g) ≤ ∏_l ‖Ŵ_l‖₂ ≤ c^L ≤ c, so F is
invertible: x is the fixed point of x ← y − g(x), reached geometrically at rate c (Banach).

**The Jacobian.** J_g(x) = ∂g/∂x, applied to a direction v without forming it (forward mode,
the "JVP chain")::

    u₀ = v,   u_l = (u_{l−1} Ŵ_l) ⊙ φ'(z_l)  (l < L),   J v = u_{L−1} Ŵ_L

and its transpose (reverse mode) vᵀJ: u ← (u Ŵ_lᵀ) ⊙ φ'(z_{l−1}) going down. Both are written
with Tensor ops, so they can be differentiated (in x and every weight) to any order; they are
the composed twin of the log-det kernels (:mod:`tinygen.kernels.cpu.logdet`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ... import nn, ops
from ...autograd import Tensor, as_tensor, no_grad
from ...errors import ShapeError, TinygenError
from ...random import Generator, default_generator

__all__ = ["ACTIVATIONS", "IResNet", "ResidualMLP", "fixed_point_inverse", "power_iteration"]

LIPSWISH_SCALE = 1.1  # LipSwish(z) = z·σ(z)/1.1: the largest slope of z·σ(z) is 1.0998


def _elu(z: Tensor) -> tuple[Tensor, Tensor]:
    return ops.elu(z), ops.where(z.data > 0, 1.0, ops.exp(ops.minimum(z, 0.0)))


def _lipswish(z: Tensor) -> tuple[Tensor, Tensor]:
    s = ops.sigmoid(z)
    return z * s / LIPSWISH_SCALE, (s + z * s * (1.0 - s)) / LIPSWISH_SCALE


def _tanh(z: Tensor) -> tuple[Tensor, Tensor]:
    h = ops.tanh(z)
    return h, 1.0 - h * h


#: name → z ↦ (φ(z), φ'(z)), both differentiable Tensors
ACTIVATIONS: dict[str, Callable[[Tensor], tuple[Tensor, Tensor]]] = {
    "elu": _elu, "lipswish": _lipswish, "tanh": _tanh}
#: name → z ↦ φ(z) alone, by the same ops as the first entry of ACTIVATIONS' pair (the same
#: bits): g(x) needs no slopes, and they cost as much as φ itself
_VALUES: dict[str, Callable[[Tensor], Tensor]] = {
    "elu": ops.elu, "lipswish": lambda z: z * ops.sigmoid(z) / LIPSWISH_SCALE,
    "tanh": ops.tanh}


def power_iteration(w: np.ndarray, u: np.ndarray, iterations: int = 1,
                    eps: float = 1e-12) -> tuple[float, np.ndarray]:
    """(σ̂, u): ``iterations`` steps of v ← Wu/‖Wu‖, u ← Wᵀv/‖Wᵀv‖ from ``u`` on the array
    ``w`` (NumPy or CuPy), then σ̂ = ‖Wu‖ ≤ σ_max(W) (equal once u is the top right singular
    vector; the error shrinks like (σ₂/σ₁)^(2·iterations))."""
    for _ in range(iterations):
        v = w @ u
        v = v / max(float((v * v).sum()) ** 0.5, eps)
        u = w.T @ v
        u = u / max(float((u * u).sum()) ** 0.5, eps)
    wu = w @ u
    return float((wu * wu).sum()) ** 0.5, u


class ResidualMLP(nn.Module):
    """g of an i-ResNet block: ``dims`` = (d, d₁, …, d) widths, ``activation`` one name of
    :data:`ACTIVATIONS` or one per hidden layer, every weight spectrally normalised to
    ‖Ŵ‖₂ ≤ ``c`` (``n_power_iterations`` power steps per training forward, persistent u)."""

    def __init__(self, dims: Sequence[int], activation: str | Sequence[str] = "elu",
                 c: float = 0.9, n_power_iterations: int = 1,
                 generator: Generator | None = None):
        super().__init__()
        dims = [int(d) for d in dims]
        if len(dims) < 2 or dims[0] != dims[-1] or min(dims) < 1:
            raise ShapeError(f"ResidualMLP: dims must start and end with the same width "
                             f"(y = x + g(x)), got {dims}")
        if not 0 < c < 1:
            raise ValueError(f"ResidualMLP: c must be in (0, 1) for an invertible block, "
                             f"got {c}")
        acts = [activation] * (len(dims) - 2) if isinstance(activation, str) else list(activation)
        if len(acts) != len(dims) - 2:
            raise ValueError(f"ResidualMLP: {len(dims) - 2} hidden layers need as many "
                             f"activations, got {len(acts)}")
        unknown = [a for a in acts if a not in ACTIVATIONS]
        if unknown:
            raise ValueError(f"ResidualMLP: unknown activation {unknown[0]!r}; expected one "
                             f"of {sorted(ACTIVATIONS)}")
        gen = generator or default_generator()
        self.dims, self.activations, self.c = dims, acts, float(c)
        self.n_power_iterations = int(n_power_iterations)
        self.linears = nn.ModuleList(nn.Linear(a, b, generator=gen)
                                     for a, b in zip(dims[:-1], dims[1:]))
        for l, a in enumerate(dims[1:]):
            u = gen.normal(a, dtype=np.float64).data
            self.register_buffer(f"u{l}", Tensor(u / np.linalg.norm(u)))

    def weights(self) -> list[Tensor]:
        """The normalised weights Ŵ_l = W_l / max(1, σ̂_l/c), differentiable in W_l (σ̂ =
        vᵀWu with u, v constants, as in :class:`tinygen.nn.SpectralNorm`). In training mode
        the power iteration advances first."""
        out = []
        for l, lin in enumerate(self.linears):
            w, u = lin.weight, getattr(self, f"u{l}")
            steps = self.n_power_iterations if self.training else 0
            _, un = power_iteration(w.data, u.data.astype(w.dtype), steps)
            if steps:
                u.data[...] = un
            v = w.data @ un
            v = v / max(float((v * v).sum()) ** 0.5, 1e-12)
            sigma = Tensor(v.astype(w.dtype)) @ w @ Tensor(un.astype(w.dtype))
            out.append(w / ops.maximum(sigma / self.c, 1.0))
        return out

    def hidden(self, x, weights: Sequence[Tensor], slopes: bool = True
               ) -> tuple[list[Tensor], list[Tensor]]:
        """([h₀, …, h_{L−1}], [φ'(z_1), …, φ'(z_{L−1})]) at x (B, d), with ``weights``
        (``slopes=False``: the same h's, and no slopes)."""
        x = as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.dims[0]:
            raise ShapeError(f"ResidualMLP: expected input (B, {self.dims[0]}), got {x.shape}")
        hs, ss = [x], []
        for lin, w, act in zip(self.linears, weights, self.activations):
            z = hs[-1] @ w if lin.bias is None else hs[-1] @ w + lin.bias
            if slopes:
                h, s = ACTIVATIONS[act](z)
                ss.append(s)
            else:
                h = _VALUES[act](z)
            hs.append(h)
        return hs, ss

    def residual(self, x, weights: Sequence[Tensor]) -> Tensor:
        """g(x) with the normalised ``weights`` (from :meth:`weights`)."""
        hs, _ = self.hidden(x, weights, slopes=False)
        last = self.linears[-1]
        y = hs[-1] @ weights[-1]
        return y if last.bias is None else y + last.bias

    def forward(self, x) -> Tensor:
        """g(x) (the residual, not x + g(x))."""
        return self.residual(x, self.weights())

    def jvp(self, x, weights: Sequence[Tensor] | None = None) -> Callable[[Tensor], Tensor]:
        """v ↦ J_g(x) v for directions v (B, m, d) (m per sample), by the JVP chain of the
        module docstring; the φ'(z_l) are computed once, here."""
        ws = self.weights() if weights is None else list(weights)
        _, ss = self.hidden(x, ws)
        ss = [ops.unsqueeze(s, 1) for s in ss]

        def apply(v: Tensor) -> Tensor:
            u = as_tensor(v)
            for l, w in enumerate(ws):
                u = u @ w
                if l < len(ss):
                    u = u * ss[l]
            return u

        return apply

    def vjp(self, x, weights: Sequence[Tensor] | None = None) -> Callable[[Tensor], Tensor]:
        """v ↦ vᵀJ_g(x) for rows v (B, m, d): the chain run downwards with Ŵᵀ."""
        ws = self.weights() if weights is None else list(weights)
        _, ss = self.hidden(x, ws)
        ss = [ops.unsqueeze(s, 1) for s in ss]

        def apply(v: Tensor) -> Tensor:
            u = as_tensor(v)
            for l in range(len(ws) - 1, -1, -1):
                u = u @ ops.transpose(ws[l])
                if l > 0:
                    u = u * ss[l - 1]
            return u

        return apply

    def lipschitz_bound(self) -> float:
        """∏_l ‖Ŵ_l‖₂ by SVD (the activations are 1-Lipschitz): an upper bound on Lip(g)."""
        with no_grad():
            return float(np.prod([np.linalg.svd(np.asarray(w.numpy(), np.float64),
                                                compute_uv=False)[0] for w in self.weights()]))

    def extra_repr(self) -> str:
        return f"dims={self.dims}, activations={self.activations}, c={self.c}"


def fixed_point_inverse(g: Callable[[Tensor], Tensor], y, iterations: int = 50,
                        x_true=None) -> tuple[Tensor, list[float]]:
    """x with x + g(x) = y by the fixed point x ← y − g(x), from x = y, without a graph.
    Returns x and, per iteration, the largest row error ‖x_k − x_true‖ (when ``x_true`` is
    given) or the largest residual ‖x_k + g(x_k) − y‖ otherwise. With Lip(g) ≤ c the error
    shrinks at least by c per iteration. One g per iteration: g(x_k) gives both x_k's
    residual and the next iterate x_{k+1} = y − g(x_k)."""
    if iterations < 0:
        raise ValueError(f"fixed_point_inverse: iterations must be >= 0, got {iterations}")
    with no_grad():
        y = as_tensor(y)
        x, gx = y, (g(y) if iterations else None)
        errors = []
        for k in range(iterations):
            x = y - gx
            if x_true is None or k + 1 < iterations:
                gx = g(x)
            if x_true is not None:
                diff = x.data - as_tensor(x_true).data
            else:
                diff = (x + gx - y).data
            errors.append(float(x.xp.sqrt((diff * diff).sum(axis=-1)).max()))
    if not all(np.isfinite(errors)):
        raise TinygenError("fixed_point_inverse: the iteration diverged; is Lip(g) < 1?")
    return x, errors


class IResNet(nn.Module):
    """A density model z = F(x) = F_K ∘ … ∘ F_1(x), F_i(x) = x + g_i(x), with a standard normal
    base: log p(x) = log N(F(x); 0, I) + Σ_i log|det(I + J_{g_i})| (change of variables).

    ``blocks`` residual MLPs of widths ``(d, width, …, width, d)`` (``depth`` linear layers,
    ``n_power_iterations`` power steps per training forward: with one, σ̂ lags behind fast-
    changing weights and ‖Ŵ‖₂ can exceed c a little).
    The log-determinants come from :meth:`log_prob`'s ``estimator``: ``"exact"`` (the Jacobian
    and slogdet; small d), ``"series"`` (i-ResNet's truncated series, ``n`` terms) or
    ``"roulette"`` (Residual Flows' unbiased Russian roulette, N ~ Geometric(p), two exact
    leading terms), the last two through the fused kernel (``fused=False``: the composed
    twin). ``actnorm``: after every block an elementwise affine map z ← (z + b)·exp(s)
    (Glow's ActNorm, started at the identity rather than from a batch; log-det Σ_j s_j, exact),
    which lets the flow rescale between blocks whose own stretch is bounded by 1 + c."""

    def __init__(self, d: int, blocks: int = 8, width: int = 64, depth: int = 3,
                 activation: str = "lipswish", c: float = 0.9, n_power_iterations: int = 1,
                 generator: Generator | None = None, actnorm: bool = False):
        super().__init__()
        gen = generator or default_generator()
        self.d = d
        self.blocks = nn.ModuleList(
            ResidualMLP([d] + [width] * (depth - 1) + [d], activation, c=c,
                        n_power_iterations=n_power_iterations, generator=gen)
            for _ in range(blocks))
        self.actnorm = bool(actnorm)
        if self.actnorm:
            self.shifts = nn.Parameter(np.zeros((blocks, d)))  # row i: after block i
            self.log_scales = nn.Parameter(np.zeros((blocks, d)))

    def _affine(self, i: int, z: Tensor) -> Tensor:
        """The ActNorm after block i (identity without ``actnorm``)."""
        if not self.actnorm:
            return z
        return (z + self.shifts[i:i + 1]) * ops.exp(self.log_scales[i:i + 1])

    def block_inputs(self, x) -> list[Tensor]:
        """The input of every block at x (B, d): x, then each block's output after its
        ActNorm (the points where the blocks' log-dets are taken)."""
        out = [as_tensor(x)]
        for i, block in enumerate(self.blocks[:-1]):
            out.append(self._affine(i, out[-1] + block(out[-1])))
        return out

    def affine_logdet(self) -> float:
        """Σ_i Σ_j s_ij, the ActNorms' log-det (the same for every x; 0 without them)."""
        return float(self.log_scales.data.sum()) if self.actnorm else 0.0

    def log_prob(self, x, estimator: str = "exact", n: int = 5, probes: int = 1,
                 generator: Generator | None = None, fused: bool = True,
                 p: float = 0.5, probe_kind: str = "rademacher") -> Tensor:
        """log p(x) per row of x (B, d), with the log-dets by ``estimator`` (``n`` terms for
        "series"; N ~ Geometric(``p``) for "roulette", whose variance is finite only when
        ‖J_g‖² < 1 − p). ``probe_kind``: ``probes`` random "rademacher" or "gaussian" probes,
        or "basis", the d probes √d·e_j, which make every trace exact (the series then has
        only its truncation error, at most :func:`~.logdet.truncation_bound`; cheap for
        small d, where the kernel forms the d × d Jacobians anyway)."""
        from . import logdet as L
        from .logdet_fused import fused_series_terms

        if estimator not in ("exact", "series", "roulette"):
            raise ValueError(f"IResNet.log_prob: estimator must be 'exact', 'series' or "
                             f"'roulette', got {estimator!r}")
        gen = generator or default_generator()
        z = as_tensor(x)
        total = 0.0
        for i, block in enumerate(self.blocks):
            ws = block.weights()
            if estimator == "exact":
                total = total + L.exact_logdet(lambda t, b=block, w=ws: b.residual(t, w), z)
            else:
                coef = (L.power_series_coefficients(n) if estimator == "series" else
                        L.roulette_coefficients(L.draw_terms("geometric", p, gen), 2,
                                                "geometric", p))
                v = (L.basis_probes(z.shape[0], self.d, dtype=z.dtype) if probe_kind == "basis"
                     else L.probes(z.shape[0], probes, self.d, probe_kind, gen, dtype=z.dtype))
                v = v.to(z.device)
                terms = (fused_series_terms(block, z, v, len(coef), weights=ws) if fused
                         else L.series_terms(block.jvp(z, ws), v, len(coef)))
                total = total + L.logdet_estimate(terms, coef)
            z = self._affine(i, z + block.residual(z, ws))
            if self.actnorm:
                total = total + self.log_scales[i:i + 1].sum()
        base = -0.5 * (z * z).sum(axis=1) - 0.5 * self.d * float(np.log(2 * np.pi))
        return base + total

    def forward(self, x) -> Tensor:
        """F(x), the latent point of each row."""
        z = as_tensor(x)
        for i, block in enumerate(self.blocks):
            z = self._affine(i, z + block(z))
        return z

    def inverse(self, z, iterations: int = 50) -> tuple[Tensor, list[list[float]]]:
        """F⁻¹(z) block by block, last first, each by :func:`fixed_point_inverse`; also the
        residual ‖x_k + g(x_k) − y‖ per iteration for every block (last block first)."""
        x, errors = as_tensor(z), []
        for i in reversed(range(len(self.blocks))):
            block, ws = self.blocks[i], self.blocks[i].weights()
            if self.actnorm:
                with no_grad():
                    x = x * ops.exp(-self.log_scales[i:i + 1]) - self.shifts[i:i + 1]
            x, err = fixed_point_inverse(lambda t, b=block, w=ws: b.residual(t, w), x,
                                         iterations)
            errors.append(err)
        return x, errors
