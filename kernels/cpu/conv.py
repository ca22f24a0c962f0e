"""2-D convolution and max pooling on the CPU: Numba-built column matrices and BLAS matmul,
and direct stride-1 kernels for convolutions with few output channels.

One geometry, three linear maps. With stride s, front padding p, dilation d and G groups
(input channel γ·C_g + c in group γ, output channel γ·O_g + o)::

    forward      y[n, γO_g + o, a, b] = Σ_{c,i,j} w[γO_g + o, c, i, j] · x[n, γC_g + c, r, t]
                 with r = a·s − p + i·d and t = b·s − p + j·d (x is 0 outside)
    input grad   dx = the adjoint of x ↦ y (the transposed convolution of g with w)
    weight grad  dw[γO_g + o, c, i, j] = Σ_{n,a,b} g[n, γO_g + o, a, b] · x[n, γC_g + c, r, t]

The bottom/right padding is implied by the output size the caller passes, so asymmetric
padding ("same" with an even kernel) and the transposed conv's output padding need nothing
extra. All three become matrix products once the input is unrolled into a *column matrix*
(im2col). The images of a chunk sit side by side in it, so that each group's product covers
the whole chunk in one GEMM (one small GEMM per image was what made short sequences slow:
a 7-long Conv1d over 64 lines ran 64 products of 7 columns); for group γ::

    col[γ, (c·kH + i)·kW + j, m, a·W_out + b] = x[m, γC_g + c, r, t]

    forward      Y[γ] = W[γ] @ col[γ]                            (O_g × K) @ (K × M·P)
    input grad   dcol[γ] = W[γ]ᵀ @ G[γ];  dx = col2im(dcol)      (col2im: the adjoint)
    weight grad  dW[γ] = Σ_chunks G[γ] @ col[γ]ᵀ                  (O_g × M·P) @ (M·P × K)

with K = C_g·kH·kW, P = H_out·W_out, M the images of the chunk, and G[γ] the output
gradient's chunk laid out the same way (one transposing copy, as is the product Y[γ] back
into (M, O, P)). im2col and col2im are Numba loops (``cache=True``, one compilation per
dtype, float32 and float64); a chunk holds :data:`CHUNK_BYTES` of columns (256 KiB: measured
against 0.5–8 MiB, smaller chunks that stay in L2 won at every size tried), and at least one
image. From :data:`PER_IMAGE_COLUMNS` output positions per image on, the products are one
per image again (a batched ``numpy.matmul`` over strided views of the same column matrix):
there the per-image products are large enough, and the transposing copies cost more than
the larger GEMM saves (a (64, 1, 28, 28) input: 3.0 ms with one GEMM per chunk, 1.6 ms per
image). With one output channel per group the input gradient is an outer product, done by
broadcasting: BLAS's GEMM with a reduction of length 1 ran 7× slower.

**Why im2col + GEMM, measured** (this repo's 2-core AVX-512 Xeon, float32, x (64, 16, 28, 28),
w (32, 16, 3, 3), padding 1, 0.46 GFLOP per pass; a square float32 GEMM of the same FLOPs
runs at 250–280 GFLOP/s with both cores, 140–160 with one)::

    forward variant                                     ms      GFLOP/s
    direct 7-deep Numba loops (njit)                    91        5
    direct loops, parallel=True over the images        368        1.3
    im2col + one GEMM over all 64 images                 7.3     64
    im2col + GEMM per image in ~1 MiB chunks             6.3–6.7 70
      of which im2col                                    2.5
      of which GEMM (O_g=32 × K=144 × P=784 per image)   3.4–4.3 110–136
    PyTorch 2.13 CPU (oneDNN, direct JIT kernels)        1.9    238

Direct loops lose by 10–20×: LLVM neither blocks them for registers nor vectorises across
output channels, while BLAS does both; the column matrix costs one extra pass over K·P
values but turns the arithmetic into a GEMM. The GEMM itself, with only 32 rows and a
144-long reduction, reaches ~50–70 % of the square GEMM's rate, and im2col (forward, weight
gradient) and col2im (input gradient, 2.8 ms) add about 8 ms to fwd+bwd, which is why the
whole fwd+bwd lands at 21 % of the 2-thread and 35 % of the 1-thread GEMM throughput
(``benchmarks/conv.py``: 23 ms with 2 threads, 26 ms with 1, against PyTorch's 5.8 and
11.4 ms); oneDNN's register-blocked direct kernels are what closes that gap.

Two loop shapes were measured and rejected: splitting the inner loop into three over
precomputed valid ranges (no bounds test per element) ran 2.4× *slower* than one loop with
the test (6.2 vs 2.5 ms for im2col: LLVM vectorises the branchy loop with masks), and
``parallel=True`` writers: 1.2 ms instead of 2.5 ms for im2col alone on a quiet machine,
but interleaved with the BLAS calls of a chunked forward pass no faster with Numba's
workqueue threads (7.0 vs 7.0 ms) and 9× slower with its OpenMP threads (64 vs 7.3 ms: the
OpenMP and OpenBLAS pools spin against each other on 2 cores; with another process on the
machine a pass took up to 1.8 s). So every kernel here is serial and BLAS keeps both cores.

A third try (2026-12-05) split the *batch* instead: each of two Python threads ran the serial
code above on its own chunks (``nogil`` Numba loops, every BLAS library held to one thread
meanwhile, the weight gradient summed in fixed blocks so that the result did not depend on
the thread count). Alone, conv fwd+bwd went from 24.2 to 15.8 ms and max pooling from 1.19
to 0.78 ms (wall, two idle cores, minimum of four alternating rounds). Inside the small
CNN's training step it lost, 16.9 → 19.2 ms: the step's dense layer is a threaded OpenBLAS
product, after which OpenBLAS's workers spin (about 2²⁸ cycles; ``OPENBLAS_THREAD_TIMEOUT``
changes that only before NumPy loads) and take the second core from the conv's threads.
Sending every engine matmul through the same threads (one BLAS thread each) kept the
workers asleep and gave 13.2–14.0 ms, but mid-sized products then ran slower than with
OpenBLAS's own threads ((320, 32) × (32, 1000): 0.28 ms split against 0.13 ms, 0.18 on one
thread; a thread hand-off through ``concurrent.futures`` costs 30–90 µs), and lesson 09's
quick run took 5–10 % longer. Two pools on two cores do not mix; PyTorch avoids this by
running its BLAS on its own single OpenMP pool. Not merged.

One GEMM per group over a chunk's images (this file) against one per image, fwd+bwd, one
thread, CPU time in one process (a loaded machine): x (64, 32, 4, 4), w (64, 32, 4, 4),
stride 2 (lesson 13's critic on 8×8 digits) 3.7 → 1.8 ms; a 7-long Conv1d, x (64, 32, 7),
w (64, 32, 3) 0.69 → 0.57 ms; (64, 32, 8, 8) to one channel 4.1 → 3.0 ms; images with
128 or more output positions per image unchanged within noise (the 28×28 case above 28.2
vs 28.1 ms; (64, 16, 14, 14) 8.7 vs 8.8 ms).

**Few output channels: direct kernels** (:func:`direct_forward`, :func:`direct_input_grad`,
:func:`direct_weight_grad`). A generator's last layer (a 3×3 conv from 24 channels to one
image channel) wrote K·P = 216·196 column entries per image to feed one 196-long product
per image: im2col and col2im were most of its cost (7.1 ms fwd+bwd at batch 64). At stride
1, padding each image once into planes of width W_p = W_out + (kW − 1)·d turns every kernel
tap into one contiguous multiply-add over the flat plane (output (a, b) and tap (i, j) read
flat position (a + i·d)·W_p + b + j·d), which LLVM vectorises; the (kW − 1)·d extra columns
per row are computed and dropped. 1.6 ms for the same layer (``benchmarks/layers.py``).
:func:`_direct` chooses it where it measured faster: one output channel per group always
(1.6–5.7×: 2-D images, 1-D rows, depthwise), two to four on planes of 7 rows or more
(1.5–3.4×); BLAS's register blocking wins from eight on. (With non-finite values the
dropped columns can turn a gradient entry NaN that the column path leaves finite; a
non-finite input within reach of a window already makes the output non-finite.)

The max pool kernel returns each window's maximum and its flat position (for the gather /
scatter pair of :func:`tinygen.ops.conv.max_pool2d`); it walks a precomputed list of taps,
3× faster than nested loops over (i, j) with runtime bounds (1.2 vs 3.5 ms for 2×2 pooling
of (64, 16, 28, 28)), and branches only for windows that overlap the padding.

Every public function takes and returns NumPy arrays (never Tensors): the engine calls them
from :mod:`tinygen.ops.conv`. ``stride``, ``padding`` (the *front* padding: top, left),
``dilation`` and the output/input/kernel sizes are pairs of ints.
"""

