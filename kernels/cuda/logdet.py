"""The series terms t_k = vᵀJ^k v of an i-ResNet block and their gradient on the GPU (Numba
CUDA).

The same steps as :mod:`tinygen.kernels.cpu.logdet` (its docstring derives them: the forward
pass, the JVP chain, its adjoint, the backward pass of the network, and the small-d Jacobian
strategy), as launches of the gradient-penalty family's tiled ``gemm`` and ``colsum_prod``
(:mod:`tinygen.kernels.cuda.gp`) and eight small kernels of its own::

    activate     z ← φ(z + b), s ← φ'(z + b), q ← φ''(z + b)   (ELU, LipSwish, tanh)
    scale_rows   out = p ⊙ s[row // m]                       (a_l = P_l ⊙ s_l per probe)
    rowdot       terms[r, k] = Σ_j u[r, j] v[r, j]            (t_k, one thread per row)
    seed         ā = t̄[:, k] ⊙ v (or a given seed) + carry
    pbar_sbar    P̄ = ā ⊙ s,  s̄[b] += Σ_probes ā ⊙ P           (one thread per sample, column)
    zeta         ζ = s̄ ⊙ q (+ back ⊙ s)
    basis        the rows e_j of every sample
    powers       t_k = v M_b^k · v for the d × d matrices M_b = J_bᵀ (one thread per row)
    powers_adj   M̄_b from t̄ (one thread per sample; scratch rows in global memory)

Every launch goes on CuPy's current stream. Under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) the host functions take and return NumPy arrays, which is how
the tests run them without a GPU.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np

from . import array_module, import_numba_cuda
from . import gp as _gp
from ..logdet_args import (ACTIVATIONS, LIPSWISH, LIPSWISH_SCALE, TANH, check_block,
                           jacobian_mode)

# ``numba.cuda``, bound on first use (a module global: the simulator swaps it while a kernel
# of this module runs)
cuda = None


def _build(dtype: np.dtype, tile: int) -> dict[str, Callable]:
    """The kernels as plain Python functions for ``dtype`` and ``tile`` × ``tile`` blocks."""
    from numba import float32, float64

    global cuda
    cuda = import_numba_cuda()
    nbtype = float32 if np.dtype(dtype) == np.float32 else float64
    T = tile

    def activate(z, bias, has_bias, act, s, q):
        i = cuda.blockIdx.y * T + cuda.threadIdx.y
        j = cuda.blockIdx.x * T + cuda.threadIdx.x
        if i < z.shape[0] and j < z.shape[1]:
            v = z[i, j]
            if has_bias:
                v += bias[0, j]
            if act == TANH:
                t = math.tanh(v)
                z[i, j] = t
                s[i, j] = 1 - t * t
                q[i, j] = -2 * t * (1 - t * t)
            elif act == LIPSWISH:
                e = math.exp(-abs(v))
                sg = 1 / (1 + e) if v >= 0 else e / (1 + e)
                z[i, j] = v * sg / nbtype(LIPSWISH_SCALE)
                s[i, j] = (sg + v * sg * (1 - sg)) / nbtype(LIPSWISH_SCALE)
                q[i, j] = sg * (1 - sg) * (2 + v * (1 - 2 * sg)) / nbtype(LIPSWISH_SCALE)
            elif v > 0:
                z[i, j] = v
                s[i, j] = 1
                q[i, j] = 0
            else:
                h = math.expm1(v)
                z[i, j] = h
                s[i, j] = h + 1
                q[i, j] = h + 1

    def scale_rows(p, s, m, out):
        i = cuda.blockIdx.y * T + cuda.threadIdx.y
        j = cuda.blockIdx.x * T + cuda.threadIdx.x
        if i < p.shape[0] and j < p.shape[1]:
            out[i, j] = p[i, j] * s[i // m, j]

    def rowdot(u, v, terms, k):
        r = cuda.blockIdx.x * T * T + cuda.threadIdx.y * T + cuda.threadIdx.x
        if r < u.shape[0]:
            acc = nbtype(0)
            for j in range(u.shape[1]):
                acc += u[r, j] * v[r, j]
            terms[r, k] = acc

    def seed(abar, tbar, k, use_tbar, v, seeds, carry):
        i = cuda.blockIdx.y * T + cuda.threadIdx.y
        j = cuda.blockIdx.x * T + cuda.threadIdx.x
        if i < abar.shape[0] and j < abar.shape[1]:
            g = tbar[i, k] * v[i, j] if use_tbar else seeds[i, j]
            abar[i, j] = g + carry[i, j]

    def pbar_sbar(abar, s, p, m, pbar, sbar):
        b = cuda.blockIdx.y * T + cuda.threadIdx.y
        j = cuda.blockIdx.x * T + cuda.threadIdx.x
        if b < s.shape[0] and j < s.shape[1]:
            acc = nbtype(0)
            for r in range(b * m, b * m + m):
                g = abar[r, j]
                pbar[r, j] = g * s[b, j]
                acc += g * p[r, j]
            sbar[b, j] += acc

    def zeta(sbar, q, back, s, use_back, out):
        i = cuda.blockIdx.y * T + cuda.threadIdx.y
        j = cuda.blockIdx.x * T + cuda.threadIdx.x
        if i < out.shape[0] and j < out.shape[1]:
            v = sbar[i, j] * q[i, j]
            if use_back:
                v += back[i, j] * s[i, j]
            out[i, j] = v

    def basis(e):
        i = cuda.blockIdx.y * T + cuda.threadIdx.y
        j = cuda.blockIdx.x * T + cuda.threadIdx.x
        if i < e.shape[0] and j < e.shape[1]:
            e[i, j] = 1 if i % e.shape[1] == j else 0

    def powers(jac, v, m, n, terms, scratch):
        r = cuda.blockIdx.x * T * T + cuda.threadIdx.y * T + cuda.threadIdx.x
        d = v.shape[1]
        if r < v.shape[0]:
            b = r // m
            for i in range(d):
                scratch[r, i] = v[r, i]
            for k in range(n):
                src = (k % 2) * d
                dst = d - src
                acc = nbtype(0)
                for j in range(d):
                    t = nbtype(0)
                    for i in range(d):
                        t += scratch[r, src + i] * jac[b * d + i, j]
                    scratch[r, dst + j] = t
                    acc += t * v[r, j]
                terms[r, k] = acc

    def powers_adj(jac, v, m, n, tbar, mbar, scratch):
        b = cuda.blockIdx.x * T * T + cuda.threadIdx.y * T + cuda.threadIdx.x
        d = v.shape[1]
        if b < jac.shape[0] // d:
            wb = (n + 1) * d  # scratch row: w_0 … w_n, then w̄ and a temporary
            for r in range(b * m, b * m + m):
                for i in range(d):
                    scratch[b, i] = v[r, i]
                for k in range(1, n + 1):
                    for j in range(d):
                        t = nbtype(0)
                        for i in range(d):
                            t += scratch[b, (k - 1) * d + i] * jac[b * d + i, j]
                        scratch[b, k * d + j] = t
                for j in range(d):
                    scratch[b, wb + j] = 0
                for k in range(n, 0, -1):
                    for j in range(d):
                        scratch[b, wb + j] += tbar[r, k - 1] * v[r, j]
                    for i in range(d):
                        for j in range(d):
                            mbar[b * d + i, j] += scratch[b, (k - 1) * d + i] * scratch[b, wb + j]
                    for i in range(d):
                        t = nbtype(0)
                        for j in range(d):
                            t += scratch[b, wb + j] * jac[b * d + i, j]
                        scratch[b, wb + d + i] = t
                    for i in range(d):
                        scratch[b, wb + i] = scratch[b, wb + d + i]

    return {"activate": activate, "scale_rows": scale_rows, "rowdot": rowdot, "seed": seed,
            "pbar_sbar": pbar_sbar, "zeta": zeta, "basis": basis, "powers": powers,
            "powers_adj": powers_adj}


def kernel_signatures() -> list[tuple[str, Callable, tuple]]:
    """(name, Python function, Numba signature) for every kernel and dtype, for compiling
    ahead of time (``numba.cuda.compile_ptx``), as the PTX test does."""
    from numba import float32, float64, int64

    out = []
    for dtype, nbtype in ((np.float32, float32), (np.float64, float64)):
        a = nbtype[:, ::1]
        i = int64
        sigs = {"activate": (a, a, i, i, a, a), "scale_rows": (a, a, i, a),
                "rowdot": (a, a, a, i), "seed": (a, a, i, i, a, a, a),
                "pbar_sbar": (a, a, a, i, a, a), "zeta": (a, a, a, a, i, a), "basis": (a,),
                "powers": (a, a, i, i, a, a), "powers_adj": (a, a, i, i, a, a, a)}
        for name, fn in _build(dtype, _gp.TILE).items():
            out.append((f"logdet_{name}_{np.dtype(dtype).name}", fn, sigs[name]))
    return out


@functools.cache
def _kernels(dtype_name: str, tile: int) -> dict:
    return {name: import_numba_cuda().jit(fn)
            for name, fn in _build(np.dtype(dtype_name), tile).items()}


class _Launcher(_gp._Launcher):
    """The gradient-penalty launcher (its ``gemm``, ``colsum_prod``) with these kernels."""

    def __init__(self, xp, dtype):
        super().__init__(xp, dtype)
        self.kernels = {**self.kernels, **_kernels(self.dtype.name, self.tile)}

    def new(self, rows: int, cols: int):
        return self.xp.empty((rows, cols), dtype=self.dtype)

    def zeros(self, rows: int, cols: int):
        return self.xp.zeros((rows, cols), dtype=self.dtype)


def _hidden(k: _Launcher, x, ws, bs, acts):
    """The forward pass: h_0 … h_{L−1}, and s, q of every hidden layer."""
    hs, ss, qs = [x], [], []
    dummy = k.zeros(1, 1)
    for l in range(len(ws) - 1):
        z = k.gemm(hs[l], ws[l])
        s, q = k.new(*z.shape), k.new(*z.shape)
        k.launch("activate", k.grid(*z.shape), z, dummy if bs[l] is None else bs[l],
                 int(bs[l] is not None), acts[l], s, q)
        hs.append(z)
        ss.append(s)
        qs.append(q)
    return hs, ss, qs


def _chain(k: _Launcher, ws, ss, v, m: int, n: int, terms=None):
    """Step 1: per power, the inputs a of every layer and the hidden products P; t_k into
    ``terms`` when given. Returns (A, P, w_n) with A[k][l], P[k][l] arrays."""
    A, P = [], []
    u = v
    for kk in range(n):
        a_k, p_k = [u], []
        for l, w in enumerate(ws):
            prod = k.gemm(a_k[l], w)
            if l < len(ws) - 1:
                p_k.append(prod)
                a = k.new(*prod.shape)
                k.launch("scale_rows", k.grid(*prod.shape), prod, ss[l], m, a)
                a_k.append(a)
            else:
                u = prod
        A.append(a_k)
        P.append(p_k)
        if terms is not None:
            k.launch("rowdot", k.grid_1d(u.shape[0]), u, v, terms, kk)
    return A, P, u


def _jacobian(k: _Launcher, ws, ss, B: int, d: int):
    """Step 3: the basis rows, the stored chain through them, and M_b = J_bᵀ stacked."""
    e = k.new(B * d, d)
    k.launch("basis", k.grid(B * d, d), e)
    A, P, jac = _chain(k, ws, ss, e, d, 1)
    return e, A, P, jac


def _arrays(x, weights, biases, activations, v, n, tbar=None):
    xp = array_module(x)
    x = xp.ascontiguousarray(x)
    check_block(x, weights, biases, activations, v, n, tbar)
    dtype = x.dtype
    ws = [xp.ascontiguousarray(w, dtype=dtype) for w in weights]
    bs = [None if b is None else xp.ascontiguousarray(b, dtype=dtype).reshape(1, -1)
          for b in biases]
    B, m, d = v.shape
    vv = xp.ascontiguousarray(v, dtype=dtype).reshape(B * m, d)
    return xp, x, ws, bs, [ACTIVATIONS[a] for a in activations], vv


def series_terms(x, weights: Sequence, biases: Sequence, activations: Sequence[str], v,
                 n: int, mode: str = "auto", keep: bool = False):
    """t_k = vᵀJ^k v, k = 1 … n: (B, m, n), as :func:`tinygen.kernels.cpu.logdet.series_terms`
    computes it (``keep`` likewise: (terms, saved), saved the forward pass and basis chain in
    Jacobian mode, None in chain mode), for CuPy arrays (NumPy arrays under the simulator)."""
    xp, x, ws, bs, acts, vv = _arrays(x, weights, biases, activations, v, n)
    B, m, d = v.shape
    k = _Launcher(xp, x.dtype)
    hs, ss, qs = _hidden(k, x, ws, bs, acts)
    terms = k.new(B * m, n)
    saved = None
    if jacobian_mode(d, m, n, mode):
        e, A, P, jac = _jacobian(k, ws, ss, B, d)
        k.launch("powers", k.grid_1d(B * m), jac, vv, m, n, terms, k.new(B * m, 2 * d))
        saved = (hs, ss, qs, e, A, P, jac) if keep else None
    else:
        _chain(k, ws, ss, vv, m, n, terms)
    terms = terms.reshape(B, m, n)
    return (terms, saved) if keep else terms


def release(saved) -> None:
    """Nothing to hand back: CuPy's memory pool reuses the kept arrays once they are freed."""


