r"""word2vec training on a chunk of sentences per call: skip-gram or CBOW, with negative
sampling (sigmoid) or the Keras post's "random softmax", on NumPy arrays.

The rules are the C tool's and gensim's. For each sentence (word ids, out-of-vocabulary
words already dropped), with its own counter-based random stream u₀, u₁, … (the formula of
:mod:`tinygen.kernels.ssa_core`, keyed by (seed, sentence id)), the draws are used in this
order, which the composed twin (:mod:`tinygen.models.word2vec`) repeats:

1. **subsampling**: one draw per token; token w is kept when u < keep[w]
   (keep = √(t/f) + t/f, the post's keep-probability, capped at 1);
2. for each kept position i: one draw for the **dynamic window** b = window − ⌊u·window⌋
   (1 … window); then the examples of i, each followed by its ``negative`` draws of
   **negatives** from the unigram^0.75 table (the first id whose cumulative probability
   exceeds u; a negative equal to the target is skipped, its draw still spent).
   Skip-gram: one example per context position j (|j − i| ≤ b, j ≠ i), input word j,
   target word i. CBOW: one example, input the sum (or mean) of the context words.

**One example** is one SGD step on its loss at the current weights, with input h (a row of
``w_in``, or the sum/mean of context rows), targets t₀ (the true word) and t₁ … t_k: sigmoid
loss −log σ(h·u_t₀) − Σ log σ(−h·u_tₙ), or random softmax −log softmax(h·u_t)₀. With g_n =
lr·(−∂loss/∂z_n) every u_tₙ += g_n·h and every context row += Σ g_n u_tₙ = −lr·∂loss/∂h: for
the sum the exact gradient step (gensim's sum instead moves each context row by 1/n of it);
for the mean what the C tool and gensim do (the exact gradient would carry the mean's 1/n).
With ``max_exp`` (gensim's MAX_EXP = 6) a sigmoid logit with |z| ≥ max_exp gives no update
at all, as gensim's Cython loop skips it: on the right side its step was ≈ 0 anyway, but on
the wrong side (a target scored far below 0, a negative far above) it would have been the
largest step, lr·(label − σ(z)) ≈ ±lr (the C tool clips σ to 0 or 1 there, the exact step to
within e⁻⁶). All dot products are taken before any row moves, so a repeated negative gets
the exact gradient (gensim updates as it goes; the difference is second order in lr).

**Learning rate**: lr = alpha − (alpha − min_alpha)·(done + words before the sentence)/total,
linear in the raw words seen, per sentence. ``parallel=True`` runs sentences in ``prange``
(Hogwild: threads update shared rows without locks); ``parallel=False`` is the deterministic
single-thread order.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..ssa_core import GOLDEN, mix, uniform

SIGMOID, SOFTMAX = 0, 1


@njit(cache=True)
def _draw_negative(cum, u):
    """The first id whose cumulative probability exceeds u (binary search)."""
    lo, hi = 0, cum.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if cum[mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def _targets(target, negative, cum, key, draw, targets):
    """targets[0] = the true word, then up to ``negative`` draws from the noise table (a draw
    equal to the target is skipped, as in the C tool); returns (how many, the next draw)."""
    targets[0] = target
    n_t = 1
    for _ in range(negative):
        t = _draw_negative(cum, uniform(key, draw))
        draw += 1
        if t != target:
            targets[n_t] = t
            n_t += 1
    return n_t, draw


@njit(cache=True, fastmath=True)
def _example(w_in, w_out, ctx, n_ctx, targets, n_t, h, e, g, loss_kind, mean, lr,
             max_exp, want_loss):
    """One SGD step on one example; returns its loss. ``ctx[:n_ctx]`` are the input rows,
    ``targets[:n_t]`` the true word then the negatives; h, e, g are scratch. A sigmoid
    logit with |z| ≥ ``max_exp`` moves nothing (gensim's rule); its loss still counts."""
    dim = w_in.shape[1]
    for k in range(dim):
        h[k] = 0.0
        e[k] = 0.0
    for c in range(n_ctx):
        row = ctx[c]
        for k in range(dim):
            h[k] += w_in[row, k]
    if mean and n_ctx > 1:
        for k in range(dim):
            h[k] /= n_ctx
    loss = 0.0
    zmax = -1e300
    for n in range(n_t):
        t = targets[n]
        z = h[0] * w_out[t, 0]  # accumulate in the arrays' dtype (float32: wider SIMD)
        for k in range(1, dim):
            z += h[k] * w_out[t, k]
        g[n] = z
        zmax = max(zmax, z)
    if loss_kind == SIGMOID:
        for n in range(n_t):
            z = g[n]
            label = 1.0 if n == 0 else 0.0
            s = 1.0 / (1.0 + math.exp(-z))
            if want_loss:  # −log σ(z) for the target, −log σ(−z) for a negative, stably
                zz = -z if n == 0 else z
                loss += max(zz, 0.0) + math.log1p(math.exp(-abs(zz)))
            g[n] = lr * (label - s) if abs(z) < max_exp else 0.0
    else:
        total = 0.0
        for n in range(n_t):
            total += math.exp(g[n] - zmax)
        loss = -(g[0] - zmax - math.log(total))
        for n in range(n_t):
            p = math.exp(g[n] - zmax) / total
            g[n] = lr * ((1.0 if n == 0 else 0.0) - p)
    for n in range(n_t):
        t = targets[n]
        for k in range(dim):
            e[k] += g[n] * w_out[t, k]
    for n in range(n_t):
        t = targets[n]
        for k in range(dim):
            w_out[t, k] += g[n] * h[k]
    for c in range(n_ctx):
        row = ctx[c]
        for k in range(dim):
            w_in[row, k] += e[k]
    return loss


@njit(cache=True)
def _sentence(w_in, w_out, tokens, keep, cum, sg, loss_kind, mean, window, negative, lr,
              max_exp, key, want_loss):
    """Train on one sentence; returns (kept words, summed loss, examples)."""
    dim = w_in.shape[1]
    n = tokens.shape[0]
    ids = np.empty(n, np.int64)
    m = 0
    draw = 0
    for p in range(n):
        w = tokens[p]
        if uniform(key, draw) < keep[w]:
            ids[m] = w
            m += 1
        draw += 1
    h = np.empty(dim, w_in.dtype)
    e = np.empty(dim, w_in.dtype)
    g = np.empty(negative + 1, np.float64)
    targets = np.empty(negative + 1, np.int64)
    ctx = np.empty(2 * window, np.int64)
    one = np.empty(1, np.int64)
    loss = 0.0
    examples = 0
    for i in range(m):
        b = window - int(uniform(key, draw) * window)
        draw += 1
        lo, hi = max(0, i - b), min(m, i + b + 1)
        if sg:
            for j in range(lo, hi):
                if j == i:
                    continue
                n_t, draw = _targets(ids[i], negative, cum, key, draw, targets)
                one[0] = ids[j]
                loss += _example(w_in, w_out, one, 1, targets, n_t, h, e, g, loss_kind,
                                 mean, lr, max_exp, want_loss)
                examples += 1
        else:
            n_ctx = 0
            for j in range(lo, hi):
                if j != i:
                    ctx[n_ctx] = ids[j]
                    n_ctx += 1
            n_t, draw = _targets(ids[i], negative, cum, key, draw, targets)
            if n_ctx > 0:
                loss += _example(w_in, w_out, ctx, n_ctx, targets, n_t, h, e, g, loss_kind,
                                 mean, lr, max_exp, want_loss)
                examples += 1
    return m, loss, examples


@njit(cache=True)
def _lr(alpha, min_alpha, done, total):
    return max(min_alpha, alpha - (alpha - min_alpha) * done / total)


@njit(cache=True)
def _train_serial(w_in, w_out, tokens, offsets, keep, cum, sg, loss_kind, mean, window,
                  negative, alpha, min_alpha, done, total, max_exp, seed, first, want_loss,
                  kept, losses, examples):
    for s in range(offsets.shape[0] - 1):
        key = mix(seed * np.uint64(GOLDEN) + first + np.uint64(s))
        lr = _lr(alpha, min_alpha, done + offsets[s], total)
        kept[s], losses[s], examples[s] = _sentence(
            w_in, w_out, tokens[offsets[s]:offsets[s + 1]], keep, cum, sg, loss_kind, mean,
            window, negative, lr, max_exp, key, want_loss)


@njit(cache=True, parallel=True)
def _train_parallel(w_in, w_out, tokens, offsets, keep, cum, sg, loss_kind, mean, window,
                    negative, alpha, min_alpha, done, total, max_exp, seed, first, want_loss,
                    kept, losses, examples):
    for s in prange(offsets.shape[0] - 1):
        key = mix(seed * np.uint64(GOLDEN) + first + np.uint64(s))
        lr = _lr(alpha, min_alpha, done + offsets[s], total)
        kept[s], losses[s], examples[s] = _sentence(
            w_in, w_out, tokens[offsets[s]:offsets[s + 1]], keep, cum, sg, loss_kind, mean,
            window, negative, lr, max_exp, key, want_loss)


def train_chunk(w_in: np.ndarray, w_out: np.ndarray, tokens: np.ndarray, offsets: np.ndarray,
                keep: np.ndarray, cum: np.ndarray, *, sg: bool, loss: int, mean: bool,
                window: int, negative: int, alpha: float, min_alpha: float, done: int,
                total: int, seed: int, first: int, parallel: bool, want_loss: bool = True,
                max_exp: float = math.inf) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train ``w_in``/``w_out`` (V, d) in place on the sentences ``tokens[offsets[s]:
    offsets[s+1]]`` (ids < V), sentence s with stream id ``first + s``; ``done`` raw words
    were trained before this chunk, of ``total``. Returns per sentence the kept words, the
    summed loss (0 unless ``want_loss``: the sigmoid loss costs a log per logit) and the
    number of examples. A sigmoid logit with |z| ≥ ``max_exp`` gives no update (gensim: 6;
    the default ∞ is the exact gradient step)."""
    if w_in.shape != w_out.shape or w_in.ndim != 2 or w_in.dtype != w_out.dtype:
        raise ValueError(f"word2vec kernel: w_in and w_out must be (V, d) of one dtype, got "
                         f"{w_in.shape} {w_in.dtype} and {w_out.shape} {w_out.dtype}")
    if not (w_in.flags.c_contiguous and w_out.flags.c_contiguous):
        raise ValueError("word2vec kernel: w_in and w_out must be C-contiguous (updated in "
                         "place)")
    v = w_in.shape[0]
    tokens = np.ascontiguousarray(tokens, np.int32)
    offsets = np.ascontiguousarray(offsets, np.int64)
    if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != tokens.size \
            or (np.diff(offsets) < 0).any():
        raise ValueError("word2vec kernel: offsets must rise from 0 to len(tokens)")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= v):
        raise ValueError(f"word2vec kernel: token ids must lie in [0, {v})")
    keep = np.ascontiguousarray(keep, np.float64)
    cum = np.ascontiguousarray(cum, np.float64)
    if keep.shape != (v,) or cum.shape != (v,):
        raise ValueError(f"word2vec kernel: keep and cum must have shape ({v},), got "
                         f"{keep.shape} and {cum.shape}")
    if window < 1 or negative < 0 or total < 1 or not max_exp > 0:
        raise ValueError(f"word2vec kernel: need window ≥ 1, negative ≥ 0, total ≥ 1, "
                         f"max_exp > 0, got {window}, {negative}, {total}, {max_exp}")
    s = offsets.size - 1
    kept, losses, examples = np.zeros(s, np.int64), np.zeros(s), np.zeros(s, np.int64)
    run = _train_parallel if parallel else _train_serial
    run(w_in, w_out, tokens, offsets, keep, cum, bool(sg), int(loss), bool(mean), int(window),
        int(negative), float(alpha), float(min_alpha), int(done), int(total),
        float(max_exp), np.uint64(seed), np.uint64(first), bool(want_loss), kept, losses,
        examples)
    return kept, losses, examples
