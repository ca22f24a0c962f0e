"""The gradient penalty of an MLP critic and its weight gradients on the GPU (Numba CUDA).

The same five steps as :mod:`tinygen.kernels.cpu.gp` (its docstring derives them: forward,
input-gradient backward, the penalty, reverse over the backward pass with the one-output
head's shortcut, reverse over the forward pass for tanh layers), as a sequence of launches of
six small kernels; the host loop over the layers is the CPU kernel's loop, line for line::

    gemm          C (+)= op(A) op(B), op = identity or transpose: z = hW, a = gWᵀ, ḡ = āW,
                  W̄ += āᵀg, M = āᵀr, W̄ += hᵀζ, ζWᵀ. 16 × 16 output tiles; the reduction
                  walks 16-wide tiles of A and B staged in shared memory (as the conv kernels)
    activate      z ← φ(z + b), s ← φ'(z + b)
    mul           out (+)= α · a ⊙ b, b broadcast from one row or one column (s ⊙ a, s ⊙ g_L,
                  M · diag(w_L), ...)
    tanh_zbar     z̄ = −2 h s ⊙ s̄, s̄ = a ⊙ ḡ (or ḡ at the head)
    penalty_rows  per sample: n_b, its term of P, and ū_b (one thread per row)
    colsum_prod   out[j] += Σ_i A[i, j] (· B[i, j]): b̄ = Σ_b ζ, and W̄_L from M

A transposed operand is read across rows (uncoalesced); these kernels are written to be
read, not to rival cuBLAS. Every launch goes on CuPy's current stream, so the sequence needs
no synchronisation; P comes back as a 0-d device array.

The host function takes CuPy arrays and returns CuPy arrays; under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) NumPy arrays instead, which is how the tests run these kernels
without a GPU. ``numba.cuda`` is imported only when a kernel is first needed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np

from . import array_module, import_numba_cuda
from ..gp_args import ACTIVATIONS, LEAKY, TANH, check_mlp

TILE = 16  # blocks are TILE × TILE threads (the simulator tests use 4, to run fewer threads)
NORM_EPS = 1e-12  # n_b = sqrt(|u_b|^2 + eps), as in gan.gradient_penalty

# ``numba.cuda``, bound on first use (a module global: the simulator swaps it while a kernel
# runs, to supply the thread and block indices).
cuda = None


def _numba_cuda():
    global cuda
    if cuda is None:
        cuda = import_numba_cuda()
    return cuda


def _build(dtype: np.dtype, tile: int = TILE) -> dict[str, Callable]:
    """The kernels as plain Python functions for ``dtype`` (float32 or float64) and blocks of
    ``tile`` × ``tile`` threads (the width of the shared-memory tiles)."""
    from numba import float32, float64

    _numba_cuda()
    nbtype = float32 if np.dtype(dtype) == np.float32 else float64
    T = tile

    def gemm(a, b, c, ta, tb, accumulate):
        m, n = c.shape
        kk = a.shape[0] if ta else a.shape[1]
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        row = cuda.blockIdx.y * T + ty
        col = cuda.blockIdx.x * T + tx
        sa = cuda.shared.array((T, T), nbtype)
        sb = cuda.shared.array((T, T), nbtype)
        acc = nbtype(0)
        for k0 in range(0, kk, T):
            k = k0 + tx  # A tile: op(A)[row, k]
            v = nbtype(0)
            if row < m and k < kk:
                v = a[k, row] if ta else a[row, k]
            sa[ty, tx] = v
            k = k0 + ty  # B tile: op(B)[k, col]
            v = nbtype(0)
            if k < kk and col < n:
                v = b[col, k] if tb else b[k, col]
            sb[ty, tx] = v
            cuda.syncthreads()
            for t in range(T):
                acc += sa[ty, t] * sb[t, tx]
            cuda.syncthreads()
        if row < m and col < n:
            if accumulate:
                c[row, col] += acc
            else:
                c[row, col] = acc

    def activate(z, bias, has_bias, act, slope, s):
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
            elif act == LEAKY:
                if v > 0:
                    z[i, j] = v
                    s[i, j] = 1
                else:
                    z[i, j] = nbtype(slope) * v
                    s[i, j] = slope
            else:
                z[i, j] = v
                s[i, j] = 1

    def mul(out, a, b, alpha, accumulate):
        i = cuda.blockIdx.y * T + cuda.threadIdx.y
        j = cuda.blockIdx.x * T + cuda.threadIdx.x
        if i < out.shape[0] and j < out.shape[1]:
            bi = i if b.shape[0] > 1 else 0
            bj = j if b.shape[1] > 1 else 0
            v = nbtype(alpha) * a[i, j] * b[bi, bj]
            if accumulate:
                out[i, j] += v
            else:
                out[i, j] = v

    def tanh_zbar(h, s, a, gbar, head, out):
        i = cuda.blockIdx.y * T + cuda.threadIdx.y
        j = cuda.blockIdx.x * T + cuda.threadIdx.x
        if i < out.shape[0] and j < out.shape[1]:
            sbar = gbar[i, j] if head else a[i, j] * gbar[i, j]
            out[i, j] = -2 * h[i, j] * s[i, j] * sbar

    def penalty_rows(u, ubar, terms, two_sided):
        b = cuda.blockIdx.x * T * T + cuda.threadIdx.y * T + cuda.threadIdx.x
        n = u.shape[0]
        if b < n:
            sq = nbtype(0)
            for k in range(u.shape[1]):
                sq += u[b, k] * u[b, k]
            if two_sided:
                norm = math.sqrt(sq + nbtype(NORM_EPS))
                terms[b, 0] = (norm - 1) * (norm - 1)
                c = nbtype(2.0) / n * (1 - 1 / norm)
            else:
                terms[b, 0] = sq
                c = nbtype(2.0) / n
            for k in range(u.shape[1]):
                ubar[b, k] = c * u[b, k]

    def colsum_prod(a, b, use_b, out):
        j = cuda.blockIdx.x * T * T + cuda.threadIdx.y * T + cuda.threadIdx.x
        if j < a.shape[1]:
            acc = nbtype(0)
            for i in range(a.shape[0]):
                acc += a[i, j] * b[i, j] if use_b else a[i, j]
            out[0, j] += acc

    return {"gemm": gemm, "activate": activate, "mul": mul, "tanh_zbar": tanh_zbar,
            "penalty_rows": penalty_rows, "colsum_prod": colsum_prod}


def kernel_signatures() -> list[tuple[str, Callable, tuple]]:
    """(name, Python function, Numba signature) for every kernel and dtype, for compiling
    ahead of time (``numba.cuda.compile_ptx``), as the PTX test does."""
    from numba import float32, float64, int64

    out = []
    for dtype, nbtype in ((np.float32, float32), (np.float64, float64)):
        m = nbtype[:, ::1]
        sigs = {"gemm": (m, m, m, int64, int64, int64),
                "activate": (m, m, int64, int64, float64, m),
                "mul": (m, m, m, float64, int64),
                "tanh_zbar": (m, m, m, m, int64, m),
                "penalty_rows": (m, m, m, int64),
                "colsum_prod": (m, m, int64, m)}
        for name, fn in _build(dtype).items():
            out.append((f"gp_{name}_{np.dtype(dtype).name}", fn, sigs[name]))
    return out


@functools.cache
def _kernels(dtype_name: str, tile: int) -> dict:
    return {name: _numba_cuda().jit(fn)
            for name, fn in _build(np.dtype(dtype_name), tile).items()}



def _blocks(n: int, per: int) -> int:
    return max(1, math.ceil(n / per))


class _Launcher:
    """Launches the kernels of one dtype on CuPy's current stream (or in the simulator)."""

    def __init__(self, xp, dtype):
        self.xp, self.dtype, self.tile = xp, np.dtype(dtype), TILE
        self.kernels = _kernels(self.dtype.name, self.tile)
        self.stream = None
        if xp is not np:
            self.stream = cuda.external_stream(xp.cuda.get_current_stream().ptr)

    def launch(self, name: str, grid: tuple, *args) -> None:
        kernel = self.kernels[name]
        if self.stream is None:
            kernel[grid, (self.tile, self.tile)](*args)
            return
        arrays = [cuda.as_cuda_array(a) if hasattr(a, "__cuda_array_interface__") else a
                  for a in args]
        kernel[grid, (self.tile, self.tile), self.stream](*arrays)

    def grid(self, rows: int, cols: int) -> tuple[int, int]:
        """Blocks covering a rows × cols array, one thread per entry."""
        return _blocks(cols, self.tile), _blocks(rows, self.tile)

    def grid_1d(self, n: int) -> tuple[int, int]:
        """Blocks covering n items, one thread per item (tile² threads a block)."""
        return _blocks(n, self.tile * self.tile), 1

    def gemm(self, a, b, ta: bool = False, tb: bool = False, out=None):
        """op(A) op(B) into a new array, or added into ``out``."""
        m = a.shape[1] if ta else a.shape[0]
        n = b.shape[0] if tb else b.shape[1]
        accumulate = out is not None
        if out is None:
            out = self.xp.empty((m, n), dtype=self.dtype)
        self.launch("gemm", self.grid(m, n), a, b, out, int(ta), int(tb),
                    int(accumulate))
        return out

    def mul(self, a, b, alpha: float = 1.0, out=None):
        """α · a ⊙ b (b broadcast from a row or a column) into a new array, or into ``out``."""
        accumulate = out is not None
        if out is None:
            out = self.xp.empty(a.shape, dtype=self.dtype)
        self.launch("mul", self.grid(*a.shape), out, a, b,
                    float(alpha), int(accumulate))
        return out

    def tanh_zbar(self, h, s, a, gbar, head: bool):
        out = self.xp.empty(h.shape, dtype=self.dtype)
        self.launch("tanh_zbar", self.grid(*h.shape), h, s, a, gbar,
                    int(head), out)
        return out

    def colsum_prod(self, a, b, out) -> None:
        """out (1, n) += Σ_i a[i, :] (⊙ b[i, :] unless b is None)."""
        self.launch("colsum_prod", self.grid_1d(a.shape[1]), a,
                    a if b is None else b, int(b is not None), out)