from __future__ import annotations

import numpy as np
from numba import njit

CHUNK_BYTES = 1 << 18  # target size of one chunk's column matrix
PER_IMAGE_COLUMNS = 128  # from this many output positions per image on, one GEMM per image
DIRECT_MAX_OUT = 4  # stride 1 and up to this many output channels per group: no column
DIRECT_MIN_ROWS = 7  # matrix (one channel: always; two to four: from this many output rows)


@njit(cache=True)
def im2col(x, start, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, groups, col):
    """col[γ, (c·kH + i)·kW + j, m, a·W_out + b] = x[start + m, γC_g + c, a·s − p + i·d,
    b·s − p + j·d], zero outside x, for every image m of the chunk ``col`` (G, K, M, P): the
    images side by side, so that one product per group covers the whole chunk."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    cg = C // groups
    for m in range(col.shape[2]):
        n = start + m
        for c in range(C):
            g = c // cg
            cc = c - g * cg
            for i in range(kh):
                for j in range(kw):
                    k = (cc * kh + i) * kw + j
                    for a in range(ho):
                        h = a * sh - ph + i * dh
                        base = a * wo
                        if h < 0 or h >= H:
                            for b in range(wo):
                                col[g, k, m, base + b] = 0
                        else:
                            # one branchy loop: LLVM vectorises it (with masks) better than
                            # three loops over precomputed valid ranges (measured 2.5 vs 6 ms)
                            for b in range(wo):
                                v = b * sw - pw + j * dw
                                if v >= 0 and v < W:
                                    col[g, k, m, base + b] = x[n, c, h, v]
                                else:
                                    col[g, k, m, base + b] = 0


@njit(cache=True)
def col2im(col, start, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, groups, dx):
    """dx[start + m] += the columns col[:, :, m] put back where :func:`im2col` took them from
    (the adjoint of im2col: a value read by several windows collects all their
    contributions)."""
    C, H, W = dx.shape[1], dx.shape[2], dx.shape[3]
    cg = C // groups
    for m in range(col.shape[2]):
        n = start + m
        for c in range(C):
            g = c // cg
            cc = c - g * cg
            for i in range(kh):
                for j in range(kw):
                    k = (cc * kh + i) * kw + j
                    for a in range(ho):
                        h = a * sh - ph + i * dh
                        if h < 0 or h >= H:
                            continue
                        base = a * wo
                        for b in range(wo):
                            v = b * sw - pw + j * dw
                            if v >= 0 and v < W:
                                dx[n, c, h, v] += col[g, k, m, base + b]


@njit(cache=True)
def _max_pool2d(x, taps_h, taps_w, sh, sw, ph, pw, y, index):
    """y[n, c, a, b] = the largest x[n, c, a·s − p + taps_h[t], b·s − p + taps_w[t]] over the
    window's taps t inside x (taps_h[t] = i·d for tap (i, j) of the kernel), and ``index``
    its flat position in x: the first at a tie; a NaN wins, as in PyTorch.

    Windows that lie inside x take one loop over the taps with no bounds tests (a runtime
    loop over nested (i, j) ranges of length 2 ran 3–4× slower); windows over the padding
    test each tap."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    ho, wo = y.shape[2], y.shape[3]
    nt = taps_h.shape[0]
    span_h, span_w = taps_h[nt - 1], taps_w[nt - 1]
    xf = x.reshape(-1)
    for n in range(x.shape[0]):
        for c in range(C):
            plane = (n * C + c) * H * W
            for a in range(ho):
                h0 = a * sh - ph
                inside_h = h0 >= 0 and h0 + span_h < H
                for b in range(wo):
                    v0 = b * sw - pw
                    corner = plane + h0 * W + v0
                    if inside_h and v0 >= 0 and v0 + span_w < W:
                        at = corner + taps_h[0] * W + taps_w[0]
                        best = xf[at]
                        for t in range(1, nt):
                            k = corner + taps_h[t] * W + taps_w[t]
                            val = xf[k]
                            if val > best or val != val:
                                best = val
                                at = k
                    else:
                        at = -1
                        best = xf[plane]
                        for t in range(nt):
                            h, v = h0 + taps_h[t], v0 + taps_w[t]
                            if h < 0 or h >= H or v < 0 or v >= W:
                                continue
                            k = corner + taps_h[t] * W + taps_w[t]
                            val = xf[k]
                            if at < 0 or val > best or val != val:
                                best = val
                                at = k
                    y[n, c, a, b] = best
                    index[n, c, a, b] = at


