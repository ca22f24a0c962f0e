r"""The gradient penalty of an MLP critic and its gradient for every weight, in one Numba pass.

The generic :func:`tinygen.models.gan.gradient_penalty` differentiates the critic with
``create_graph=True`` and then differentiates that graph again. For a plain MLP every step of
that double differentiation can be written down by hand; this module does so, with BLAS for
the matrix products and Numba loops for the rest.

**The critic.** Samples are rows. With h₀ = x̂ (B × d₀) and layers l = 1 … L::

    z_l = h_{l−1} W_l + b_l        W_l: (d_{l−1}, d_l), b_l added to every row
    h_l = φ_l(z_l)                  φ_l ∈ {identity, ReLU, LeakyReLU(α), tanh}, elementwise
    D   = h_L                       (B × 1): one score per sample, d_L = 1

and, elementwise, s_l = φ_l'(z_l) and q_l = φ_l''(z_l)::

    identity   s = 1                        q = 0
    LeakyReLU  s = 1 if z > 0 else α        q = 0     (ReLU is α = 0; at z = 0, s = α)
    tanh       s = 1 − h²                   q = −2·h·s

**1. Input gradient (the backward pass, a function of the weights).** The chain rule from
the score down to the input, row by row (⊙ is the elementwise product)::

    g_L = s_L                       (B × 1; ones when the head is linear)
    a_l = g_l W_lᵀ                  (B × d_{l−1}) = ∂D/∂h_{l−1},   l = L … 1
    g_{l−1} = s_{l−1} ⊙ a_l         = ∂D/∂z_{l−1}
    u = a_1                         = ∇ₓD(x̂), one row per sample

**2. The penalty.** With n_b = √(‖u_b‖² + ε), ε = 10⁻¹² exactly as the generic path::

    two-sided     P = (1/B) Σ_b (n_b − 1)²     ū_b = ∂P/∂u_b = (2/B)(1 − 1/n_b) u_b
    zero-centred  P = (1/B) Σ_b ‖u_b‖²          ū_b = (2/B) u_b

**3. Reverse over the backward pass (double backward).** Step 1 is a program whose inputs
include the weights; run its adjoint, from u back to g_L, i.e. *upwards* l = 1 … L. Writing
x̄ = ∂P/∂x for every quantity x of step 1, ā_1 = ū and::

    a_l = g_l W_lᵀ          ⇒   W̄_l += ā_lᵀ g_l            ḡ_l = ā_l W_l
    g_l = s_l ⊙ a_{l+1}     ⇒   ā_{l+1} = s_l ⊙ ḡ_l        s̄_l = a_{l+1} ⊙ ḡ_l    (l < L)
    g_L = s_L               ⇒   s̄_L = ḡ_L
    s_l = φ_l'(z_l)         ⇒   z̄_l = q_l ⊙ s̄_l            (zero unless φ_l is tanh)

The left chain ā_l is the forward-mode twin of the right chain g_l: ā_{l+1} = s_l ⊙ (ā_l W_l)
runs up the network exactly as the forward pass does, started from ū instead of x̂.

**4. Reverse over the forward pass.** The s_l depend on the weights below them through z_l,
so z̄_l flows down the ordinary backward pass. With ζ_l the total adjoint of z_l, from the
top-most tanh layer t down (ζ_l = 0 above it)::

    ζ_t = z̄_t,   ζ_{l−1} = z̄_{l−1} + s_{l−1} ⊙ (ζ_l W_lᵀ)
    W̄_l += h_{l−1}ᵀ ζ_l        b̄_l = Σ_b ζ_l[b, ·]

So with only piecewise-linear activations (q = 0) the biases get *no* gradient at all: a
ReLU network's input gradient is piecewise constant in the biases. The generic path agrees:
there those biases are not reached (``tinygen.grad(..., allow_unused=True)`` gives None).

**5. The one-output head.** d_L = 1, so g_{L−1} = r ⊙ w_Lᵀ with r = s_{L−1} ⊙ g_L
(g_L broadcast along the row) and w_L = W_L[:, 0]. Then with M = ā_{L−1}ᵀ r (one product)::

    W̄_{L−1} += M · diag(w_L)                      (ā_{L−1}ᵀ g_{L−1}, columns scaled)
    W̄_L[j]  += Σ_i W_{L−1}[i, j] M[i, j]          (ā_Lᵀ g_L, since ā_L = s_{L−1} ⊙ ā_{L−1}W_{L−1})

which saves the product ḡ_{L−1} = ā_{L−1} W_{L−1} unless a tanh at layer L − 1 or L needs
it for s̄. For the 2→512→512→512→1 ReLU critic of ``benchmarks/gp.py`` the pass costs
seven B × 512 × 512 products (forward 2, input gradient 2, double backward 3) against the
generic path's eight, and none of its graph building or temporaries. (Forward mode does no
better even with d₀ = 2: pushing the two input directions up the network costs two
products per layer where the backward pass costs one, and the weight gradients still need
theirs.)

Every quantity is a dense array; the ten-odd products are ``np.dot`` inside ``njit`` (BLAS
gemm, transposes passed as flags, not copied, written straight into their destination) and
the elementwise steps are explicit loops. The intermediates live in one flat workspace per
thread and dtype, kept between calls: fresh arrays would cost a page fault per 4 KiB on
every call (about 2 ms per call for the benchmark's critic, measured). The layers are tuples of
arrays padded to eight (:data:`PAD`), so Numba compiles (and caches) one version per dtype
(float32, float64) for every depth up to eight. Arrays in, arrays out: the engine wraps this
in :func:`tinygen.models.gp_fused.fused_gradient_penalty`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from numba import njit

from ..gp_args import ACTIVATIONS, LEAKY, TANH, check_mlp

NORM_EPS = 1e-12  # n_b = sqrt(|u_b|^2 + eps), as in gan.gradient_penalty
PAD = 8  # the layer tuples are padded to a multiple of this: one compilation for depths 1–8


@njit(cache=True)
def _activate(z, bias, act, slope, s):
    """In place: z ← φ(z + b); s ← φ'(z + b)."""
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
            elif act == LEAKY:
                if v > 0:
                    z[i, j] = v
                    s[i, j] = 1
                else:
                    z[i, j] = slope * v
                    s[i, j] = slope
            else:
                z[i, j] = v
                s[i, j] = 1


