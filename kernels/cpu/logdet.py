r"""All series terms t_k = vᵀJ^k v of an i-ResNet block, and their gradient for every weight,
bias and x, in one Numba pass each.

**The block** (:mod:`tinygen.models.flows.iresnet`). Rows are samples; with h₀ = x::

    z_l = h_{l−1} W_l + b_l,   h_l = φ(z_l),   s_l = φ'(z_l),   q_l = φ''(z_l)   (l < L)

and g = h_{L−1} W_L + b_L. Elementwise, for the three activations::

    ELU        z > 0: h = z, s = 1, q = 0        z ≤ 0: h = e^z − 1, s = q = e^z
    LipSwish   h = zσ/1.1,  s = (σ + zσ(1 − σ))/1.1,  q = σ(1 − σ)(2 + z(1 − 2σ))/1.1
    tanh       h = tanh z,  s = 1 − h²,  q = −2hs

**1. Terms (the JVP chain).** The m probes of sample b are rows b·m … b·m + m − 1 of V
(B·m × d). One power of J is one pass up the network, and w_k = (J^k v)ᵀ::

    a_0 = w_{k−1},   P_l = a_{l−1} W_l,   a_l = P_l ⊙ s_l[b] (l < L),   w_k = P_L
    t_k = w_k · v                                                      (row by row)

n powers cost n·L products; the forward pass to get the s_l costs L − 1 more (on B rows).

**2. Gradient.** Given t̄ (B·m × n), the adjoint of step 1 runs k = n … 1, each time down the
network; w̄_k = t̄_k v + (the adjoint of w_k as the input of power k + 1)::

    ā_L = w̄_k;   P̄_L = ā_L;   P̄_l = ā_l ⊙ s_l,   s̄_l[b] += Σ_probes ā_l ⊙ P_l   (l < L)
    ā_{l−1} = P̄_l W_lᵀ;       W̄_l += a_{l−1}ᵀ P̄_l

(the a's and P's of every power are kept from a forward run, and W̄_l is one product over all
n·B·m rows). The s_l depend on x, the weights and biases below them through z_l:
z̄_l = s̄_l ⊙ q_l, then the ordinary backward pass of the forward network from the top hidden
layer down (ζ the total adjoint of z)::

    ζ_{L−1} = z̄_{L−1},   W̄_l += h_{l−1}ᵀ ζ_l,   b̄_l = Σ_b ζ_l,
    ζ_{l−1} = z̄_{l−1} + (ζ_l W_lᵀ) ⊙ s_{l−1},   x̄ = ζ_1 W_1ᵀ

The last bias b_L moves g but not J: b̄_L = 0.

**3. Small d: the Jacobian itself.** When d < m·n it is cheaper to push the d basis rows e_j
of each sample through one chain (d rows per sample instead of m·n): the outputs are the
columns of J, stacked as M_b = J_bᵀ (d × d). The powers are then tiny: w_k = w_{k−1} M_b,
t_k = w_k · v; and their adjoint gives M̄_b (w̄_k = t̄_k v + w̄_{k+1} M_bᵀ, M̄_b += w_{k−1}ᵀ w̄_k),
which seeds step 2 for the basis chain with n = 1. Here the forward pass and the basis chain
are small (B·d rows), so a forward call made for training can keep them (``keep=True``, in a
private buffer) and the gradient call reuses them instead of recomputing them.

Products are ``np.dot`` inside ``njit`` (BLAS, transposes as flags); intermediates come from a
flat per-thread workspace (shared with :mod:`tinygen.kernels.cpu.gp`); tuples of layers are
padded to eight so one compilation serves every depth up to eight.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from ..logdet_args import (ACTIVATIONS, LIPSWISH, LIPSWISH_SCALE, TANH, check_block,
                           jacobian_mode)
from .gp import PAD, _add_into, _take, _workspace, _writeable


@njit(cache=True)
def _activate(z, bias, act, s, q):
    """In place: z ← φ(z + b); s ← φ'(z + b); q ← φ''(z + b)."""
    n, d = z.shape
    has_bias = bias.size > 0
    for i in range(n):
        for j in range(d):
            v = z[i, j]
            if has_bias:
                v += bias[j]
            if act == TANH:
                t = np.tanh(v)
                z[i, j] = t
                s[i, j] = 1 - t * t
                q[i, j] = -2 * t * (1 - t * t)
            elif act == LIPSWISH:
                e = np.exp(-abs(v))
                sg = 1 / (1 + e) if v >= 0 else e / (1 + e)
                z[i, j] = v * sg / LIPSWISH_SCALE
                s[i, j] = (sg + v * sg * (1 - sg)) / LIPSWISH_SCALE
                q[i, j] = sg * (1 - sg) * (2 + v * (1 - 2 * sg)) / LIPSWISH_SCALE
            elif v > 0:  # ELU
                z[i, j] = v
                s[i, j] = 1
                q[i, j] = 0
            else:
                h = np.expm1(v)
                z[i, j] = h
                s[i, j] = h + 1
                q[i, j] = h + 1