def penalty_and_grads(x, weights: Sequence, biases: Sequence, activations: Sequence[str],
                      slopes: Sequence[float], kind: str = "two_sided", want_grads: bool = True
                      ) -> tuple:
    """(P, [W̄_l], [b̄_l]) as :func:`tinygen.kernels.cpu.gp.penalty_and_grads` computes them,
    for CuPy arrays (NumPy arrays under the simulator); P is a 0-d array of x's dtype."""
    xp = array_module(x)
    x = xp.ascontiguousarray(x)
    dtype = x.dtype
    check_mlp(x, weights, biases, activations, slopes, kind)
    if x.shape[0] == 0:
        raise ValueError("gp kernel: the batch is empty")
    ws = [xp.ascontiguousarray(w, dtype=dtype) for w in weights]
    bs = [None if b is None else xp.ascontiguousarray(b, dtype=dtype).reshape(1, -1)
          for b in biases]
    acts = [ACTIVATIONS[a] for a in activations]
    alphas = [float(s) if a == "leaky_relu" else 0.0 for a, s in zip(activations, slopes)]
    k = _Launcher(xp, dtype)
    L, B = len(ws), x.shape[0]
    dummy = xp.zeros((1, 1), dtype=dtype)
    # -- forward ------------------------------------------------------------------------
    hs, ss = [x], []
    for l in range(L):
        z = k.gemm(hs[l], ws[l])
        s = xp.empty_like(z)
        k.launch("activate", k.grid(*z.shape), z,
                 dummy if bs[l] is None else bs[l], int(bs[l] is not None), acts[l],
                 alphas[l], s)
        hs.append(z)
        ss.append(s)
    # -- 1. input gradient --------------------------------------------------------------
    g = ss[L - 1]
    gs, as_ = [g] * L, [g] * L
    for l in range(L - 1, -1, -1):
        gs[l] = g
        as_[l] = k.gemm(g, ws[l], tb=True)
        if l > 0:
            g = k.mul(ss[l - 1], as_[l])
    # -- 2. penalty ---------------------------------------------------------------------
    u = as_[0]
    abar = xp.empty_like(u)
    terms = xp.empty((B, 1), dtype=dtype)
    k.launch("penalty_rows", k.grid_1d(B), u, abar, terms,
             int(kind == "two_sided"))
    penalty = xp.asarray(terms.sum(dtype=np.float64) / B, dtype=dtype)
    dws = [xp.zeros_like(w) for w in ws]
    dbs = [None if b is None else xp.zeros_like(b) for b in bs]
    if want_grads:
        _double_backward(k, ws, bs, acts, hs, ss, gs, as_, abar, dws, dbs)
    return penalty, dws, [None if db is None else db.reshape(-1) for db in dbs]


