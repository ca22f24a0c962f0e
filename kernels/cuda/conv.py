"""2-D convolution on the GPU: Numba CUDA kernels, tiled implicit GEMMs in shared memory.

The same three linear maps as :mod:`tinygen.kernels.cpu.conv` (read its docstring for the
formulas), each written as a matrix product whose operands are *never materialised*: a
thread block computes one 16 × 16 tile of the product C = A B and walks the reduction axis
in steps of 16. At each step its 256 threads each load one element of A and one of B into
shared memory (computing on the fly where in x, w or g that element lives, and a zero where
it falls in the padding), synchronise, and each thread adds a 16-long dot product of a row of
the A tile with a column of the B tile to its accumulator::

    forward      y[n, γO_g + o, a, b]  rows o ∈ O_g,  columns (n, a, b),  reduce (c, i, j)
                 A[o, (c,i,j)] = w[γO_g + o, c, i, j]
                 B[(c,i,j), (n,a,b)] = x[n, γC_g + c, a·s − p + i·d, b·s − p + j·d]
    input grad   dx[n, γC_g + c, h, w'] rows c ∈ C_g, columns (n, h, w'), reduce (o, i, j)
                 A[c, (o,i,j)] = w[γO_g + o, c, i, j]
                 B[(o,i,j), (n,h,w')] = g[n, γO_g + o, a, b] where a·s = h + p − i·d
                 (and b·s = w' + p − j·d) have integer solutions inside the output, else 0
    weight grad  dw[γO_g + o, c, i, j] rows o ∈ O_g,  columns (c, i, j),  reduce (n, a, b)
                 A[o, (n,a,b)] = g[n, γO_g + o, a, b],  B[(n,a,b), (c,i,j)] = the forward's B

The input gradient is a *gather* (each thread owns one dx value and finds the outputs that
read it), so it needs no atomics. The weight gradient has a tiny output (O × C_g·kH·kW) and a
long reduction (N·H_out·W_out), so the reduction is split across ``blockIdx.z`` and the
partial tiles are combined with ``cuda.atomic.add``. Group γ is ``blockIdx.z`` (forward and
input grad) or ``blockIdx.z // splits`` (weight grad).

The host functions take CuPy arrays (through ``__cuda_array_interface__``, launched on
CuPy's current stream) and return CuPy arrays. Under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) they take and return NumPy arrays instead, which is how the
tests run these kernels on a machine without a GPU. ``numba.cuda`` is imported only when a
kernel is first needed, so a CPU-only install never touches it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from . import array_module, import_numba_cuda

TILE = 16  # tile width: blocks are TILE × TILE threads
WEIGHT_GRAD_BLOCKS = 512  # aim for about this many blocks when splitting the reduction

# ``numba.cuda``, bound on first use by :func:`_numba_cuda`. It must be a module global, not a
# local: the simulator runs a kernel by swapping the ``cuda`` global its function sees for a
# fake module that knows the thread and block indices.
cuda = None


def _numba_cuda():
    global cuda
    if cuda is None:
        cuda = import_numba_cuda()
    return cuda


def _build(dtype: np.dtype) -> dict[str, Callable]:
    """The three kernels as plain Python functions for ``dtype`` (float32 or float64); the
    shared-memory tiles have that dtype, so each dtype gets its own compiled kernels."""
    from numba import float32, float64

    _numba_cuda()
    nbtype = float32 if np.dtype(dtype) == np.float32 else float64
    T = TILE

    def forward(x, w, y, sh, sw, ph, pw, dh, dw):
        n_img, c_all, h_in, w_in = x.shape
        o_all, cg, kh, kw = w.shape
        ho, wo = y.shape[2], y.shape[3]
        groups = c_all // cg
        og = o_all // groups
        kk = cg * kh * kw
        ncols = n_img * ho * wo
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        gam = cuda.blockIdx.z
        row = cuda.blockIdx.y * T + ty          # output channel within the group
        col = cuda.blockIdx.x * T + tx          # (n, a, b) flattened
        sa = cuda.shared.array((T, T), nbtype)
        sb = cuda.shared.array((T, T), nbtype)
        # this thread's column of B: which image and output pixel
        n = col // (ho * wo)
        rem = col - n * (ho * wo)
        a = rem // wo
        b = rem - a * wo
        acc = nbtype(0)
        for k0 in range(0, kk, T):
            k = k0 + tx  # A tile: row ``row``, reduction index k
            if row < og and k < kk:
                c = k // (kh * kw)
                r = k - c * (kh * kw)
                sa[ty, tx] = w[gam * og + row, c, r // kw, r - (r // kw) * kw]
            else:
                sa[ty, tx] = 0
            k = k0 + ty  # B tile: reduction index k, column ``col``
            v = nbtype(0)
            if col < ncols and k < kk:
                c = k // (kh * kw)
                r = k - c * (kh * kw)
                i = r // kw
                j = r - i * kw
                h = a * sh - ph + i * dh
                ww = b * sw - pw + j * dw
                if h >= 0 and h < h_in and ww >= 0 and ww < w_in:
                    v = x[n, gam * cg + c, h, ww]
            sb[ty, tx] = v
            cuda.syncthreads()
            for t in range(T):
                acc += sa[ty, t] * sb[t, tx]
            cuda.syncthreads()
        if row < og and col < ncols:
            y[n, gam * og + row, a, b] = acc

    def input_grad(g, w, dx, sh, sw, ph, pw, dh, dw):
        n_img, o_all, ho, wo = g.shape
        _, cg, kh, kw = w.shape
        h_in, w_in = dx.shape[2], dx.shape[3]
        groups = dx.shape[1] // cg
        og = o_all // groups
        kk = og * kh * kw
        ncols = n_img * h_in * w_in
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        gam = cuda.blockIdx.z
        row = cuda.blockIdx.y * T + ty          # input channel within the group
        col = cuda.blockIdx.x * T + tx          # (n, h, w') flattened
        sa = cuda.shared.array((T, T), nbtype)
        sb = cuda.shared.array((T, T), nbtype)
        n = col // (h_in * w_in)
        rem = col - n * (h_in * w_in)
        h = rem // w_in
        ww = rem - h * w_in
        acc = nbtype(0)
        for k0 in range(0, kk, T):
            k = k0 + tx  # A tile: w[γO_g + o, row, i, j]
            if row < cg and k < kk:
                o = k // (kh * kw)
                r = k - o * (kh * kw)
                sa[ty, tx] = w[gam * og + o, row, r // kw, r - (r // kw) * kw]
            else:
                sa[ty, tx] = 0
            k = k0 + ty  # B tile: g at the output that reads (h, w') through tap (i, j)
            v = nbtype(0)
            if col < ncols and k < kk:
                o = k // (kh * kw)
                r = k - o * (kh * kw)
                i = r // kw
                j = r - i * kw
                ta = h + ph - i * dh
                tb = ww + pw - j * dw
                if ta >= 0 and tb >= 0 and ta % sh == 0 and tb % sw == 0:
                    a = ta // sh
                    b = tb // sw
                    if a < ho and b < wo:
                        v = g[n, gam * og + o, a, b]
            sb[ty, tx] = v
            cuda.syncthreads()
            for t in range(T):
                acc += sa[ty, t] * sb[t, tx]
            cuda.syncthreads()
        if row < cg and col < ncols:
            dx[n, gam * cg + row, h, ww] = acc

    def weight_grad(x, g, dwt, sh, sw, ph, pw, dh, dw, splits):
        n_img, c_all, h_in, w_in = x.shape
        _, o_all, ho, wo = g.shape
        _, cg, kh, kw = dwt.shape
        groups = c_all // cg
        og = o_all // groups
        kk = cg * kh * kw
        nq = n_img * ho * wo
        per = (nq + splits - 1) // splits
        per = ((per + T - 1) // T) * T          # whole tiles per split
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        gam = cuda.blockIdx.z // splits
        q_lo = (cuda.blockIdx.z - gam * splits) * per
        q_hi = q_lo + per
        if q_hi > nq:  # (no min(): in Numba CUDA it compiles against the current device)
            q_hi = nq
        row = cuda.blockIdx.y * T + ty          # output channel within the group
        col = cuda.blockIdx.x * T + tx          # (c, i, j) flattened
        sa = cuda.shared.array((T, T), nbtype)
        sb = cuda.shared.array((T, T), nbtype)
        c = col // (kh * kw)
        r = col - c * (kh * kw)
        i = r // kw
        j = r - i * kw
        acc = nbtype(0)
        for q0 in range(q_lo, q_hi, T):
            q = q0 + tx  # A tile: g[n, γO_g + row, a, b] for reduction index q
            v = nbtype(0)
            if row < og and q < q_hi:
                n = q // (ho * wo)
                rem = q - n * (ho * wo)
                a = rem // wo
                v = g[n, gam * og + row, a, rem - a * wo]
            sa[ty, tx] = v
            q = q0 + ty  # B tile: x under tap (i, j) of output q
            v = nbtype(0)
            if col < kk and q < q_hi:
                n = q // (ho * wo)
                rem = q - n * (ho * wo)
                a = rem // wo
                b = rem - a * wo
                h = a * sh - ph + i * dh
                ww = b * sw - pw + j * dw
                if h >= 0 and h < h_in and ww >= 0 and ww < w_in:
                    v = x[n, gam * cg + c, h, ww]
            sb[ty, tx] = v
            cuda.syncthreads()
            for t in range(T):
                acc += sa[ty, t] * sb[t, tx]
            cuda.syncthreads()
        if row < og and col < kk:
            cuda.atomic.add(dwt, (gam * og + row, c, i, j), acc)

    return {"forward": forward, "input_grad": input_grad, "weight_grad": weight_grad}


def kernel_signatures() -> list[tuple[str, Callable, tuple]]:
    """(name, Python function, Numba signature) for every kernel and dtype, for compiling
    ahead of time (``numba.cuda.compile_ptx``), as the PTX test does."""
    from numba import float32, float64, int64

    out = []
    for dtype, nbtype in ((np.float32, float32), (np.float64, float64)):
        arr = nbtype[:, :, :, ::1]
        geometry = (int64,) * 6
        for name, fn in _build(dtype).items():
            extra = (int64,) if name == "weight_grad" else ()
            out.append((f"{name}_{np.dtype(dtype).name}", fn, (arr, arr, arr) + geometry + extra))
    return out


@functools.cache
def _kernels(dtype_name: str) -> dict:
    return {name: _numba_cuda().jit(fn) for name, fn in _build(np.dtype(dtype_name)).items()}



def _launch(name: str, grid: tuple, dtype, *args) -> None:
    kernel = _kernels(np.dtype(dtype).name)[name]
    if isinstance(args[0], np.ndarray):  # the simulator: host arrays stand in for device ones
        kernel[grid, (TILE, TILE)](*args)
        return
    import cupy
    stream = cuda.external_stream(cupy.cuda.get_current_stream().ptr)
    arrays = [cuda.as_cuda_array(a) if hasattr(a, "__cuda_array_interface__") else a
              for a in args]
    kernel[grid, (TILE, TILE), stream](*arrays)


def _blocks(n: int) -> int:
    return max(1, math.ceil(n / TILE))


def _prepare(a, b):
    xp = array_module(a)
    a = xp.ascontiguousarray(a)
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"cuda conv kernels take float32 or float64 arrays, got {a.dtype}")
    return xp, a, xp.ascontiguousarray(b, dtype=a.dtype)


def _geometry(stride, padding, dilation) -> tuple[int, ...]:
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    return int(sh), int(sw), int(ph), int(pw), int(dh), int(dw)


def conv2d_forward(x, w, stride, padding, dilation, groups: int, out_hw):
    """y (N, O, H_out, W_out) from x (N, C, H, W) and w (O, C/G, kH, kW)."""
    xp, x, w = _prepare(x, w)
    n = x.shape[0]
    o = w.shape[0]
    ho, wo = (int(v) for v in out_hw)
    y = xp.empty((n, o, ho, wo), dtype=x.dtype)
    if y.size == 0:
        return y
    if w.size == 0 or x.shape[1] == 0:
        y[...] = 0
        return y
    grid = (_blocks(n * ho * wo), _blocks(o // groups), groups)
    _launch("forward", grid, x.dtype, x, w, y, *_geometry(stride, padding, dilation))
    return y


def conv2d_input_grad(g, w, stride, padding, dilation, groups: int, in_hw):
    """dx (N, C, H, W) from g (N, O, H_out, W_out) and w (O, C/G, kH, kW)."""
    xp, g, w = _prepare(g, w)
    n = g.shape[0]
    cg = w.shape[1]
    h, wd = (int(v) for v in in_hw)
    dx = xp.zeros((n, groups * cg, h, wd), dtype=g.dtype)
    if dx.size == 0 or g.size == 0:
        return dx
    grid = (_blocks(n * h * wd), _blocks(cg), groups)
    _launch("input_grad", grid, g.dtype, g, w, dx, *_geometry(stride, padding, dilation))
    return dx


def conv2d_weight_grad(x, g, stride, padding, dilation, groups: int, kernel_hw):
    """dw (O, C/G, kH, kW) from x (N, C, H, W) and g (N, O, H_out, W_out)."""
    xp, x, g = _prepare(x, g)
    n, c = x.shape[:2]
    o, ho, wo = g.shape[1:]
    kh, kw = (int(v) for v in kernel_hw)
    cg = c // groups
    dwt = xp.zeros((o, cg, kh, kw), dtype=x.dtype)
    nq = n * ho * wo
    if dwt.size == 0 or nq == 0:
        return dwt
    tiles = _blocks(cg * kh * kw) * _blocks(o // groups) * groups
    splits = max(1, min(_blocks(nq), WEIGHT_GRAD_BLOCKS // tiles))
    grid = (_blocks(cg * kh * kw), _blocks(o // groups), groups * splits)
    _launch("weight_grad", grid, x.dtype, x, g, dwt, *_geometry(stride, padding, dilation),
            splits)
    return dwt