@njit(cache=True)
def _scale_rows(p, s, m, out):
    """out = p ⊙ s[row // m] (row r of p belongs to sample r // m)."""
    for r in range(p.shape[0]):
        b = r // m
        for j in range(p.shape[1]):
            out[r, j] = p[r, j] * s[b, j]


@njit(cache=True)
def _hidden(x, weights, biases, L, acts, work, at, compute=True):
    """The forward pass: h_0 … h_{L−1} and s, q of every hidden layer (``compute`` False:
    only their places in ``work``, which already holds them)."""
    B = x.shape[0]
    hs = [x]
    ss = [x]
    qs = [x]
    for l in range(L - 1):
        w = weights[l]
        z, at = _take(work, at, B, w.shape[1])
        s, at = _take(work, at, B, w.shape[1])
        q, at = _take(work, at, B, w.shape[1])
        if compute:
            np.dot(hs[l], w, z)
            _activate(z, biases[l], acts[l], s, q)
        hs.append(z)
        ss.append(s)
        qs.append(q)
    return hs, ss[1:], qs[1:], at


@njit(cache=True)
def _chain_forward(v, weights, ss, L, m, n, terms, jac, work, at):
    """Step 1 without storage: t_k into ``terms[:, k]`` (when ``terms`` has n columns) and the
    last w_n into ``jac`` (when it has rows)."""
    rows = v.shape[0]
    bufs = []
    for _ in range(2):
        for l in range(L):
            buf, at = _take(work, at, rows, weights[l].shape[1])
            bufs.append(buf)
    u = v
    for k in range(n):
        for l in range(L):
            out = bufs[(k % 2) * L + l]
            np.dot(u, weights[l], out)
            if l < L - 1:
                _scale_rows(out, ss[l], m, out)
            u = out
        if terms.shape[1] == n:
            for r in range(rows):
                acc = 0.0
                for j in range(v.shape[1]):
                    acc += u[r, j] * v[r, j]
                terms[r, k] = acc
    if jac.shape[0] > 0:
        jac[:, :] = u
    return at


@njit(cache=True)
def _basis(B, d, work, at):
    """The rows e_j of every sample: (B·d, d)."""
    e, at = _take(work, at, B * d, d)
    e[:, :] = 0
    for b in range(B):
        for j in range(d):
            e[b * d + j, j] = 1
    return e, at


@njit(cache=True)
def _powers(jac, v, m, n, terms):
    """Step 3's powers: t_k = v M_b^k · v with M_b = jac[b·d:(b+1)·d] (row by row)."""
    d = v.shape[1]
    w = np.empty(d, dtype=v.dtype)
    w2 = np.empty(d, dtype=v.dtype)
    for r in range(v.shape[0]):
        b = r // m
        for i in range(d):
            w[i] = v[r, i]
        for k in range(n):
            acc = 0.0
            for j in range(d):
                t = 0.0
                for i in range(d):
                    t += w[i] * jac[b * d + i, j]
                w2[j] = t
                acc += t * v[r, j]
            w[:] = w2
            terms[r, k] = acc


@njit(cache=True)
def _powers_adjoint(jac, v, m, n, tbar, mbar):
    """Step 3's adjoint: M̄_b (into ``mbar``, zeros in) from t̄ (B·m × n)."""
    d = v.shape[1]
    ws = np.empty((n + 1, d), dtype=v.dtype)
    wbar = np.empty(d, dtype=v.dtype)
    tmp = np.empty(d, dtype=v.dtype)
    for r in range(v.shape[0]):
        b = r // m
        ws[0] = v[r]
        for k in range(1, n + 1):
            for j in range(d):
                t = 0.0
                for i in range(d):
                    t += ws[k - 1, i] * jac[b * d + i, j]
                ws[k, j] = t
        wbar[:] = 0
        for k in range(n, 0, -1):
            for j in range(d):
                wbar[j] += tbar[r, k - 1] * v[r, j]
            for i in range(d):  # M̄ += w_{k−1}ᵀ w̄_k
                for j in range(d):
                    mbar[b * d + i, j] += ws[k - 1, i] * wbar[j]
            for i in range(d):  # w̄_{k−1} = w̄_k Mᵀ
                t = 0.0
                for j in range(d):
                    t += wbar[j] * jac[b * d + i, j]
                tmp[i] = t
            wbar[:] = tmp


