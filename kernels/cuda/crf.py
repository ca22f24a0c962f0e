"""Linear-chain CRF on the GPU: Numba CUDA kernels for the forward algorithm, forward-backward
marginals and Viterbi (formulas in :mod:`tinygen.kernels.cpu.crf`).

**One block per sequence, threads over tags.** The recursion is sequential in t but each
step is K independent logsumexps, one per tag j; a block of ``T`` threads (a multiple of 32,
at most :data:`THREADS`) walks the sequence, thread ``tid`` owning tags j = tid, tid + T, …
The previous step's α sits in shared memory, so each thread's logsumexp over the previous
tags reads it from there (a broadcast: every thread reads the same α(i)) and the column
G[:, j] from global memory (consecutive threads read consecutive j: coalesced)::

    α_t(j) = m_j + log Σ_i exp(α_{t−1}(i) + G_ij − m_j) + h_t(j),  m_j = max_i(α_{t−1}(i) + G_ij)

— two passes over i, exact log space (exponentials are cheap on a GPU, so the CPU kernels'
factorised shift is not needed). Two shared buffers alternate between steps (ping-pong), so
one ``syncthreads`` per step separates reading α_{t−1} from writing α_t. Steps t ≥ n_b copy
α forward; log Z = logsumexp_j(α_{n−1}(j) + e_j) is a serial loop of thread 0 over shared
memory.

The backward kernel runs β the same way from the end, reading Gᵀ so that thread i's row
G[i, :] is again a coalesced column; it writes μ_t and adds ξ_t(i, j) into ``pair`` with
thread j owning column j for every t (no two threads write one entry: no atomics). The
Viterbi kernel keeps int32 back-pointers (B, L, K) in global memory; thread 0 backtracks.
All arithmetic is in the input dtype (float32 or float64). K is at most
:data:`MAX_TAGS` (the shared buffers are static).

The host functions take CuPy arrays (launched on CuPy's current stream) and return CuPy
arrays. Under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) they take and return NumPy
arrays, which is how the tests run them without a GPU. ``numba.cuda`` is imported on first
use only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from . import array_module, import_numba_cuda

THREADS = 128   # most threads per block (a multiple of 32)
MAX_TAGS = 1024  # largest K: the shared α buffers are (2, MAX_TAGS)

# ``numba.cuda``, bound on first use: a module global (the simulator swaps it per kernel).
cuda = None


def _numba_cuda():
    global cuda
    if cuda is None:
        cuda = import_numba_cuda()
    return cuda


def _build(dtype: np.dtype) -> dict[str, Callable]:
    """The three kernels as plain Python functions for ``dtype`` (float32 or float64)."""
    from numba import float32, float64

    _numba_cuda()
    nbtype = float32 if np.dtype(dtype) == np.float32 else float64
    M = MAX_TAGS
    NEG = -math.inf

    def forward(h, G, start, end, lengths, alpha, log_z):
        b = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        L = h.shape[1]
        K = h.shape[2]
        n = lengths[b]
        buf = cuda.shared.array((2, M), nbtype)
        for j in range(tid, K, nt):
            v = start[j] + h[b, 0, j]
            buf[0, j] = v
            alpha[b, 0, j] = v
        cuda.syncthreads()
        cur = 0
        for t in range(1, n):
            for j in range(tid, K, nt):
                m = nbtype(NEG)
                for i in range(K):
                    x = buf[cur, i] + G[i, j]
                    if x > m:
                        m = x
                v = nbtype(NEG)
                if m > NEG:
                    s = nbtype(0)
                    for i in range(K):
                        s += math.exp(buf[cur, i] + G[i, j] - m)
                    v = m + math.log(s) + h[b, t, j]
                buf[1 - cur, j] = v
                alpha[b, t, j] = v
            cuda.syncthreads()
            cur = 1 - cur
        for t in range(n, L):
            for j in range(tid, K, nt):
                alpha[b, t, j] = buf[cur, j]
        if tid == 0:
            m = nbtype(NEG)
            for j in range(K):
                x = buf[cur, j] + end[j]
                if x > m:
                    m = x
            total = m
            if m > NEG:
                s = nbtype(0)
                for j in range(K):
                    s += math.exp(buf[cur, j] + end[j] - m)
                total = m + math.log(s)
            log_z[b] = total

    def marginals(h, G, GT, end, lengths, alpha, log_z, unary, pair, per_position):
        b = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        K = h.shape[2]
        n = lengths[b]
        lz = log_z[b]
        buf = cuda.shared.array((2, M), nbtype)   # c_j = h_{t+1}(j) + β_{t+1}(j)
        finite = lz > NEG and lz < -NEG
        if finite:
            for j in range(tid, K, nt):
                buf[0, j] = h[b, n - 1, j] + end[j]
                unary[b, n - 1, j] = math.exp(alpha[b, n - 1, j] + end[j] - lz)
        cuda.syncthreads()
        cur = 0
        for t in range(n - 2, -1, -1):
            if finite:
                pp = t if per_position else 0
                for j in range(tid, K, nt):          # ξ_t(i, j), thread j owns column j
                    cj = buf[cur, j]
                    for i in range(K):
                        pair[b, pp, i, j] += math.exp(alpha[b, t, i] + G[i, j] + cj - lz)
                for i in range(tid, K, nt):          # β_t(i) = logsumexp_j(G_ij + c_j)
                    m = nbtype(NEG)
                    for j in range(K):
                        x = GT[j, i] + buf[cur, j]
                        if x > m:
                            m = x
                    beta = nbtype(NEG)
                    if m > NEG:
                        s = nbtype(0)
                        for j in range(K):
                            s += math.exp(GT[j, i] + buf[cur, j] - m)
                        beta = m + math.log(s)
                    unary[b, t, i] = math.exp(alpha[b, t, i] + beta - lz)
                    buf[1 - cur, i] = h[b, t, i] + beta
            cuda.syncthreads()
            cur = 1 - cur

    def viterbi(h, G, start, end, lengths, back, paths, scores):
        b = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        L = h.shape[1]
        K = h.shape[2]
        n = lengths[b]
        buf = cuda.shared.array((2, M), nbtype)
        for j in range(tid, K, nt):
            buf[0, j] = start[j] + h[b, 0, j]
        cuda.syncthreads()
        cur = 0
        for t in range(1, n):
            for j in range(tid, K, nt):
                best = nbtype(NEG)
                arg = 0
                for i in range(K):
                    x = buf[cur, i] + G[i, j]
                    if x > best:
                        best = x
                        arg = i
                back[b, t, j] = arg
                buf[1 - cur, j] = best + h[b, t, j]
            cuda.syncthreads()
            cur = 1 - cur
        if tid == 0:
            best = nbtype(NEG)
            top = 0
            for j in range(K):
                x = buf[cur, j] + end[j]
                if x > best:
                    best = x
                    top = j
            scores[b] = best
            paths[b, n - 1] = top
            for t in range(n - 1, 0, -1):
                top = back[b, t, top]
                paths[b, t - 1] = top
            for t in range(n, L):
                paths[b, t] = -1

    return {"forward": forward, "marginals": marginals, "viterbi": viterbi}


def kernel_signatures() -> list[tuple[str, Callable, tuple]]:
    """(name, Python function, Numba signature) for every kernel and dtype, for compiling
    ahead of time (``numba.cuda.compile_ptx``), as the PTX test does."""
    from numba import boolean, float32, float64, int32, int64

    out = []
    for dtype, nb in ((np.float32, float32), (np.float64, float64)):
        h3, m2, v1 = nb[:, :, ::1], nb[:, ::1], nb[::1]
        lengths = int64[::1]
        sigs = {
            "forward": (h3, m2, v1, v1, lengths, h3, v1),
            "marginals": (h3, m2, m2, v1, lengths, h3, v1, h3, nb[:, :, :, ::1], boolean),
            "viterbi": (h3, m2, v1, v1, lengths, int32[:, :, ::1], int64[:, ::1], v1),
        }
        for name, fn in _build(dtype).items():
            out.append((f"crf_{name}_{np.dtype(dtype).name}", fn, sigs[name]))
    return out


@functools.cache
def _kernels(dtype_name: str) -> dict:
    return {name: _numba_cuda().jit(fn) for name, fn in _build(np.dtype(dtype_name)).items()}



def _threads(K: int) -> int:
    return int(min(THREADS, 32 * max(1, math.ceil(K / 32))))


def _launch(name: str, blocks: int, threads: int, dtype, *args) -> None:
    kernel = _kernels(np.dtype(dtype).name)[name]
    if isinstance(args[0], np.ndarray):  # the simulator: host arrays stand in for device ones
        kernel[blocks, threads](*args)
        return
    import cupy
    stream = cuda.external_stream(cupy.cuda.get_current_stream().ptr)
    arrays = [cuda.as_cuda_array(a) if hasattr(a, "__cuda_array_interface__") else a
              for a in args]
    kernel[blocks, threads, stream](*arrays)


def _prepare(h, G, start, end, lengths):
    xp = array_module(h)
    h = xp.ascontiguousarray(h)
    if h.dtype not in (np.float32, np.float64):
        raise TypeError(f"cuda crf kernels take float32 or float64 emissions, got {h.dtype}")
    K = h.shape[2]
    if K > MAX_TAGS:
        raise ValueError(f"cuda crf kernels take at most {MAX_TAGS} tags, got {K}")
    G = xp.ascontiguousarray(G, dtype=h.dtype)
    start = xp.zeros(K, h.dtype) if start is None else xp.ascontiguousarray(start, h.dtype)
    end = xp.zeros(K, h.dtype) if end is None else xp.ascontiguousarray(end, h.dtype)
    return xp, h, G, start, end, xp.ascontiguousarray(lengths, dtype=np.int64)


def forward(h, G, start, end, lengths):
    """(log Z (B,), α (B, L, K)), both in h's dtype."""
    xp, h, G, start, end, lengths = _prepare(h, G, start, end, lengths)
    B, L, K = h.shape
    alpha = xp.empty((B, L, K), dtype=h.dtype)
    log_z = xp.empty(B, dtype=h.dtype)
    if B:
        _launch("forward", B, _threads(K), h.dtype, h, G, start, end, lengths, alpha, log_z)
    return log_z, alpha