@njit(cache=True)
def _pad_image(x, n, ph, pw, xp):
    """xp[c] = image n of x, channel c, shifted by (ph, pw) into zeros: the whole reach of a
    stride-1 window, so that the loops below need no bounds tests."""
    H, W = x.shape[2], x.shape[3]
    hp, wp = xp.shape[1], xp.shape[2]
    for c in range(x.shape[1]):
        for r in range(hp):
            h = r - ph
            for t in range(wp):
                v = t - pw
                xp[c, r, t] = x[n, c, h, v] if 0 <= h < H and 0 <= v < W else 0


@njit(cache=True)
def _planes(kh, kw, ho, wo, dh, dw):
    """(H_p, W_p, span) of the direct kernels: the padded plane's rows and width (the reach
    of every output's window) and the flat run of W_p-wide rows that one tap covers."""
    wp = wo + (kw - 1) * dw
    return ho + (kh - 1) * dh, wp, (ho - 1) * wp + wo


@njit(cache=True)
def _widen(g, n, wide):
    """wide[o] = g[n, o] with its rows padded by zeros to the width of :func:`_pad_image`'s
    planes (the padding columns are never written, so they stay zero)."""
    ho, wo, wp = g.shape[2], g.shape[3], wide.shape[1] // g.shape[2]
    for o in range(g.shape[1]):
        for a in range(ho):
            for b in range(wo):
                wide[o, a * wp + b] = g[n, o, a, b]