@njit(cache=True)
def _chain_store(weights, ss, L, v, m, n, work, at, compute=True):
    """Step 1 keeping every a and P: A[l] holds the inputs of layer l + 1 for every power
    (n·rows × d_l), P[l] the products P_{l+1} of the hidden layers, ``last`` = w_n
    (``compute`` False: only their places in ``work``)."""
    rows, d = v.shape
    A = []  # A[l]: the inputs a_{l} of layer l + 1, for every power: (n·rows, d_l)
    P = []  # P[l]: the products P_{l+1} of hidden layers, for every power
    PB = []  # PB[l]: P̄_{l+1} for every power
    for l in range(L):
        a, at = _take(work, at, n * rows, weights[l].shape[0])
        A.append(a)
        p, at = _take(work, at, n * rows, weights[l].shape[1])
        P.append(p)
        pb, at = _take(work, at, n * rows, weights[l].shape[1])
        PB.append(pb)
    last, at = _take(work, at, rows, d)
    if not compute:
        return A, P, PB, last, at
    A[0][0:rows] = v
    for k in range(n):
        for l in range(L):
            a = A[l][k * rows:(k + 1) * rows]
            if l < L - 1:
                out = P[l][k * rows:(k + 1) * rows]
                np.dot(a, weights[l], out)
                _scale_rows(out, ss[l], m, A[l + 1][k * rows:(k + 1) * rows])
            elif k + 1 < n:
                np.dot(a, weights[l], A[0][(k + 1) * rows:(k + 2) * rows])
            else:
                np.dot(a, weights[l], last)
    return A, P, PB, last, at


@njit(cache=True)
def _chain_reverse(x, weights, hs, ss, qs, L, v, m, n, A, P, PB, tbar, seeds, dx, dweights,
                   dbiases, work, at):
    """Step 2 after :func:`_chain_store`: the adjoint of the chain seeded by t̄_k v
    (``tbar`` with n columns) or by ``seeds`` (n = 1, step 3), then the backward pass of
    the forward network. Writes x̄, W̄_l (no need to zero them) and adds b̄_l."""
    rows, d = v.shape
    B = x.shape[0]
    # -- the adjoint of the chain --------------------------------------------------------
    sbars = []
    abars = []
    for l in range(L):
        ab, at = _take(work, at, rows, weights[l].shape[0])
        abars.append(ab)
        if l < L - 1:
            sb, at = _take(work, at, B, weights[l].shape[1])
            sb[:, :] = 0
            sbars.append(sb)
    carry, at = _take(work, at, rows, d)
    carry[:, :] = 0
    for k in range(n - 1, -1, -1):
        abar = PB[L - 1][k * rows:(k + 1) * rows]  # ā_L = w̄_{k+1} = P̄_L
        for r in range(rows):
            for j in range(d):
                seed = tbar[r, k] * v[r, j] if tbar.shape[1] == n else seeds[r, j]
                abar[r, j] = seed + carry[r, j]
        for l in range(L - 1, -1, -1):
            pbar = PB[l][k * rows:(k + 1) * rows]
            if l < L - 1:  # P̄_l = ā_l ⊙ s_l; s̄_l += Σ_probes ā_l ⊙ P_l
                p = P[l][k * rows:(k + 1) * rows]
                s = ss[l]
                sb = sbars[l]
                for r in range(rows):
                    b = r // m
                    for j in range(pbar.shape[1]):
                        g = abar[r, j]
                        pbar[r, j] = g * s[b, j]
                        sb[b, j] += g * p[r, j]
            if k == 0 and l == 0:
                break  # v̄ is not needed
            below = carry if l == 0 else abars[l]
            np.dot(pbar, weights[l].T, below)
            abar = below
    for l in range(L):
        np.dot(A[l].T, PB[l], dweights[l])
    # -- the backward pass of the forward network, from the top hidden layer -------------
    dx[:, :] = 0
    if L == 1:
        return at
    zeta, at = _take(work, at, B, weights[L - 2].shape[1])
    for i in range(B):
        for j in range(zeta.shape[1]):
            zeta[i, j] = sbars[L - 2][i, j] * qs[L - 2][i, j]
    for l in range(L - 2, -1, -1):
        w = weights[l]
        dw, _ = _take(work, at, w.shape[0], w.shape[1])
        np.dot(hs[l].T, zeta, dw)
        _add_into(dweights[l], dw)
        db = dbiases[l]
        if db.size > 0:
            for i in range(B):
                for j in range(zeta.shape[1]):
                    db[j] += zeta[i, j]
        if l == 0:
            np.dot(zeta, w.T, dx)
        else:
            back, at = _take(work, at, B, w.shape[0])
            np.dot(zeta, w.T, back)
            s, q, sb = ss[l - 1], qs[l - 1], sbars[l - 1]
            for i in range(B):
                for j in range(back.shape[1]):
                    back[i, j] = sb[i, j] * q[i, j] + back[i, j] * s[i, j]
            zeta = back
    return at


