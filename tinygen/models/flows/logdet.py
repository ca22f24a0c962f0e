r"""log|det(I + J_g(x))| per sample for a residual map y = x + g(x) with Lip(g) < 1: exact,
and by the randomised estimators of i-ResNet and Residual Flows (the invertible-ResNet post).

With ‖J‖₂ ≤ c < 1 the matrix logarithm has a convergent power series, and log det = tr log::

    log det(I + J) = tr log(I + J) = Σ_{k≥1} (−1)^{k+1} tr(J^k) / k                   (1)

**Hutchinson.** tr(A) = E[vᵀAv] for any probe with E[vvᵀ] = I: Gaussian N(0, I), or
Rademacher (±1 entries), whose variance is lower: Var = 2Σ_{i≠j} Ā_ij² against 2Σ_{i,j} Ā_ij²
for Gaussian probes, Ā = (A + Aᵀ)/2. So each term of (1) costs k products J v, and
t_k = vᵀJ^k v for k = 1 … n all come from one chain v, Jv, J²v, … (:func:`series_terms`).

**Truncated series (i-ResNet).** Σ_{k≤n} (−1)^{k+1} t_k / k: biased; since |tr(J^k)| ≤ d c^k,
the bias is at most d·(−log(1 − c) − Σ_{k≤n} c^k/k) (:func:`truncation_bound`).

**Russian roulette (Residual Flows).** Draw N (geometric or Poisson) and weight term k by
1/P(N ≥ k): E[Σ_{k≤N} a_k / P(N ≥ k)] = Σ_k a_k, so the estimate is unbiased; the first few
terms are always kept (weight 1) to lower the variance (:func:`roulette_coefficients`).

**Gradients.** Differentiating an estimate through the chain (``tinygen.grad``) needs the graph
of all n products. The Neumann-series gradient estimator needs one: since
∂ log det(I + J) = tr((I + J)⁻¹ ∂J) = Σ_{k≥0} (−1)^k tr(J^k ∂J), the estimate
Σ_{k<n} (−1)^k (vᵀJ^k)(∂J)v is the gradient of the surrogate w·(Jv) with the row w =
Σ_{k<n} (−1)^k vᵀJ^k held constant (:func:`neumann_logdet`). Per probe it differs from the
gradient of the truncated series; averaged over probes (exactly, with :func:`basis_probes`) the
two agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ... import ops
from ...autograd import Tensor, as_tensor, enable_grad, grad, is_grad_enabled, no_grad
from ...errors import ShapeError
from ...random import Generator, default_generator

__all__ = ["basis_probes", "draw_terms", "exact_logdet", "hutchinson_trace", "jacobian",
           "log_volume", "logdet_estimate", "neumann_coefficients", "neumann_logdet",
           "power_series_coefficients", "probes", "roulette_coefficients", "series_terms",
           "tail_probability", "truncation_bound"]

Jvp = Callable[[Tensor], Tensor]


def probes(batch: int, m: int, d: int, kind: str = "rademacher",
           generator: Generator | None = None, dtype=None) -> Tensor:
    """(batch, m, d) probes with E[vvᵀ] = I: ``"rademacher"`` (±1) or ``"gaussian"``."""
    gen = generator or default_generator()
    if kind == "gaussian":
        return gen.normal(batch, m, d, dtype=dtype)
    if kind == "rademacher":
        return 2.0 * gen.bernoulli(0.5, (batch, m, d), dtype=dtype) - 1.0
    raise ValueError(f"probes: kind must be 'rademacher' or 'gaussian', got {kind!r}")


def basis_probes(batch: int, d: int, dtype=np.float64) -> Tensor:
    """(batch, d, d) probes √d·e_j, j = 1 … d: their average of vᵀAv is tr(A) exactly."""
    return Tensor(np.broadcast_to(math.sqrt(d) * np.eye(d, dtype=dtype), (batch, d, d)).copy())


def hutchinson_trace(matvec: Jvp, v: Tensor) -> Tensor:
    """tr(A) ≈ mean over the m probes of vᵀAv, per sample: v (B, m, d), ``matvec`` maps
    probes to A v (same shape); returns (B,). Unbiased when E[vvᵀ] = I."""
    return (v * matvec(v)).sum(axis=-1).mean(axis=1)


def series_terms(jvp: Jvp, v: Tensor, n: int) -> Tensor:
    """t_k = vᵀJ^k v for k = 1 … n, per sample and probe: (B, m, n), from the chain
    v, Jv, J²v, … (n products J·); differentiable wherever ``jvp`` is."""
    if n < 1:
        raise ValueError(f"series_terms: n must be at least 1, got {n}")
    u, terms = v, []
    for _ in range(n):
        u = jvp(u)
        terms.append((v * u).sum(axis=-1))
    return ops.stack(terms, axis=-1)


def power_series_coefficients(n: int) -> np.ndarray:
    """(−1)^{k+1}/k for k = 1 … n: the truncated series of i-ResNet."""
    k = np.arange(1, n + 1)
    return (-1.0) ** (k + 1) / k


def tail_probability(j: np.ndarray, dist: str, param: float) -> np.ndarray:
    """P(N ≥ j) for N ~ ``"geometric"`` (P(N = j) = p(1 − p)^{j−1}, j ≥ 1; param p) or
    ``"poisson"`` (param λ)."""
    j = np.asarray(j)
    if dist == "geometric":
        if not 0 < param < 1:
            raise ValueError(f"tail_probability: geometric p must be in (0, 1), got {param}")
        return np.where(j <= 1, 1.0, (1.0 - param) ** (j - 1.0))
    if dist == "poisson":
        if param <= 0:
            raise ValueError(f"tail_probability: Poisson λ must be positive, got {param}")
        def upper(jj: int) -> float:  # Σ_{i≥j} e^{−λ}λ^i/i!, summed from j up (no 1 − CDF)
            i = np.arange(max(int(jj), 0), max(int(jj), 0) + 400)
            return float(np.exp(-param + i * math.log(param) - [math.lgamma(k + 1) for k in i])
                         .sum())
        return np.array([upper(jj) for jj in np.atleast_1d(j)]).reshape(j.shape)
    raise ValueError(f"tail_probability: dist must be 'geometric' or 'poisson', got {dist!r}")


def draw_terms(dist: str = "geometric", param: float = 0.5,
               generator: Generator | None = None) -> int:
    """One draw of N (see :func:`tail_probability`)."""
    rng = (generator or default_generator())._rng
    tail_probability(np.array(1), dist, param)  # checks the arguments
    return int(rng.geometric(param) if dist == "geometric" else rng.poisson(param))


def roulette_coefficients(drawn: int, n_exact: int = 2, dist: str = "geometric",
                          param: float = 0.5) -> np.ndarray:
    """Coefficients of t_1 … t_{n_exact + drawn} for the Russian-roulette estimate:
    (−1)^{k+1}/k, divided by P(N ≥ k − n_exact) beyond the ``n_exact`` leading terms."""
    k = np.arange(1, n_exact + drawn + 1)
    weight = 1.0 / tail_probability(np.maximum(k - n_exact, 1), dist, param)
    return power_series_coefficients(n_exact + drawn) * np.where(k <= n_exact, 1.0, weight)


def neumann_coefficients(series: np.ndarray) -> np.ndarray:
    """The Neumann-gradient coefficients matching series coefficients a_k = (−1)^{k+1} w_k/k
    (k = 1 … n): (−1)^j w_{j+1} for vᵀJ^j, j = 0 … n − 1 (i.e. k·a_k)."""
    return np.asarray(series) * np.arange(1, len(series) + 1)


def logdet_estimate(terms: Tensor, coefficients: Sequence[float]) -> Tensor:
    """Σ_k a_k · mean over probes of t_k, per sample: terms (B, m, n) → (B,)."""
    a = np.asarray(coefficients, dtype=terms.dtype)
    if terms.ndim != 3 or terms.shape[-1] != len(a):
        raise ShapeError(f"logdet_estimate: terms (B, m, n) with n = {len(a)} coefficients, "
                         f"got {terms.shape}")
    return (terms * Tensor(terms.xp.asarray(a))).sum(axis=-1).mean(axis=1)


def truncation_bound(d: int, c: float, n: int) -> float:
    """d·(−log(1 − c) − Σ_{k≤n} c^k/k) ≥ |Σ_{k>n} (−1)^{k+1} tr(J^k)/k| when ‖J‖₂ ≤ c."""
    return d * (-math.log1p(-c) - sum(c ** k / k for k in range(1, n + 1)))


def jacobian(g: Callable[[Tensor], Tensor], x) -> Tensor:
    """J_g(x) per sample, (B, d_out, d_in), row i from one reverse pass of Σ_b g_i(x_b)
    (``tinygen.grad`` with create_graph, so J is differentiable in x and the weights; under
    ``no_grad`` the values only)."""
    x = as_tensor(x)
    graph = is_grad_enabled()  # under no_grad: the values only (a graph is built, then freed)
    with enable_grad():
        if not x.requires_grad:
            x = x.detach().requires_grad_()
        y = g(x)
        rows = [grad(y[:, i].sum(), x, create_graph=graph, retain_graph=True)
                for i in range(y.shape[1])]
    return ops.stack(rows, axis=1)


def exact_logdet(g: Callable[[Tensor], Tensor], x) -> Tensor:
    """log|det(I + J_g(x))| per sample (B,), by the full Jacobian and ``slogdet`` — small d
    only (d reverse passes); the oracle the estimators are tested against."""
    j = jacobian(g, x)
    eye = Tensor(j.xp.eye(j.shape[-1], dtype=j.dtype))
    return ops.slogdet(eye + j)[1]


def log_volume(j) -> Tensor:
    """½ log det(JᵀJ) for matrices J (..., n, k) with n ≥ k: the log k-volume of the
    parallelotope their columns span (= Σ log σ_i, the singular values; log|det J| when
    n = k). For a map R^k → R^n it is the log area element: a density p on R^k pushed onto
    the k-dimensional image has density p(u)·exp(−log_volume(J_f(u))) there (the
    determinant of a non-square matrix post)."""
    j = as_tensor(j)
    if j.ndim < 2 or j.shape[-2] < j.shape[-1]:
        raise ShapeError(f"log_volume: expected (..., n, k) matrices with n >= k, got {j.shape}")
    return 0.5 * ops.slogdet(ops.transpose(j) @ j)[1]


def neumann_logdet(jvp: Jvp, vjp: Jvp, v: Tensor, coefficients: Sequence[float]) -> Tensor:
    """The estimate Σ_k a_k t_k (mean over probes, per sample) whose *gradient* is the
    Neumann-series estimator: value computed without a graph, gradient that of the surrogate
    w·(Jv), w = Σ_j k·a_k vᵀJ^j (k = j + 1) constant. One differentiable product instead
    of n."""
    a = np.asarray(coefficients, dtype=np.float64)
    with no_grad():
        value = logdet_estimate(series_terms(jvp, v, len(a)), a)
        b = neumann_coefficients(a)
        u, w = v, b[0] * v.data
        for bj in b[1:]:
            u = vjp(u)
            w = w + bj * u.data
    surrogate = (Tensor(w) * jvp(v)).sum(axis=-1).mean(axis=1)
    return value + (surrogate - surrogate.detach())