@njit(cache=True, fastmath={"contract"})
def direct_forward(x, w, ph, pw, dh, dw, groups, y):
    """y = the stride-1 convolution of x with w, without a column matrix: for few output
    channels per group, where im2col's K·P writes per image cost more than the O·K·P
    multiply-adds they feed. On an image padded into planes of width W_p = W_out + (kW − 1)·d,
    output (a, b) and tap (i, j) read flat position (a + i·d)·W_p + b + j·d: every tap is
    one long contiguous multiply-add over the flat plane (LLVM vectorises it), computed on
    W_p columns of which the last (kW − 1)·d are dropped."""
    O, cg, kh, kw = w.shape
    og = O // groups
    ho, wo = y.shape[2], y.shape[3]
    hp, wp, span = _planes(kh, kw, ho, wo, dh, dw)
    xp = np.empty((x.shape[1], hp, wp), dtype=x.dtype)
    acc = np.empty(ho * wp, dtype=y.dtype)
    for n in range(x.shape[0]):
        _pad_image(x, n, ph, pw, xp)
        for o in range(O):
            acc[:] = 0
            first = (o // og) * cg
            for cc in range(cg):
                plane = xp[first + cc].reshape(-1)
                for i in range(kh):
                    for j in range(kw):
                        wv = w[o, cc, i, j]
                        shift = i * dh * wp + j * dw
                        tap = plane[shift:shift + span]  # a view: t ≥ 0 is then known
                        for t in range(span):  # (with plane[shift + t], LLVM does not
                            acc[t] += wv * tap[t]  # vectorise: 3× slower, measured)
            for a in range(ho):
                for b in range(wo):
                    y[n, o, a, b] = acc[a * wp + b]


@njit(cache=True, fastmath={"contract"})
def direct_input_grad(g, w, ph, pw, dh, dw, groups, dx):
    """dx = the adjoint of :func:`direct_forward` in x (overwritten): each tap adds w times
    the zero-widened output gradient into the padded plane, which is then cropped."""
    H, W = dx.shape[2], dx.shape[3]
    O, cg, kh, kw = w.shape
    og = O // groups
    ho, wo = g.shape[2], g.shape[3]
    hp, wp, span = _planes(kh, kw, ho, wo, dh, dw)
    wide = np.zeros((O, ho * wp), dtype=g.dtype)
    plane = np.empty(hp * wp, dtype=g.dtype)
    for n in range(g.shape[0]):
        _widen(g, n, wide)
        for c in range(dx.shape[1]):
            plane[:] = 0
            group = c // cg
            cc = c - group * cg
            for o in range(group * og, (group + 1) * og):
                src = wide[o]
                for i in range(kh):
                    for j in range(kw):
                        wv = w[o, cc, i, j]
                        shift = i * dh * wp + j * dw
                        tap = plane[shift:shift + span]
                        for t in range(span):
                            tap[t] += wv * src[t]
            for h in range(H):
                r = h + ph
                for v in range(W):
                    q = v + pw
                    dx[n, c, h, v] = plane[r * wp + q] if r < hp and q < wp else 0


@njit(cache=True, fastmath={"reassoc", "contract"})
def direct_weight_grad(x, g, ph, pw, dh, dw, groups, dwt):
    """dwt = the adjoint of :func:`direct_forward` in w (overwritten): per image, each
    weight is one dot product of the zero-widened output gradient with the padded plane
    shifted by its tap (reassociated, so that LLVM vectorises the sum)."""
    O, cg, kh, kw = dwt.shape
    og = O // groups
    ho, wo = g.shape[2], g.shape[3]
    hp, wp, span = _planes(kh, kw, ho, wo, dh, dw)
    xp = np.empty((x.shape[1], hp, wp), dtype=x.dtype)
    wide = np.zeros((O, ho * wp), dtype=g.dtype)
    dwt[:] = 0
    for n in range(x.shape[0]):
        _pad_image(x, n, ph, pw, xp)
        _widen(g, n, wide)
        for o in range(O):
            src = wide[o]
            first = (o // og) * cg
            for cc in range(cg):
                plane = xp[first + cc].reshape(-1)
                for i in range(kh):
                    for j in range(kw):
                        shift = i * dh * wp + j * dw
                        tap = plane[shift:shift + span]
                        total = src[0] * 0
                        for t in range(span):
                            total += src[t] * tap[t]
                        dwt[o, cc, i, j] += total


# -- host side ------------------------------------------------------------------------------

def _chunk(n: int, col_bytes_per_image: int) -> int:
    return int(max(1, min(n, CHUNK_BYTES // max(col_bytes_per_image, 1))))


def _geometry(stride, padding, dilation) -> tuple[int, ...]:
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    return int(sh), int(sw), int(ph), int(pw), int(dh), int(dw)


def _direct(og: int, sh: int, sw: int, ho: int) -> bool:
    """Whether the stride-1 direct kernels beat im2col + GEMM here. Measured fwd+bwd, one
    thread, float32, batch 64: one output channel 1.6–5.7× faster at every size tried
    (14×14 and 28×28 images, 7×7, 1-D rows of 16–100, depthwise); two to four 1.5–3.4×
    on planes of 7 rows or more but 0.5–1.3× on 1-D rows; eight 0.8–1.2×, sixteen 0.6–0.8×
    (there BLAS's register blocking wins)."""
    return sh == sw == 1 and og <= DIRECT_MAX_OUT and (og == 1 or ho >= DIRECT_MIN_ROWS)


def _is_pointwise(kh, kw, sh, sw, ph, pw) -> bool:
    """A 1×1 kernel with stride 1 and no padding: the columns are the input itself."""
    return kh == 1 and kw == 1 and sh == 1 and sw == 1 and ph == 0 and pw == 0


def _columns(buffer: np.ndarray, groups: int, k: int, m: int, p: int) -> np.ndarray:
    """The first G·K·m·P entries of ``buffer`` as a contiguous column matrix (G, K, m, P)."""
    return buffer[:groups * k * m * p].reshape(groups, k, m, p)


def _by_group(a: np.ndarray, groups: int) -> np.ndarray:
    """(M, O, P) → (G, O_g, M·P), contiguous: a chunk's images side by side per group."""
    m, o, p = a.shape[0], a.shape[1], a.shape[2]
    return np.ascontiguousarray(a.reshape(m, groups, o // groups, p).transpose(1, 2, 0, 3)
                                ).reshape(groups, o // groups, m * p)


def conv2d_forward(x: np.ndarray, w: np.ndarray, stride, padding, dilation, groups: int,
                   out_hw) -> np.ndarray:
    """y (N, O, H_out, W_out) from x (N, C, H, W) and w (O, C/G, kH, kW)."""
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w, dtype=x.dtype)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = (int(v) for v in out_hw)
    sh, sw, ph, pw, dh, dw = _geometry(stride, padding, dilation)
    k, p, og = cg * kh * kw, ho * wo, o // groups
    wmat = w.reshape(groups, og, k)
    y = np.empty((n, o, p), dtype=x.dtype)
    if n == 0 or p == 0:
        return y.reshape(n, o, ho, wo)
    if _is_pointwise(kh, kw, sh, sw, ph, pw) and (h, wd) == (ho, wo):
        np.matmul(wmat, x.reshape(n, groups, k, p), out=y.reshape(n, groups, og, p))
        return y.reshape(n, o, ho, wo)
    if _direct(og, sh, sw, ho):
        direct_forward(x, w, ph, pw, dh, dw, groups, y.reshape(n, o, ho, wo))
        return y.reshape(n, o, ho, wo)
    step = _chunk(n, groups * k * p * x.itemsize)
    buffer = np.empty(groups * k * step * p, dtype=x.dtype)
    product = np.empty(groups * og * step * p, dtype=x.dtype)
    for s in range(0, n, step):
        m = min(step, n - s)
        col = _columns(buffer, groups, k, m, p)
        im2col(x, s, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, groups, col)
        if m == 1 or p >= PER_IMAGE_COLUMNS:  # one product per image, straight into y
            np.matmul(wmat, col.transpose(2, 0, 1, 3), out=y[s:s + m].reshape(m, groups, og, p))
            continue
        out = product[:groups * og * m * p].reshape(groups, og, m * p)
        np.matmul(wmat, col.reshape(groups, k, m * p), out=out)  # one GEMM per group
        y[s:s + m] = out.reshape(o, m, p).transpose(1, 0, 2)
    return y.reshape(n, o, ho, wo)


def conv2d_input_grad(g: np.ndarray, w: np.ndarray, stride, padding, dilation, groups: int,
                      in_hw) -> np.ndarray:
    """dx (N, C, H, W) from the output gradient g (N, O, H_out, W_out) and w (O, C/G, kH, kW):
    the adjoint of :func:`conv2d_forward` in x (also the transposed convolution of g)."""
    g = np.ascontiguousarray(g)
    w = np.ascontiguousarray(w, dtype=g.dtype)
    n, o, ho, wo = g.shape
    _, cg, kh, kw = w.shape
    h, wd = (int(v) for v in in_hw)
    sh, sw, ph, pw, dh, dw = _geometry(stride, padding, dilation)
    k, p = cg * kh * kw, ho * wo
    wt = w.reshape(groups, o // groups, k).transpose(0, 2, 1)  # (G, K, O_g), a view
    if _is_pointwise(kh, kw, sh, sw, ph, pw) and (h, wd) == (ho, wo):
        gmat = g.reshape(n, groups, o // groups, p)
        return np.matmul(wt, gmat).reshape(n, groups * cg, h, wd)
    dx = np.zeros((n, groups * cg, h, wd), dtype=g.dtype)
    if n == 0 or p == 0:
        return dx
    if _direct(o // groups, sh, sw, ho):
        direct_input_grad(g, w, ph, pw, dh, dw, groups, dx)
        return dx
    gflat = g.reshape(n, o, p)
    step = _chunk(n, groups * k * p * g.itemsize)
    buffer = np.empty(groups * k * step * p, dtype=g.dtype)
    for s in range(0, n, step):
        m = min(step, n - s)
        col = _columns(buffer, groups, k, m, p)
        if p >= PER_IMAGE_COLUMNS and o > groups:
            np.matmul(wt, gflat[s:s + m].reshape(m, groups, o // groups, p),
                      out=col.transpose(2, 0, 1, 3))
            col2im(col, s, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, groups, dx)
            continue
        gg, cols = _by_group(gflat[s:s + m], groups), col.reshape(groups, k, m * p)
        if o == groups:  # one output channel per group: an outer product, which BLAS's
            np.multiply(wt, gg, out=cols)  # GEMM with a length-1 reduction does 7× slower
        else:
            np.matmul(wt, gg, out=cols)
        col2im(col, s, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, groups, dx)
    return dx


def conv2d_weight_grad(x: np.ndarray, g: np.ndarray, stride, padding, dilation, groups: int,
                       kernel_hw) -> np.ndarray:
    """dw (O, C/G, kH, kW) from x (N, C, H, W) and the output gradient g (N, O, H_out, W_out):
    the adjoint of :func:`conv2d_forward` in w (a correlation of x with g)."""
    x = np.ascontiguousarray(x)
    g = np.ascontiguousarray(g, dtype=x.dtype)
    n, c, h, wd = x.shape
    _, o, ho, wo = g.shape
    kh, kw = (int(v) for v in kernel_hw)
    cg = c // groups
    sh, sw, ph, pw, dh, dw = _geometry(stride, padding, dilation)
    k, p = cg * kh * kw, ho * wo
    dwm = np.zeros((groups, o // groups, k), dtype=x.dtype)
    if n == 0 or p == 0:
        return dwm.reshape(o, cg, kh, kw)
    if _is_pointwise(kh, kw, sh, sw, ph, pw) and (h, wd) == (ho, wo):
        gmat = g.reshape(n, groups, o // groups, p)
        cols = x.reshape(n, groups, k, p)
        return np.einsum("ngop,ngkp->gok", gmat, cols, optimize=True).reshape(o, cg, kh, kw)
    if _direct(o // groups, sh, sw, ho):
        out = np.empty((o, cg, kh, kw), dtype=x.dtype)
        direct_weight_grad(x, g, ph, pw, dh, dw, groups, out)
        return out
    gflat = g.reshape(n, o, p)
    step = _chunk(n, groups * k * p * x.itemsize)
    buffer = np.empty(groups * k * step * p, dtype=x.dtype)
    part = np.empty_like(dwm)
    parts = np.empty((step,) + dwm.shape, dtype=x.dtype) if p >= PER_IMAGE_COLUMNS else None
    for s in range(0, n, step):
        m = min(step, n - s)
        col = _columns(buffer, groups, k, m, p)
        im2col(x, s, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, groups, col)
        if p >= PER_IMAGE_COLUMNS:
            np.matmul(gflat[s:s + m].reshape(m, groups, o // groups, p),
                      col.transpose(2, 0, 3, 1), out=parts[:m])
            dwm += parts[:m].sum(axis=0)
            continue
        cols_t = col.reshape(groups, k, m * p).transpose(0, 2, 1)  # (G, M·P, K), a view
        np.matmul(_by_group(gflat[s:s + m], groups), cols_t, out=part)
        dwm += part
    return dwm.reshape(o, cg, kh, kw)


def max_pool2d_forward(x: np.ndarray, kernel_hw, stride, padding, dilation, out_hw
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(y, index): each window's maximum (N, C, H_out, W_out) and its flat position in x
    (int32 when x has fewer than 2³¹ entries, which halves what a max pool keeps for its
    backward pass; else int64), for the max pool's gather/scatter pair. Every window must
    overlap x."""
    x = np.ascontiguousarray(x)
    kh, kw = (int(v) for v in kernel_hw)
    sh, sw, ph, pw, dh, dw = _geometry(stride, padding, dilation)
    shape = x.shape[:2] + tuple(int(v) for v in out_hw)
    y = np.empty(shape, dtype=x.dtype)
    index = np.empty(shape, dtype=np.int32 if x.size < 2**31 else np.int64)
    taps_h = np.repeat(np.arange(kh, dtype=np.int64) * dh, kw)  # tap t = (i, j), row-major
    taps_w = np.tile(np.arange(kw, dtype=np.int64) * dw, kh)
    if y.size:
        _max_pool2d(x, taps_h, taps_w, sh, sw, ph, pw, y, index)
    return y, index
