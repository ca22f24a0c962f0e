"""Linear-chain CRF on the CPU: forward algorithm, forward-backward marginals and Viterbi.

For emissions h (B, L, K), transitions G (K, K), start and end scores s, e (K,) and the
length n_b of each sequence (its mask is 1 on positions 0 … n_b − 1), in log space::

    α_0(j) = s_j + h_0(j)
    α_t(j) = logsumexp_i(α_{t−1}(i) + G_ij) + h_t(j)          1 ≤ t < n_b
    α_t    = α_{n_b−1}                                        t ≥ n_b (carried unchanged)
    log Z  = logsumexp_j(α_{n_b−1}(j) + e_j)

    β_{n_b−1}(i) = e_i,   β_t(i) = logsumexp_j(G_ij + h_{t+1}(j) + β_{t+1}(j))
    μ_t(j)       = exp(α_t(j) + β_t(j) − log Z)                  unary marginals
    ξ_t(i, j)    = exp(α_t(i) + G_ij + h_{t+1}(j) + β_{t+1}(j) − log Z)   pairwise

μ and ξ are zero at padded positions. ∂log Z/∂h_t(j) = μ_t(j), ∂log Z/∂G_ij = Σ_t ξ_t(i, j),
∂log Z/∂s = μ_0 and ∂log Z/∂e = μ_{n_b−1}: the marginals *are* the gradient.

**Few exponentials: a factorised max-shift.** A direct logsumexp costs K² exponentials per
step, and without SVML (not installed here) every ``exp`` is a scalar libm call (~6 ns), so
K = 64 would spend nearly all its time in ``exp``. Instead the max-shift is split between
the two terms, with a = max_i α_{t−1}(i) and g_j = max_i G_ij (a column maximum)::

    logsumexp_i(α_{t−1}(i) + G_ij) = a + g_j + log Σ_i e^{α_{t−1}(i) − a} · E_ij,
    E_ij = e^{G_ij − g_j} ∈ [0, 1], computed once per call.

Each step is then K exponentials, a vector-matrix product (K² multiply-adds, four rows of E
per pass over the result so LLVM's vectorised loop is bound by arithmetic, not by loads and
stores) and K logarithms. Both factors are ≤ 1, so nothing overflows at any scale; what can
happen at scores of ±1e4 is *underflow*. Factors below e^{CUT} = e^−300 are set to 0 (which
also keeps every product of two factors out of the subnormal range, where arithmetic is ~100×
slower); the terms lost that way are < K·e^−300 in total, so as long as the computed sum
s_j ≥ TINY = e^−200 its relative error is < K·e^−100, and a column with s_j < TINY is
recomputed exactly (two passes, max then Σ exp) from the stored α. The backward pass does
the same with row maxima (r_i = Σ_j e^{G_ij − max_j G_ij} q_j). The pairwise marginals are
kept as factors, ξ_t(i, j) = W_t(i) · e^{G_ij − max G} · Q_t(j) with W_t = σ_t e^{α_t − max α_t},
Q_t = e^{c − max c} (c = h_{t+1} + β_{t+1}) and σ_t = e^{max α_t + max c + max G − log Z} ≥ 1/K²
(Σ_ij ξ_t = 1); summed over t that is e^{G − max G} ⊙ (Wᵀ Q), one batched BLAS product
instead of K² updates per step, and μ_t(i) = Σ_j ξ_t(i, j) = W_t(i) e^{max_j G_ij − max G} r_i
costs no exponential. A step with σ_t > e^200 (a significant ξ could then need a factor
below e^CUT) takes the exact K² exponentials instead. All arithmetic is float64 (float32
inputs are widened on read, log Z is recomputed in float64 for the marginals); outputs take
h's dtype.

**exp and log that vectorise.** The remaining K exponentials and logarithms per step are
branch-free polynomials (:func:`_exp_shifted`: e^r, |r| ≤ ln 2/2, degree-12 Taylor times 2^k
built from its bits; :func:`_log_positive`: 2 atanh((m − 1)/(m + 1)) of the mantissa, 11
terms), within 2 ulp of libm and vectorised by LLVM (AVX2 lanes): 2.2 ns per value against
6.3 ns for a libm call, measured in a loop of 64-value calls. Below K = 8 tags plain libm
loops are faster and are used.

Measured forward + marginals (the NLL gradient) for B = L = 64, float32, median ms on this
repo's 2-core Xeon (±30 %: other processes share the cores)::

    K                                              4            16            64
    K² libm exps per step (estimate, not kept)     ~0.4         ~6            ~100 (fwd only)
    factorised, libm exp/log, K² ξ updates/step    0.9 (.33+.56) 2.6 (.8+1.8)  19 (4.5+14.6)
    this file                                      1.4 (.52+.84) 2.8 (.8+2.0)  13 (3.2+9.5)

(At K = 4 the earlier, simpler loops were faster — fewer helper calls per step — but the
whole NLL step there is dominated by fixed costs anyway; K = 64 is where the time goes.)

**The NLL step's fast path: scaled probabilities.** The log-space recursions above pay K
exponentials and K logarithms per step (libm calls below K = 8), which made the whole NLL +
gradient step only 5–7× pytorch-crf at K = 4. :func:`nll` first tries each sequence in
Rabiner's scaled form (:func:`_scaled_nll_seq`): the emission factors of the whole sequence
in one vectorised exponential pass, then per step a vector-matrix product, a sum and one
division, with the logarithms of the n scale factors taken together at the end. It is exact
where its dropped terms provably cannot matter (the kept mass never shrinks by more than
e^250 along the sequence), which holds at any ordinary scale; a sequence at extreme scores
(±1e4), or with a NaN, reruns on the log-space path. Measured (thread CPU time, B = L = 64,
float32, load ~8): the kernel call 1.21 → 0.41 ms (K = 4), 2.78 → 1.63 ms (K = 16),
15.8 → 13.1 ms (K = 64).

**Serial, not parallel over the batch.** Sequences are independent, so the batch loop could
be a ``prange`` (the ``parallel=True`` variants below). Measured on the 2 cores here, the
whole NLL + gradient step of ``benchmarks/crf.py``: with Numba's OpenMP layer (its default
here) 2.4 → 1.7 ms (K = 4) and 16 → 12 ms (K = 64) when the CRF runs alone, but 3.8 → 8.0 ms
and 18 → 23 ms when each step also runs a few float32 GEMMs, as a model's encoder does: the
OpenMP threads spin against OpenBLAS's (the same clash the conv kernels measured); with the
workqueue layer no gain at all (2.2 → 2.1, 15 → 15 ms). So :data:`PARALLEL` is False and the
kernels run serially; pass ``parallel=True`` to the host functions to use the prange
variants.

Every public function takes and returns NumPy arrays (never Tensors); ``lengths`` is an
int64 array (B,) with 1 ≤ n_b ≤ L. Transitions may hold −inf (a forbidden transition), and
then a tag that cannot be reached gets α = −inf and zero marginals.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

CUT = -300.0          # e^x with x < CUT is taken as 0 (keeps products of factors out of the
#                       subnormal range, where arithmetic is ~100× slower)
TINY = math.exp(-200.0)  # a factorised sum below this is recomputed exactly
MAX_LOG_SCALE = 200.0  # pairwise step scale above e^200 → exact exponentials
SMALL_K = 8           # below this many tags, plain libm exp/log loops are faster

# prange over the batch: slower next to BLAS on 2 cores (see the module docstring).
PARALLEL = False


# -- one sequence -----------------------------------------------------------------------------

@njit(cache=True)
def _lse_column(prev, G, j):
    """logsumexp_i(prev[i] + G[i, j]) by two passes (exact; −inf when every term is)."""
    K = prev.shape[0]
    m = -np.inf
    for i in range(K):
        x = prev[i] + G[i, j]
        if x > m:
            m = x
    if m == -np.inf:
        return m
    s = 0.0
    for i in range(K):
        s += math.exp(prev[i] + G[i, j] - m)
    return m + math.log(s)


@njit(cache=True)
def _lse_row(G, c, i):
    """logsumexp_j(G[i, j] + c[j]) by two passes (exact)."""
    K = c.shape[0]
    m = -np.inf
    for j in range(K):
        x = G[i, j] + c[j]
        if x > m:
            m = x
    if m == -np.inf:
        return m
    s = 0.0
    for j in range(K):
        s += math.exp(G[i, j] + c[j] - m)
    return m + math.log(s)


@njit(cache=True)
def _lse_plus(x, y):
    """logsumexp_j(x[j] + y[j])."""
    m = -np.inf
    for j in range(x.shape[0]):
        if x[j] + y[j] > m:
            m = x[j] + y[j]
    if m == -np.inf:
        return m
    tot = 0.0
    for j in range(x.shape[0]):
        tot += math.exp(x[j] + y[j] - m)
    return m + math.log(tot)


# -- exp and log that vectorise ------------------------------------------------------------------
# libm's scalar exp and log (no SVML here) cost ~6 ns each and dominated the kernels; these
# are branch-free polynomials that LLVM vectorises (~2 ns each, within 2 ulp of libm).

_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 split in two so k·ln 2 is exact for |k| < 2^20
_LN2_LO = 1.9082149292705877e-10
_ROUND = 6755399441055744.0  # 1.5·2^52: adding and subtracting it rounds to an integer
_SQRT2 = 1.4142135623730951
_MANTISSA = (1 << 52) - 1
_ONE_BITS = 1023 << 52


@njit(cache=True, fastmath={"contract"})
def _exp_shifted(x, shift, out, work):
    """out[i] = exp(x[i] − shift) for x[i] ≤ shift (0 below e^CUT, −inf included):
    x − shift = k·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its degree-12 Taylor polynomial
    (error < 2e−16), 2^k built from its bits in ``work``."""
    if x.shape[0] < SMALL_K:
        for i in range(x.shape[0]):
            d = x[i] - shift
            out[i] = math.exp(d) if d > CUT else 0.0
        return
    bits = work.view(np.int64)
    for i in range(x.shape[0]):
        d = x[i] - shift
        dc = d if d > CUT else CUT
        k = (dc * _LOG2E + _ROUND) - _ROUND
        r = (dc - k * _LN2_HI) - k * _LN2_LO
        p = 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        bits[i] = (np.int64(k) + 1023) << 52
        out[i] = p if d > CUT else 0.0
    for i in range(x.shape[0]):
        out[i] *= work[i]


@njit(cache=True, fastmath={"contract"})
def _log_positive(s, out, work):
    """out[i] = log s[i] for positive normal s[i] (other entries get meaningless values):
    s = m·2^e with m ∈ [√½, √2), log m = 2 atanh(f) = 2(f + f³/3 + … + f²¹/21) with
    f = (m − 1)/(m + 1), |f| ≤ 0.172 (error < 1e−16)."""
    if s.shape[0] < SMALL_K:
        for i in range(s.shape[0]):
            out[i] = math.log(s[i]) if s[i] > 0.0 else -np.inf
        return
    sb = s.view(np.int64)
    wb = work.view(np.int64)
    for i in range(s.shape[0]):
        wb[i] = (sb[i] & _MANTISSA) | _ONE_BITS
        out[i] = float((sb[i] >> 52) - 1023)
    for i in range(s.shape[0]):
        m = work[i]
        e = out[i]
        big = m > _SQRT2
        m = m * 0.5 if big else m
        e = e + 1.0 if big else e
        f = (m - 1.0) / (m + 1.0)
        f2 = f * f
        q = 1.0 / 21.0
        q = q * f2 + 1.0 / 19.0
        q = q * f2 + 1.0 / 17.0
        q = q * f2 + 1.0 / 15.0
        q = q * f2 + 1.0 / 13.0
        q = q * f2 + 1.0 / 11.0
        q = q * f2 + 1.0 / 9.0
        q = q * f2 + 1.0 / 7.0
        q = q * f2 + 1.0 / 5.0
        q = q * f2 + 1.0 / 3.0
        q = q * f2 + 1.0
        out[i] = e * _LN2_HI + (2.0 * f * q + e * _LN2_LO)


@njit(cache=True, fastmath={"contract"})
def _weighted_rows(p, E, s):
    """s[j] = Σ_i p[i]·E[i, j], four rows per pass over s (a quarter of the loads and
    stores of one row at a time, so the loop is limited by multiply-adds, not memory)."""
    K, J = E.shape
    for j in range(J):
        s[j] = 0.0
    i = 0
    while i + 4 <= K:
        p0, p1, p2, p3 = p[i], p[i + 1], p[i + 2], p[i + 3]
        for j in range(J):
            s[j] += p0 * E[i, j] + p1 * E[i + 1, j] + p2 * E[i + 2, j] + p3 * E[i + 3, j]
        i += 4
    while i < K:
        pi = p[i]
        for j in range(J):
            s[j] += pi * E[i, j]
        i += 1


@njit(cache=True)
def _maximum(x):
    m = -np.inf
    for i in range(x.shape[0]):
        if x[i] > m:
            m = x[i]
    return m


# -- one sequence -------------------------------------------------------------------------------

@njit(cache=True)
def _forward_seq(h, b, n, G, Ec, gcol, start, end, alpha):
    """α (into ``alpha[b]``, float64) and log Z of sequence b."""
    L, K = h.shape[1], h.shape[2]
    p, s, logs, work = np.empty(K), np.empty(K), np.empty(K), np.empty(K)
    for j in range(K):
        alpha[b, 0, j] = start[j] + h[b, 0, j]
    for t in range(1, n):
        prev = alpha[b, t - 1]
        a = _maximum(prev)
        if a == -np.inf:
            for j in range(K):
                alpha[b, t, j] = -np.inf
            continue
        _exp_shifted(prev, a, p, work)       # p_i = e^{α_{t−1}(i) − a}
        _weighted_rows(p, Ec, s)             # s_j = Σ_i p_i e^{G_ij − g_j}
        _log_positive(s, logs, work)
        for j in range(K):
            if s[j] >= TINY:
                alpha[b, t, j] = a + gcol[j] + logs[j] + h[b, t, j]
            else:                            # underflow: the exact two-pass logsumexp
                alpha[b, t, j] = _lse_column(prev, G, j) + h[b, t, j]
    for t in range(n, L):
        for j in range(K):
            alpha[b, t, j] = alpha[b, n - 1, j]
    return _lse_plus(alpha[b, n - 1], end)


@njit(cache=True)
def _marginals_seq(h, b, n, G, ErT, grow, psi, gmax, end, alpha, unary, W, Q, extra,
                   per_position):
    """β by the backward recursion; μ into ``unary[b]``; the pairwise marginals as factors
    ξ_t(i, j) = W[b, t, i] · e^{G_ij − max G} · Q[b, t, j] (the caller multiplies them out),
    except at steps whose scale is too large, which add exact values into ``extra``."""
    K = h.shape[2]
    lz = _lse_plus(alpha[b, n - 1], end)  # log Z again, in float64 (the caller's may be float32)
    if not math.isfinite(lz):
        return  # no path has a finite score: marginals are left at zero
    c, q, r, logr = np.empty(K), np.empty(K), np.empty(K), np.empty(K)
    beta, P, work = np.empty(K), np.empty(K), np.empty(K)
    for j in range(K):
        beta[j] = end[j]
        unary[b, n - 1, j] = math.exp(alpha[b, n - 1, j] + end[j] - lz)
    for t in range(n - 2, -1, -1):
        for j in range(K):
            c[j] = h[b, t + 1, j] + beta[j]  # c_j = h_{t+1}(j) + β_{t+1}(j)
        cm = _maximum(c)
        at = alpha[b, t]
        a = _maximum(at)
        if cm == -np.inf or a == -np.inf:  # nothing reachable: β = −inf, μ = ξ = 0
            for i in range(K):
                beta[i] = -np.inf
            continue
        _exp_shifted(c, cm, q, work)         # q_j = e^{c_j − cm}
        _weighted_rows(q, ErT, r)            # r_i = Σ_j e^{G_ij − grow_i} q_j
        _log_positive(r, logr, work)
        log_sigma = a + cm + gmax - lz       # ξ_t(i, j) = σ · P_i · e^{G_ij − gmax} · q_j
        fast = log_sigma <= MAX_LOG_SCALE
        if fast:
            sigma = math.exp(log_sigma)
            _exp_shifted(at, a, P, work)     # P_i = e^{α_t(i) − a}
            for i in range(K):
                W[b, t, i] = sigma * P[i]
                Q[b, t, i] = q[i]
        else:
            pp = t if per_position else 0
            for i in range(K):
                for j in range(K):
                    extra[b, pp, i, j] += math.exp(at[i] + G[i, j] + c[j] - lz)
        for i in range(K):
            ok = r[i] >= TINY
            beta[i] = cm + grow[i] + logr[i] if ok else _lse_row(G, c, i)
            if fast and ok:  # μ_t(i) = Σ_j ξ_t(i, j) = W_i · e^{grow_i − gmax} · r_i
                unary[b, t, i] = W[b, t, i] * psi[i] * r[i]
            else:
                unary[b, t, i] = math.exp(at[i] + beta[i] - lz)


@njit(cache=True)
def _viterbi_seq(h, b, n, G, start, end, paths):
    """Best path of sequence b into ``paths[b]`` (−1 past n); returns its score."""
    L, K = h.shape[1], h.shape[2]
    v = np.empty(K)
    best = np.empty(K)
    back = np.zeros((n, K), dtype=np.int32)
    for j in range(K):
        v[j] = start[j] + h[b, 0, j]
    for t in range(1, n):
        best[:] = -np.inf
        arg = back[t]
        for i in range(K):
            vi = v[i]
            for j in range(K):
                x = vi + G[i, j]
                if x > best[j]:
                    best[j] = x
                    arg[j] = i
        for j in range(K):
            v[j] = best[j] + h[b, t, j]
    top = 0
    score = -np.inf
    for j in range(K):
        x = v[j] + end[j]
        if x > score:
            score = x
            top = j
    paths[b, n - 1] = top
    for t in range(n - 1, 0, -1):
        top = back[t, top]
        paths[b, t - 1] = top
    for t in range(n, L):
        paths[b, t] = -1
    return score


@njit(cache=True)
def _gold_seq(h, b, n, y, G, start, end, unary, counts, with_grad):
    """The score s(y) of sequence b's labels (float64) and, ``with_grad``, the observed
    counts taken off the marginals: unary[b, t, y_t] −= 1 and counts[b, y_{t−1}, y_t] += 1."""
    score = start[y[b, 0]]
    for t in range(n):
        score += h[b, t, y[b, t]]
        if t > 0:
            score += G[y[b, t - 1], y[b, t]]
    score += end[y[b, n - 1]]
    if with_grad:
        for t in range(n):
            unary[b, t, y[b, t]] -= 1.0
            if t > 0:
                counts[b, y[b, t - 1], y[b, t]] += 1.0
    return score


@njit(cache=True)
def _scaled_nll_seq(h, b, n, Ec, EcT, gcol, start, end, ahat, unary, W, Q, with_grad):
    """Forward-backward of sequence b in scaled probabilities (Rabiner's scaling), the fast
    path of the NLL step: no logarithm per step and the emission exponentials of the whole
    sequence in one vectorised pass. With m_t = max_j(h_t(j) + g_j) and
    E_t(j) = e^{h_t(j) + g_j − m_t} (g the column maxima of G, Ec = e^{G − g} ≤ 1)::

        s_t = (â_{t−1} Ec) ⊙ E_t,   c_t = Σ_j s_t(j),   â_t = s_t / c_t
        log Z = Σ_t (m_t + log c_t) + log Σ_j â_{n−1}(j) e^{e_j}
        β̂_{n−1} ∝ e^{e},   β̂_t = Ec (E_{t+1} ⊙ β̂_{t+1}) / c_{t+1},   μ_t = â_t ⊙ β̂_t
        ξ_t(i, j) = â_t(i) · Ec_ij · E_{t+1}(j) β̂_{t+1}(j) / c_{t+1}   (W_t = â_t, Q_t the rest)

    Terms below e^CUT are dropped. A dropped path could only matter again if the kept mass
    shrank by more than e^{−CUT} afterwards, and the total shrinkage is bounded by
    Σ_t max(0, −log c_t): when that stays ≤ −CUT − 50 = 250 the result is exact to e^{−50}
    relative; otherwise (or on NaN, an unreachable step, no finite path) this returns
    (False, 0) and the caller runs the exact log-space path. Returns (ok, log Z)."""
    K = h.shape[2]
    E = np.empty((n, K))
    d = np.empty((n, K))
    m = np.empty(n)
    c = np.empty(n)
    logc = np.empty(n)
    s = np.empty(K)
    mx = -np.inf
    for j in range(K):
        d[0, j] = start[j] + h[b, 0, j]
        if d[0, j] > mx:
            mx = d[0, j]
    m[0] = mx
    for t in range(1, n):
        mx = -np.inf
        for j in range(K):
            d[t, j] = h[b, t, j] + gcol[j]
            if d[t, j] > mx:
                mx = d[t, j]
        m[t] = mx
    for t in range(n):
        if not (m[t] > -np.inf and m[t] < np.inf):  # −inf everywhere, +inf or NaN
            return False, 0.0
        for j in range(K):
            d[t, j] -= m[t]
            if not (d[t, j] <= 0.0):  # a NaN among finite scores
                return False, 0.0
    flat_d, flat_e = d.reshape(-1), E.reshape(-1)
    _exp_shifted(flat_d, 0.0, flat_e, np.empty(n * K))
    tot = 0.0
    for j in range(K):
        tot += E[0, j]
    c[0] = tot  # ≥ 1: the largest term is e^0
    for j in range(K):
        ahat[b, 0, j] = E[0, j] / tot
    for t in range(1, n):
        _weighted_rows(ahat[b, t - 1], Ec, s)  # s_j = Σ_i â_{t−1}(i) Ec_ij
        tot = 0.0
        for j in range(K):
            s[j] *= E[t, j]
            tot += s[j]
        if not (tot > 1e-250):  # nothing survives at this scale (or NaN): exact path
            return False, 0.0
        c[t] = tot
        inv = 1.0 / tot
        for j in range(K):
            v = s[j] * inv
            ahat[b, t, j] = v if v > 1e-300 else 0.0  # keep clear of subnormals
    emax = _maximum(end)
    if not (emax > -np.inf and emax < np.inf):
        return False, 0.0
    cz = 0.0
    bend = np.empty(K)
    for j in range(K):
        bend[j] = math.exp(end[j] - emax) if end[j] - emax > CUT else 0.0
        cz += ahat[b, n - 1, j] * bend[j]
    if not (cz > 1e-250):
        return False, 0.0
    _log_positive(c, logc, np.empty(n))
    lz = emax + math.log(cz)
    shrink = max(0.0, -math.log(cz))
    for t in range(n):
        lz += m[t] + logc[t]
        if logc[t] < 0.0:
            shrink -= logc[t]
    if not (shrink <= -CUT - 50.0):
        return False, 0.0
    if not with_grad:
        return True, lz
    beta = np.empty(K)
    q = np.empty(K)
    for j in range(K):
        beta[j] = bend[j] / cz
        unary[b, n - 1, j] = ahat[b, n - 1, j] * beta[j]
    for t in range(n - 2, -1, -1):
        inv = 1.0 / c[t + 1]
        for j in range(K):
            q[j] = E[t + 1, j] * beta[j] * inv
            Q[b, t, j] = q[j]
            W[b, t, j] = ahat[b, t, j]
        _weighted_rows(q, EcT, beta)  # β̂_t(i) = Σ_j Ec_ij q_j
        for i in range(K):
            unary[b, t, i] = ahat[b, t, i] * beta[i]
    return True, lz


# -- batch loops: serial and prange variants ----------------------------------------------------

@njit(cache=True)
def _forward_serial(h, lengths, G, Ec, gcol, start, end, alpha, log_z):
    for b in range(h.shape[0]):
        log_z[b] = _forward_seq(h, b, lengths[b], G, Ec, gcol, start, end, alpha)


@njit(cache=True, parallel=True)
def _forward_parallel(h, lengths, G, Ec, gcol, start, end, alpha, log_z):
    for b in prange(h.shape[0]):
        log_z[b] = _forward_seq(h, b, lengths[b], G, Ec, gcol, start, end, alpha)


@njit(cache=True)
def _marginals_serial(h, lengths, G, ErT, grow, psi, gmax, end, alpha, unary, W, Q, extra,
                      per_position):
    for b in range(h.shape[0]):
        _marginals_seq(h, b, lengths[b], G, ErT, grow, psi, gmax, end, alpha, unary, W, Q,
                       extra, per_position)


@njit(cache=True, parallel=True)
def _marginals_parallel(h, lengths, G, ErT, grow, psi, gmax, end, alpha, unary, W, Q, extra,
                        per_position):
    for b in prange(h.shape[0]):
        _marginals_seq(h, b, lengths[b], G, ErT, grow, psi, gmax, end, alpha, unary, W, Q,
                       extra, per_position)


@njit(cache=True)
def _viterbi_serial(h, lengths, G, start, end, paths, scores):
    for b in range(h.shape[0]):
        scores[b] = _viterbi_seq(h, b, lengths[b], G, start, end, paths)


@njit(cache=True, parallel=True)
def _viterbi_parallel(h, lengths, G, start, end, paths, scores):
    for b in prange(h.shape[0]):
        scores[b] = _viterbi_seq(h, b, lengths[b], G, start, end, paths)


@njit(cache=True)
def _nll_seq(h, b, n, y, G, Ec, EcT, gcol, ErT, grow, psi, gmax, start, end, alpha, unary, W,
             Q, extra, counts, log_z, score, fast, scaled, with_grad):
    """Sequence b's NLL step: the scaled fast path when ``scaled`` and it is exact here
    (``fast[b]`` records which path ran), else the log-space recursions; then the gold
    score. The fast path writes no gradient unless it succeeds."""
    ok = False
    if scaled:
        ok, lz = _scaled_nll_seq(h, b, n, Ec, EcT, gcol, start, end, alpha, unary, W, Q,
                                 with_grad)
        if ok:
            log_z[b] = lz
    if not ok:
        log_z[b] = _forward_seq(h, b, n, G, Ec, gcol, start, end, alpha)
        if with_grad:
            _marginals_seq(h, b, n, G, ErT, grow, psi, gmax, end, alpha, unary, W, Q, extra,
                           False)
    fast[b] = ok
    score[b] = _gold_seq(h, b, n, y, G, start, end, unary, counts, with_grad)


@njit(cache=True)
def _nll_serial(h, lengths, y, G, Ec, EcT, gcol, ErT, grow, psi, gmax, start, end, alpha,
                unary, W, Q, extra, counts, log_z, score, fast, scaled, with_grad):
    for b in range(h.shape[0]):
        _nll_seq(h, b, lengths[b], y, G, Ec, EcT, gcol, ErT, grow, psi, gmax, start, end,
                 alpha, unary, W, Q, extra, counts, log_z, score, fast, scaled, with_grad)


@njit(cache=True, parallel=True)
def _nll_parallel(h, lengths, y, G, Ec, EcT, gcol, ErT, grow, psi, gmax, start, end, alpha,
                  unary, W, Q, extra, counts, log_z, score, fast, scaled, with_grad):
    for b in prange(h.shape[0]):
        _nll_seq(h, b, lengths[b], y, G, Ec, EcT, gcol, ErT, grow, psi, gmax, start, end,
                 alpha, unary, W, Q, extra, counts, log_z, score, fast, scaled, with_grad)


# -- host side -----------------------------------------------------------------------------------

def _prepare(h, G, start, end, lengths):
    """Contiguous h (float32/float64), float64 G, s, e and int64 lengths."""
    h = np.ascontiguousarray(h)
    if h.dtype not in (np.float32, np.float64):
        raise TypeError(f"cpu crf kernels take float32 or float64 emissions, got {h.dtype}")
    K = h.shape[2]
    G = np.ascontiguousarray(G, dtype=np.float64)
    start = np.zeros(K) if start is None else np.ascontiguousarray(start, dtype=np.float64)
    end = np.zeros(K) if end is None else np.ascontiguousarray(end, dtype=np.float64)
    lengths = np.ascontiguousarray(lengths, dtype=np.int64)
    return h, G, start, end, lengths


def _shifted_exp(G: np.ndarray, axis) -> tuple[np.ndarray, np.ndarray]:
    """(e^{G − m}, m) with m the maximum over ``axis`` (−inf maxima replaced by 0), entries
    below e^CUT set to 0."""
    m = G.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(under="ignore"):
        d = G - m
        return np.where(d > CUT, np.exp(np.maximum(d, CUT)), 0.0), m


def _parallel(parallel: bool | None) -> bool:
    return PARALLEL if parallel is None else parallel


def forward(h, G, start, end, lengths, parallel: bool | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """(log Z (B,) in h's dtype, α (B, L, K) float64): the forward algorithm."""
    h, G, start, end, lengths = _prepare(h, G, start, end, lengths)
    B, L, K = h.shape
    Ec, gcol = _shifted_exp(G, 0)
    alpha = np.empty((B, L, K))
    log_z = np.empty(B)
    run = _forward_parallel if _parallel(parallel) else _forward_serial
    run(h, lengths, G, Ec, gcol.reshape(K), start, end, alpha, log_z)
    return log_z.astype(h.dtype, copy=False), alpha


def marginals(h, G, start, end, lengths, alpha, log_z, per_position: bool,
              parallel: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(μ (B, L, K), ξ) in h's dtype from the forward pass's α; ξ is (B, L − 1, K, K) per
    position with ``per_position``, else (B, K, K) summed over t. ``log_z`` is not read: it
    is recomputed from the float64 α (a float32 log Z would cost |log Z|·6e−8 of accuracy in
    every marginal).

    The kernel leaves ξ_t(i, j) = W_t(i) · E^g_ij · Q_t(j) in factors; summed over t that
    is E^g ⊙ (Wᵀ Q), one batched matrix product (BLAS) instead of K² updates per step."""
    h, G, start, end, lengths = _prepare(h, G, start, end, lengths)
    B, L, K = h.shape
    ErT, grow, psi, Eg, gmax = _backward_factors(G)
    unary, W, Q = np.zeros((B, L, K)), np.zeros((B, L - 1, K)), np.zeros((B, L - 1, K))
    extra = np.zeros((B, L - 1 if per_position else 1, K, K))
    run = _marginals_parallel if _parallel(parallel) else _marginals_serial
    run(h, lengths, G, ErT, grow, psi, gmax, end, np.ascontiguousarray(alpha, dtype=np.float64),
        unary, W, Q, extra, per_position)
    if per_position:
        pair = Eg * W[:, :, :, None] * Q[:, :, None, :] + extra
    else:
        pair = Eg * np.matmul(W.transpose(0, 2, 1), Q) + extra[:, 0]
    return unary.astype(h.dtype, copy=False), pair.astype(h.dtype, copy=False)


def _backward_factors(G: np.ndarray) -> tuple:
    """What the backward recursion needs of G: (e^{G − row max})ᵀ, the row maxima, ψ_i =
    e^{row max_i − max G}, e^{G − max G} and max G (see the module docstring)."""
    K = G.shape[0]
    Er, grow = _shifted_exp(G, 1)
    Eg, gmax = _shifted_exp(G, None)
    d = grow.reshape(K) - gmax.item()
    psi = np.where(d > CUT, np.exp(np.maximum(d, CUT)), 0.0)
    return np.ascontiguousarray(Er.T), grow.reshape(K), psi, Eg, float(gmax.item())


def nll(h, G, start, end, lengths, y, with_grad: bool, parallel: bool | None = None,
        scaled: bool = True, which: bool = False) -> tuple:
    """The whole NLL step in one kernel call: (log Z (B,), s(y) (B,), and with ``with_grad``
    ∂(log Z − s)/∂h = μ − one-hot(y) (B, L, K) and ∂/∂G per sequence = Σ_t ξ_t − C (B, K, K),
    C the observed transition counts; else None, None), all in h's dtype. ``y`` (B, L)
    holds tags in [0, K) at the unpadded positions (others are not read). The forward and
    backward recursions and the gold score run per sequence in one pass, so a training step
    pays one call, not one per op. With ``scaled`` (the default) each sequence first tries
    :func:`_scaled_nll_seq`, recursions in rescaled probabilities with no logarithm per step,
    and keeps its result where that is provably exact (it is wherever the scores are not
    extreme); ``scaled=False`` runs the log-space path everywhere. ``which=True`` appends a
    bool array (B,): True where a sequence took the scaled path."""
    h, G, start, end, lengths = _prepare(h, G, start, end, lengths)
    y = np.ascontiguousarray(y, dtype=np.int64)
    B, L, K = h.shape
    Ec, gcol = _shifted_exp(G, 0)
    ErT, grow, psi, Eg, gmax = _backward_factors(G)
    size = (B, L, K) if with_grad else (0, 0, 0)  # the gradient's buffers: empty without it
    unary, alpha = np.zeros(size), np.empty((B, L, K))
    steps = (B, max(L - 1, 0), K) if with_grad else (0, 0, K)
    W, Q = np.zeros(steps), np.zeros(steps)
    extra = np.zeros((B, 1, K, K) if with_grad else (0, 1, K, K))
    counts = np.zeros((B, K, K) if with_grad else (0, K, K))
    log_z, score, fast = np.empty(B), np.empty(B), np.zeros(B, dtype=np.bool_)
    run = _nll_parallel if _parallel(parallel) else _nll_serial
    run(h, lengths, y, G, Ec, np.ascontiguousarray(Ec.T), gcol.reshape(K), ErT, grow, psi,
        gmax, start, end, alpha, unary, W, Q, extra, counts, log_z, score, fast,
        bool(scaled) and _scalable(G, start, end), with_grad)
    dtype = h.dtype
    paths = (fast,) if which else ()
    if not with_grad:
        return (log_z.astype(dtype), score.astype(dtype), None, None) + paths
    # ξ summed over t is E ⊙ (Wᵀ Q), E = e^{G − column max} for the scaled path's factors
    # and e^{G − max G} for the log-space path's
    factor = np.where(fast[:, None, None], Ec, Eg) if fast.any() else Eg
    pair = factor * np.matmul(W.transpose(0, 2, 1), Q) + extra[:, 0] - counts
    return (log_z.astype(dtype), score.astype(dtype), unary.astype(dtype, copy=False),
            pair.astype(dtype, copy=False)) + paths


def _scalable(G: np.ndarray, start: np.ndarray, end: np.ndarray) -> bool:
    """Whether the scaled path may be tried: G, s and e hold no NaN and no +inf (−inf, a
    forbidden transition, is fine)."""
    return not any(np.isnan(a).any() or np.isposinf(a).any() for a in (G, start, end))


def viterbi(h, G, start, end, lengths, parallel: bool | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """(best paths (B, L) int64 with −1 at padded positions, their scores (B,) in h's
    dtype). Ties go to the smallest tag index; forbidden transitions are −inf in G."""
    h, G, start, end, lengths = _prepare(h, G, start, end, lengths)
    B, L, _ = h.shape
    paths = np.empty((B, L), dtype=np.int64)
    scores = np.empty(B)
    run = _viterbi_parallel if _parallel(parallel) else _viterbi_serial
    run(h, lengths, G, start, end, paths, scores)
    return paths, scores.astype(h.dtype, copy=False)