@njit(cache=True)
def _take(work, at, rows, cols):
    """The next rows × cols block of the workspace, as a C-contiguous view, and the offset
    after it (a bump allocator: nothing is freed during a pass)."""
    n = rows * cols
    return work[at:at + n].reshape((rows, cols)), at + n


@njit(cache=True)
def _tanh_zbar(h, s, a, gbar, head, out):
    """out = z̄ = q ⊙ s̄ for a tanh layer, q = −2 h s; s̄ = a ⊙ ḡ, or s̄ = ḡ at the ``head``."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            sbar = gbar[i, j] if head else a[i, j] * gbar[i, j]
            out[i, j] = -2 * h[i, j] * s[i, j] * sbar


@njit(cache=True)
def _mul(a, b, out):
    """out = a ⊙ b, with b either a's shape or one column (broadcast along the rows).

    (Explicit loops instead of NumPy array expressions: as fast, and Numba compiles
    broadcasting expressions and ``sum(axis=...)`` several times more slowly.)"""
    column = b.shape[1] == 1
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] * (b[i, 0] if column else b[i, j])


@njit(cache=True)
def _add_into(dst, src):
    """dst += src."""
    for i in range(dst.shape[0]):
        for j in range(dst.shape[1]):
            dst[i, j] += src[i, j]


@njit(cache=True)
def _penalty(u, two_sided, ubar):
    """P and ū = ∂P/∂u (into ``ubar``); the sum of squares in float64."""
    n, d = u.shape
    total = 0.0
    for b in range(n):
        sq = 0.0
        for k in range(d):
            sq += np.float64(u[b, k]) * u[b, k]
        if two_sided:
            norm = np.sqrt(sq + NORM_EPS)
            total += (norm - 1) * (norm - 1)
            c = 2.0 / n * (1 - 1 / norm)
        else:
            total += sq
            c = 2.0 / n
        for k in range(d):
            ubar[b, k] = c * u[b, k]
    return total / n


@njit(cache=True)
def _head(w_prev, w_head, dw_prev, dw_head):
    """Step 5, with M already in ``dw_prev``: W̄_L[j] = Σ_i W_{L−1}[i, j] M[i, j], then
    W̄_{L−1} = M · diag(w_L) in place. Row by row: walking M down its columns instead
    took 1.2 ms for 512 × 512 (a cache miss per entry), rows take 0.1 ms."""
    acc = np.zeros(dw_prev.shape[1])
    for i in range(dw_prev.shape[0]):
        for j in range(dw_prev.shape[1]):
            m = dw_prev[i, j]
            acc[j] += w_prev[i, j] * m
            dw_prev[i, j] = m * w_head[j, 0]
    for j in range(dw_prev.shape[1]):
        dw_head[j, 0] = acc[j]


@njit(cache=True)
def _penalty_and_grads(x, weights, biases, L, acts, slopes, two_sided, want_grads,
                       dweights, dbiases, work):
    """Steps 1–5 of the module docstring for the first ``L`` layers of the (padded) tuples.
    Layer l of the docstring is index l − 1 here. Writes W̄_l into ``dweights`` (no need to
    zero them), adds b̄_l into ``dbiases`` (zeros in), takes every intermediate array from
    the flat ``work`` buffer (see :func:`workspace_size`) and returns P as a float."""
    B = x.shape[0]
    at = 0
    # -- forward: hs[l] = h_l (hs[0] = x̂), ss[l] = s_{l+1} ---------------------------------
    hs = [x]
    ss = [x]
    for l in range(L):
        w = weights[l]
        z, at = _take(work, at, B, w.shape[1])
        s, at = _take(work, at, B, w.shape[1])
        np.dot(hs[l], w, z)
        _activate(z, biases[l], acts[l], slopes[l], s)
        hs.append(z)
        if l == 0:
            ss[0] = s
        else:
            ss.append(s)
    # -- 1. input gradient: gs[l] = g_{l+1}, as_[l] = a_{l+1} ----------------------------
    g = ss[L - 1]
    gs = [g] * L
    as_ = [g] * L
    for l in range(L - 1, -1, -1):
        gs[l] = g
        a, at = _take(work, at, B, weights[l].shape[0])
        np.dot(g, weights[l].T, a)
        as_[l] = a
        if l > 0:
            g, at = _take(work, at, B, a.shape[1])
            _mul(ss[l - 1], a, g)
    # -- 2. penalty --------------------------------------------------------------------
    u = as_[0]
    abar, at = _take(work, at, B, u.shape[1])
    penalty = _penalty(u, two_sided, abar)
    if not want_grads:
        return penalty
    # -- 3. + 5. double backward, upwards; zbars[l] = z̄_{l+1} where φ is tanh ------------
    top = -1
    for l in range(L):
        if acts[l] == TANH:
            top = l
    zbars = [abar] * L
    for l in range(L):
        w = weights[l]
        if L >= 2 and l == L - 2:  # 5. the one-output head: layers L−1 and L together
            r, at = _take(work, at, B, w.shape[1])
            _mul(ss[l], gs[L - 1], r)
            np.dot(abar.T, r, dweights[l])  # M
            _head(w, weights[L - 1], dweights[l], dweights[L - 1])
            if acts[l] == TANH or acts[L - 1] == TANH:
                gbar, at = _take(work, at, B, w.shape[1])
                np.dot(abar, w, gbar)
                if acts[l] == TANH:
                    zbars[l], at = _take(work, at, B, w.shape[1])
                    _tanh_zbar(hs[l + 1], ss[l], as_[l + 1], gbar, False, zbars[l])
                if acts[L - 1] == TANH:  # ḡ_L = ā_L W_L with ā_L = s_{L−1} ⊙ ḡ_{L−1}
                    _mul(ss[l], gbar, r)
                    gbar_head, at = _take(work, at, B, 1)
                    np.dot(r, weights[L - 1], gbar_head)
                    zbars[L - 1], at = _take(work, at, B, 1)
                    _tanh_zbar(hs[L], ss[L - 1], gbar_head, gbar_head, True, zbars[L - 1])
            break
        np.dot(abar.T, gs[l], dweights[l])
        gbar, at = _take(work, at, B, w.shape[1])
        if l == L - 1:  # depth 1: s̄_L = ḡ_L
            if acts[l] == TANH:
                np.dot(abar, w, gbar)
                zbars[l], at = _take(work, at, B, 1)
                _tanh_zbar(hs[l + 1], ss[l], gbar, gbar, True, zbars[l])
            break
        np.dot(abar, w, gbar)
        if acts[l] == TANH:
            zbars[l], at = _take(work, at, B, w.shape[1])
            _tanh_zbar(hs[l + 1], ss[l], as_[l + 1], gbar, False, zbars[l])
        abar, at = _take(work, at, B, w.shape[1])
        _mul(ss[l], gbar, abar)
    # -- 4. reverse over the forward pass, from the top-most tanh down -------------------
    if top >= 0:
        zeta = zbars[top]
        for l in range(top, -1, -1):
            w = weights[l]
            dw, at_tmp = _take(work, at, w.shape[0], w.shape[1])
            np.dot(hs[l].T, zeta, dw)
            _add_into(dweights[l], dw)
            db = dbiases[l]
            if db.size > 0:
                for i in range(zeta.shape[0]):
                    for j in range(zeta.shape[1]):
                        db[j] += zeta[i, j]
            if l > 0:
                back, at = _take(work, at, B, w.shape[0])
                np.dot(zeta, w.T, back)
                zeta_below, at = _take(work, at, B, w.shape[0])
                _mul(ss[l - 1], back, zeta_below)
                if acts[l - 1] == TANH:
                    _add_into(zeta_below, zbars[l - 1])
                zeta = zeta_below
    return penalty


def workspace_size(batch: int, dims: Sequence[int]) -> int:
    """An upper bound on the entries :func:`_penalty_and_grads` takes from its workspace
    for widths ``dims`` = (d₀, …, d_L): per layer at most seven B × d_l blocks and four
    B × d_{l−1}, and one d_{l−1} × d_l block (reused)."""
    pairs = list(zip(dims[:-1], dims[1:]))
    return (sum(7 * batch * b + 4 * batch * a for a, b in pairs)
            + max(a * b for a, b in pairs))


_local = threading.local()


def _workspace(n: int, dtype: np.dtype) -> np.ndarray:
    """A flat buffer of at least ``n`` entries, kept per thread and dtype and reused from
    call to call: fresh arrays for every intermediate would cost a page fault per 4 KiB
    touched (about 2 ms per call for the benchmark's critic under glibc's default malloc)."""
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    buf = buffers.get(dtype.name)
    if buf is None or buf.size < n:
        buf = buffers[dtype.name] = np.empty(n, dtype=dtype)
    return buf


def _writeable(a: np.ndarray) -> np.ndarray:
    """Numba types read-only arrays apart; a read-only input is copied so that every layer
    has the same array type (one tuple type, one compilation)."""
    return a if a.flags.writeable else a.copy()


def penalty_and_grads(x: np.ndarray, weights: Sequence[np.ndarray],
                      biases: Sequence[np.ndarray | None], activations: Sequence[str],
                      slopes: Sequence[float], kind: str = "two_sided", want_grads: bool = True
                      ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray | None]]:
    """(P, [W̄_l], [b̄_l]) for the MLP critic with layers ``weights[l]`` (d_{l−1}, d_l),
    ``biases[l]`` (d_l,) or None, ``activations[l]`` in ``ACTIVATIONS`` (applied after layer
    l; "identity" for none) and ``slopes[l]`` (LeakyReLU's α; ignored otherwise), at the
    samples ``x`` (B, d₀); ``kind`` is "two_sided" or "zero_centred". P is a 0-d array of
    x's dtype (float32 or float64; everything is computed in it). Without ``want_grads``
    only P is computed and the gradients are zeros. A bias gets a gradient only at or below
    the top-most tanh layer (step 4); elsewhere b̄ is zero."""
    x = _writeable(np.ascontiguousarray(x))
    dtype = x.dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"gp kernel: x must be float32 or float64, got {dtype}")
    ws = tuple(_writeable(np.ascontiguousarray(w, dtype=dtype)) for w in weights)
    check_mlp(x, ws, [None if b is None else np.asarray(b) for b in biases], activations,
              slopes, kind)
    L = len(ws)
    empty = np.zeros(0, dtype=dtype)
    bs = tuple(empty if b is None
               else _writeable(np.ascontiguousarray(b, dtype=dtype).reshape(-1))
               for b in biases)
    codes = np.array([ACTIVATIONS[a] for a in activations], dtype=np.int64)
    alphas = np.array([float(s) if a == "leaky_relu" else 0.0
                       for a, s in zip(activations, slopes)], dtype=np.float64)
    dws = tuple((np.empty_like if want_grads else np.zeros_like)(w) for w in ws)
    dbs = tuple(np.zeros_like(b) for b in bs)
    if x.shape[0] == 0:
        raise ValueError("gp kernel: the batch is empty")
    # pad every tuple to a multiple of PAD layers (dummies are never read), so the kernel's
    # type, and so its compilation, is the same for every depth up to PAD
    pad = -L % PAD
    empty2 = np.zeros((0, 0), dtype=dtype)
    penalty = _penalty_and_grads(
        x, ws + (empty2,) * pad, bs + (empty,) * pad, L,
        np.concatenate([codes, np.zeros(pad, np.int64)]),
        np.concatenate([alphas, np.zeros(pad)]), kind == "two_sided", bool(want_grads),
        dws + (empty2,) * pad, dbs + (empty,) * pad,
        _workspace(workspace_size(x.shape[0], [x.shape[1]] + [w.shape[1] for w in ws]),
                   dtype))
    return (np.asarray(penalty, dtype=dtype), list(dws),
            [None if b is None else db for b, db in zip(biases, dbs)])