def series_terms_grad(x, weights: Sequence, biases: Sequence, activations: Sequence[str], v,
                      n: int, tbar, mode: str = "auto", saved=None) -> tuple:
    """(x̄, [W̄_l], [b̄_l]) as :func:`tinygen.kernels.cpu.logdet.series_terms_grad` computes
    them (``saved`` likewise), for CuPy arrays (NumPy arrays under the simulator)."""
    xp, x, ws, bs, acts, vv = _arrays(x, weights, biases, activations, v, n, tbar)
    B, m, d = v.shape
    k = _Launcher(xp, x.dtype)
    jac_mode = jacobian_mode(d, m, n, mode)
    if jac_mode and saved is not None:
        hs, ss, qs, rows_v, A, P, jac = saved
    else:
        hs, ss, qs = _hidden(k, x, ws, bs, acts)
    tb = xp.ascontiguousarray(tbar, dtype=x.dtype).reshape(B * m, n)
    if jac_mode:
        if saved is None:
            rows_v, A, P, jac = _jacobian(k, ws, ss, B, d)
        seeds = k.zeros(B * d, d)
        k.launch("powers_adj", k.grid_1d(B), jac, vv, m, n, tb, seeds,
                 k.new(B, (n + 3) * d))
        rows_m, powers, use_tbar = d, 1, 0
    else:
        A, P, _ = _chain(k, ws, ss, vv, m, n)
        rows_v, seeds, rows_m, powers, use_tbar = vv, vv, m, n, 1
    dws = [xp.zeros_like(w) for w in ws]
    dbs = [None if b is None else xp.zeros_like(b) for b in bs]
    sbars = [k.zeros(*s.shape) for s in ss]
    L = len(ws)
    carry = k.zeros(*rows_v.shape)
    for kk in range(powers - 1, -1, -1):  # the adjoint of the chain
        abar = k.new(*rows_v.shape)
        k.launch("seed", k.grid(*abar.shape), abar, tb, kk, use_tbar, rows_v, seeds, carry)
        for l in range(L - 1, -1, -1):
            if l < L - 1:
                pbar = k.new(*abar.shape)
                k.launch("pbar_sbar", k.grid(*ss[l].shape), abar, ss[l], P[kk][l], rows_m,
                         pbar, sbars[l])
            else:
                pbar = abar
            k.gemm(A[kk][l], pbar, ta=True, out=dws[l])
            if kk == 0 and l == 0:
                break
            abar = k.gemm(pbar, ws[l], tb=True)
        carry = abar
    dx = xp.zeros_like(x)
    if L > 1:  # the backward pass of the network, from the top hidden layer
        zeta = k.new(*ss[L - 2].shape)
        k.launch("zeta", k.grid(*zeta.shape), sbars[L - 2], qs[L - 2], zeta, zeta, 0, zeta)
        for l in range(L - 2, -1, -1):
            k.gemm(hs[l], zeta, ta=True, out=dws[l])
            if dbs[l] is not None:
                k.colsum_prod(zeta, None, dbs[l])
            back = k.gemm(zeta, ws[l], tb=True)
            if l == 0:
                dx = back
            else:
                zeta = k.new(*back.shape)
                k.launch("zeta", k.grid(*back.shape), sbars[l - 1], qs[l - 1], back,
                         ss[l - 1], 1, zeta)
    return dx, dws, [None if db is None else db.reshape(-1) for db in dbs]