def marginals(h, G, start, end, lengths, alpha, log_z, per_position: bool):
    """(μ (B, L, K), ξ (B, L − 1, K, K) per position or (B, K, K) summed over t)."""
    xp, h, G, start, end, lengths = _prepare(h, G, start, end, lengths)
    B, L, K = h.shape
    unary = xp.zeros((B, L, K), dtype=h.dtype)
    pair = xp.zeros((B, max(L - 1, 1) if per_position else 1, K, K), dtype=h.dtype)
    if B:
        _launch("marginals", B, _threads(K), h.dtype, h, G, xp.ascontiguousarray(G.T), end,
                lengths, xp.ascontiguousarray(alpha, dtype=h.dtype),
                xp.ascontiguousarray(log_z, dtype=h.dtype), unary, pair, bool(per_position))
    return unary, (pair[:, :L - 1] if per_position else pair[:, 0])


def viterbi(h, G, start, end, lengths):
    """(paths (B, L) int64, −1 at padded positions; scores (B,) in h's dtype)."""
    xp, h, G, start, end, lengths = _prepare(h, G, start, end, lengths)
    B, L, K = h.shape
    back = xp.zeros((B, L, K), dtype=np.int32)
    paths = xp.empty((B, L), dtype=np.int64)
    scores = xp.empty(B, dtype=h.dtype)
    if B:
        _launch("viterbi", B, _threads(K), h.dtype, h, G, start, end, lengths, back, paths,
                scores)
    return paths, scores