@njit(cache=True)
def _terms(x, weights, biases, L, acts, v, m, n, jacobian, terms, work, keep):
    at = 0
    hs, ss, qs, at = _hidden(x, weights, biases, L, acts, work, at)
    if not jacobian:
        _chain_forward(v, weights, ss, L, m, n, terms, terms[:0], work, at)
        return
    B, d = x.shape
    e, at = _basis(B, d, work, at)
    if keep:  # the basis chain as the gradient kernel lays it out, for it to reuse
        _, _, _, jac, at = _chain_store(weights, ss, L, e, d, 1, work, at)
    else:
        jac, at = _take(work, at, B * d, d)
        at = _chain_forward(e, weights, ss, L, d, 1, terms[:, :0], jac, work, at)
    _powers(jac, v, m, n, terms)


@njit(cache=True)
def _grads(x, weights, biases, L, acts, v, m, n, jacobian, tbar, dx, dweights, dbiases,
           work, fresh):
    at = 0
    hs, ss, qs, at = _hidden(x, weights, biases, L, acts, work, at, fresh)
    if not jacobian:
        A, P, PB, _, at = _chain_store(weights, ss, L, v, m, n, work, at)
        _chain_reverse(x, weights, hs, ss, qs, L, v, m, n, A, P, PB, tbar, v, dx, dweights,
                       dbiases, work, at)
        return
    B, d = x.shape
    e, at = _basis(B, d, work, at)
    A, P, PB, jac, at = _chain_store(weights, ss, L, e, d, 1, work, at, fresh)
    mbar, at = _take(work, at, B * d, d)
    mbar[:, :] = 0
    _powers_adjoint(jac, v, m, n, tbar, mbar)
    _chain_reverse(x, weights, hs, ss, qs, L, e, d, 1, A, P, PB, tbar[:, :0], mbar, dx,
                   dweights, dbiases, work, at)


def workspace_size(batch: int, m: int, n: int, dims: Sequence[int], jacobian: bool) -> int:
    """An upper bound on the entries the kernels take from the workspace for widths
    ``dims`` = (d, d₁, …, d): the forward pass (three B × d_l blocks per hidden layer), the
    chain's rows (B·m, or B·d for the Jacobian) times (3n + 4) per width, and a few more."""
    d, total = dims[0], sum(dims)
    rows, powers = (batch * d, 1) if jacobian else (batch * m, n)
    return ((3 * powers + 4) * rows * total + 6 * batch * total + 4 * batch * d * d
            + max(a * b for a, b in zip(dims[:-1], dims[1:])))


def _prepare(x, weights, biases, activations, v, n, tbar=None):
    x = _writeable(np.ascontiguousarray(x))
    dtype = x.dtype
    v = np.asarray(v)
    check_block(x, weights, biases, activations, v, n, tbar)
    ws = tuple(_writeable(np.ascontiguousarray(w, dtype=dtype)) for w in weights)
    empty = np.zeros(0, dtype=dtype)
    bs = tuple(empty if b is None else
               _writeable(np.ascontiguousarray(b, dtype=dtype).reshape(-1)) for b in biases)
    L = len(ws)
    codes = np.array([ACTIVATIONS[a] for a in activations] + [0], dtype=np.int64)
    pad = -L % PAD
    empty2 = np.zeros((0, 0), dtype=dtype)
    B, m, d = v.shape
    vv = _writeable(np.ascontiguousarray(v, dtype=dtype).reshape(B * m, d))
    return (x, ws + (empty2,) * pad, bs + (empty,) * pad, L,
            np.concatenate([codes, np.zeros(pad, np.int64)]), vv, pad)