def _double_backward(k: _Launcher, ws, bs, acts, hs, ss, gs, as_, abar, dws, dbs) -> None:
    """Steps 3–5 of the CPU kernel: adds W̄_l, b̄_l into ``dws``/``dbs``."""
    L = len(ws)
    top = max((l for l in range(L) if acts[l] == TANH), default=-1)
    zbars = [None] * L
    for l in range(L):
        if L >= 2 and l == L - 2:  # 5. the one-output head: layers L−1 and L together
            r = k.mul(ss[l], gs[L - 1])
            m = k.gemm(abar, r, ta=True)
            k.mul(m, ws[L - 1].reshape(1, -1), out=dws[l])
            k.colsum_prod(ws[l], m, dws[L - 1].reshape(1, -1))
            if acts[l] == TANH or acts[L - 1] == TANH:
                gbar = k.gemm(abar, ws[l])
                if acts[l] == TANH:
                    zbars[l] = k.tanh_zbar(hs[l + 1], ss[l], as_[l + 1], gbar, False)
                if acts[L - 1] == TANH:
                    gbar_head = k.gemm(k.mul(ss[l], gbar), ws[L - 1])
                    zbars[L - 1] = k.tanh_zbar(hs[L], ss[L - 1], gbar_head, gbar_head, True)
            break
        k.gemm(abar, gs[l], ta=True, out=dws[l])
        if l == L - 1:  # depth 1: s̄_L = ḡ_L
            if acts[l] == TANH:
                gbar = k.gemm(abar, ws[l])
                zbars[l] = k.tanh_zbar(hs[l + 1], ss[l], gbar, gbar, True)
            break
        gbar = k.gemm(abar, ws[l])
        if acts[l] == TANH:
            zbars[l] = k.tanh_zbar(hs[l + 1], ss[l], as_[l + 1], gbar, False)
        abar = k.mul(ss[l], gbar)
    if top < 0:
        return
    zeta = zbars[top]  # 4. reverse over the forward pass, from the top-most tanh down
    for l in range(top, -1, -1):
        k.gemm(hs[l], zeta, ta=True, out=dws[l])
        if bs[l] is not None:
            k.colsum_prod(zeta, None, dbs[l])
        if l > 0:
            back = k.gemm(zeta, ws[l], tb=True)
            if acts[l - 1] == TANH:
                nxt = zbars[l - 1].copy()
                k.mul(ss[l - 1], back, out=nxt)
            else:
                nxt = k.mul(ss[l - 1], back)
            zeta = nxt