_SAVED: list[np.ndarray] = []  # buffers of kept forward passes, reused once released


def _saved_buffer(size: int, dtype: np.dtype) -> np.ndarray:
    """A private buffer for a kept forward pass (not the shared workspace: other calls run
    between a forward and its backward), reused from released ones when one is big enough."""
    for i, buf in enumerate(_SAVED):
        if buf.dtype == dtype and buf.size >= size:
            return _SAVED.pop(i)
    return np.empty(size, dtype=dtype)


def release(saved) -> None:
    """Hand a kept forward pass (from ``series_terms(..., keep=True)``) back for reuse."""
    if saved is not None and len(_SAVED) < 64:
        _SAVED.append(saved)


def series_terms(x: np.ndarray, weights: Sequence[np.ndarray],
                 biases: Sequence[np.ndarray | None], activations: Sequence[str],
                 v: np.ndarray, n: int, mode: str = "auto", keep: bool = False):
    """t_k = vᵀJ_g(x)^k v for k = 1 … n, per sample and probe: (B, m, n), for the residual MLP
    with layers ``weights[l]`` (d_{l−1}, d_l), ``biases[l]`` or None, ``activations`` (one
    of "elu", "lipswish", "tanh" per hidden layer), probes ``v`` (B, m, d); in x's dtype.
    ``mode``: "chain", "jacobian" or "auto" (see
    :func:`tinygen.kernels.logdet_args.jacobian_mode`). ``keep``: return (terms, saved),
    ``saved`` the forward pass and basis chain in Jacobian mode (a few B·d × d_l blocks) for
    :func:`series_terms_grad` to reuse instead of recomputing them, None in chain mode
    (keeping the n·B·m chain rows per layer would cost more memory than the recomputation)."""
    x, ws, bs, L, codes, vv, _ = _prepare(x, weights, biases, activations, v, n)
    B, m, d = v.shape
    jac = jacobian_mode(d, m, n, mode)
    terms = np.empty((B * m, n), dtype=x.dtype)
    dims = [d] + [w.shape[1] for w in ws[:L]]
    size = workspace_size(B, m, n, dims, jac)
    kept = keep and jac
    work = _saved_buffer(size, x.dtype) if kept else _workspace(size, x.dtype)
    _terms(x, ws, bs, L, codes, vv, m, n, jac, terms, work, kept)
    terms = terms.reshape(B, m, n)
    return (terms, work if kept else None) if keep else terms


def series_terms_grad(x: np.ndarray, weights: Sequence[np.ndarray],
                      biases: Sequence[np.ndarray | None], activations: Sequence[str],
                      v: np.ndarray, n: int, tbar: np.ndarray, mode: str = "auto",
                      saved=None
                      ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray | None]]:
    """(x̄, [W̄_l], [b̄_l]) = the gradient of Σ t̄ ⊙ t (t from :func:`series_terms`, the same
    arguments) for the upstream gradient ``tbar`` (B, m, n). b̄_L is zero (the last bias does
    not change J); None for a layer without bias. ``saved``: what ``series_terms(...,
    keep=True)`` kept for these arguments (its forward pass is then not recomputed; the
    caller releases it with :func:`release` afterwards), or None."""
    x, ws, bs, L, codes, vv, pad = _prepare(x, weights, biases, activations, v, n, tbar)
    B, m, d = v.shape
    jac = jacobian_mode(d, m, n, mode)
    tb = _writeable(np.ascontiguousarray(tbar, dtype=x.dtype).reshape(B * m, n))
    dx = np.empty_like(x)
    dws = tuple(np.empty_like(w) for w in ws[:L])
    dbs = tuple(np.zeros_like(b) for b in bs[:L])
    empty2, empty = np.zeros((0, 0), dtype=x.dtype), np.zeros(0, dtype=x.dtype)
    dims = [d] + [w.shape[1] for w in ws[:L]]
    fresh = saved is None or not jac
    work = _workspace(workspace_size(B, m, n, dims, jac), x.dtype) if fresh else saved
    _grads(x, ws, bs, L, codes, vv, m, n, jac, tb, dx,
           dws + (empty2,) * pad, dbs + (empty,) * pad, work, fresh)
    return dx, list(dws), [None if b is None else db for b, db in zip(biases, dbs)]
