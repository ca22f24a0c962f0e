"""Linear-chain conditional random field: log partition, marginals, NLL and Viterbi.

A CRF scores a tag sequence y = (y_0, …, y_{n−1}) of a sentence with emissions h (B, L, K)
(one score per position and tag, e.g. from a network), transitions G (K, K) and optional
start and end scores s, e (K,)::

    s(y) = s_{y_0} + Σ_t h_t(y_t) + Σ_{t≥1} G[y_{t−1}, y_t] + e_{y_{n−1}}
    p(y) = exp s(y) / Z,      Z = Σ_{y'} exp s(y')   (a sum over all K^n paths)

and is trained by the negative log-likelihood −log p(y) = log Z − s(y). log Z comes from the
**forward algorithm**, a logsumexp over the previous tag per step (K^n paths in n·K² work)::

    α_0(j) = s_j + h_0(j),   α_t(j) = logsumexp_i(α_{t−1}(i) + G_ij) + h_t(j),
    log Z  = logsumexp_j(α_{n−1}(j) + e_j).

Its gradient is the model's expectation of the counts the score adds up: ∂log Z/∂h_t(j) is
the **marginal** p(y_t = j) and ∂log Z/∂G_ij is Σ_t p(y_{t−1} = i, y_t = j), computed by
forward-backward. So ∂NLL/∂h = marginals − one-hot(y) and ∂NLL/∂G = pairwise marginals −
observed transition counts: training pushes expected counts towards observed ones.

**Padding.** A ``mask`` (B, L) of 1s then 0s gives each sequence its length n_b (it must
start with 1 and have no holes). Masked steps carry α unchanged (α_t = α_{t−1}), so every
result of a padded batch equals that of the sequence alone; marginals are 0 at padded
positions and Viterbi paths hold −1 there.

**Kernels and the composed twin.** ``crf_log_partition``, ``crf_marginals`` and
``crf_viterbi`` call hand-written kernels chosen by array type (NumPy → Numba CPU in
:mod:`tinygen.kernels.cpu.crf`, CuPy → Numba CUDA in :mod:`tinygen.kernels.cuda.crf`).
``crf_log_partition_twin`` is the same recursion written with Tensor ops (``logsumexp``,
``where``): slow, readable, differentiable to any order, and the oracle of the tests.

**Gradients of every order.** log Z is one primitive whose VJP multiplies the upstream
gradient by marginal tensors (kernel values). Those marginal tensors are themselves nodes:
their VJP — a Hessian-vector product of log Z — is computed by recomputing the marginals
with the twin (as gradients of the twin's log Z with respect to a zero perturbation of h and
G, built with ``create_graph=True``) and differentiating those. So first-order training runs
only kernels, and a second- (or third-) order request is answered exactly, at the twin's cost.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from .. import backend
from ..autograd import Tensor, apply, enable_grad, grad, is_grad_enabled
from ..errors import DTypeError, IndexOutOfRange, ShapeError
from . import args as A
from .elementwise import cast, where
from .index import getitem
from .linalg import matmul
from .reduce import argmax, logsumexp, max, sum
from .shape import reshape, unsqueeze

REDUCTIONS = ("mean", "sum", "none")


# -- checking the inputs -------------------------------------------------------------------------

class _Inputs:
    """Checked inputs: floating h, G, start, end of one dtype and device, and the lengths."""

    __slots__ = ("h", "G", "start", "end", "lengths", "keep", "xp")

    def __init__(self, h, G, start, end, lengths, keep, xp):
        self.h, self.G, self.start, self.end = h, G, start, end
        self.lengths, self.keep, self.xp = lengths, keep, xp

    @property
    def theta(self) -> list[Tensor | None]:
        return [self.h, self.G, self.start, self.end]


def _describe(h: Tensor, G: Tensor) -> str:
    return f"emissions h of shape {tuple(h.shape)}, transitions G of shape {tuple(G.shape)}"


def _check(name: str, h, G, mask=None, start=None, end=None) -> _Inputs:
    """Validate shapes, dtypes and the mask; promote to one floating dtype."""
    h, G = A.tensor(name, h, "emissions h"), A.tensor(name, G, "transitions G")
    shapes = _describe(h, G)
    h = A.floating(name, h, "emissions h", kernel=True)
    G = A.floating(name, G, "transitions G", kernel=True)
    if h.ndim != 3:
        raise ShapeError(f"{name}: expected emissions h of shape (batch, length, tags), got "
                         f"{shapes}")
    B, L, K = h.shape
    if L < 1 or K < 1:
        raise ShapeError(f"{name}: emissions need at least one position and one tag ({shapes})")
    if G.shape != (K, K):
        raise ShapeError(f"{name}: transitions G must be (tags, tags) = ({K}, {K}) for {K} "
                         f"tags, got {shapes}")
    extra = []
    for what, v in (("start", start), ("end", end)):
        if v is not None:
            v = A.floating(name, v, f"{what} scores", kernel=True)
            if v.shape != (K,):
                raise ShapeError(f"{name}: {what} scores must have shape ({K},), got "
                                 f"{tuple(v.shape)} ({shapes})")
        extra.append(v)
    present = [t for t in (h, G, *extra) if t is not None]
    dtype = np.result_type(*(t.dtype for t in present))
    xp = backend.xp_of(*(t.data for t in present), op=name)
    h, G = cast(h, dtype), cast(G, dtype)
    start, end = (None if v is None else cast(v, dtype) for v in extra)
    lengths, keep = _lengths(name, mask, B, L, xp, shapes)
    return _Inputs(h, G, start, end, lengths, keep, xp)


def _lengths(name: str, mask, B: int, L: int, xp: ModuleType, shapes: str):
    """(lengths (B,) int64, keep (B, L) bool or None) from a 0/1 prefix mask."""
    if mask is None:
        return xp.full(B, L, dtype=np.int64), None
    m = A.tensor(name, mask, "mask").data
    backend.xp_of(m, xp.empty(0), op=name)
    if m.dtype.kind not in "biuf":
        raise DTypeError(f"{name}: the mask must be boolean, integer or floating 0/1 values, "
                         f"got {m.dtype} ({shapes})")
    if tuple(m.shape) != (B, L):
        raise ShapeError(f"{name}: the mask must have shape (batch, length) = ({B}, {L}), got "
                         f"{tuple(m.shape)} ({shapes})")
    if m.dtype != bool:
        if bool(((m != 0) & (m != 1)).any()):
            raise ShapeError(f"{name}: the mask must hold only 0 and 1 ({shapes})")
        m = m != 0
    if B == 0:
        return xp.zeros(0, dtype=np.int64), m
    first = ~m[:, 0]
    if bool(first.any()):
        b = int(xp.argmax(first))
        raise ShapeError(f"{name}: the mask of sequence {b} starts with 0; every sequence must "
                         f"start with 1 (mask of shape {tuple(m.shape)}, {shapes})")
    holes = m[:, 1:] & ~m[:, :-1]
    if bool(holes.any()):
        b = int(xp.argmax(holes.any(axis=1)))
        raise ShapeError(f"{name}: the mask of sequence {b} has a hole (a 1 after a 0); a mask "
                         f"must be 1s then 0s (mask of shape {tuple(m.shape)}, {shapes})")
    return m.sum(axis=1).astype(np.int64), m


def _labels(name: str, y, inp: _Inputs):
    """Integer labels (B, L) in [0, K) at unmasked positions, padded positions set to 0."""
    B, L, K = inp.h.shape
    yd = A.tensor(name, y, "labels y").data
    backend.xp_of(yd, inp.h.data, op=name)
    shapes = _describe(inp.h, inp.G)
    if yd.dtype.kind not in "iu":
        raise DTypeError(f"{name}: labels y must be integers, got {yd.dtype} ({shapes})")
    if tuple(yd.shape) != (B, L):
        raise ShapeError(f"{name}: labels y must have shape (batch, length) = ({B}, {L}), got "
                         f"{tuple(yd.shape)} ({shapes})")
    yd = yd.astype(np.int64)
    if inp.keep is not None:
        yd = inp.xp.where(inp.keep, yd, 0)
    if yd.size and (int(yd.min()) < 0 or int(yd.max()) >= K):
        raise IndexOutOfRange(f"{name}: labels must lie in [0, {K}) at unmasked positions, got "
                              f"range [{int(yd.min())}, {int(yd.max())}] ({shapes})")
    return yd



def _poisoned(inp: _Inputs):
    """(B,) bool, or None when all is well: the sequences whose scores hold a NaN where they
    are read (h at an unpadded position, or anywhere in G, start or end). The kernels'
    max-shifted sums would pass over a NaN and return a finite, wrong number; with this, a
    NaN in gives NaN out (:func:`_nan_rows`)."""
    xp = inp.xp
    rows = xp.isnan(inp.h.data).any(axis=2)
    if inp.keep is not None:
        rows &= inp.keep
    rows = rows.any(axis=1)
    if any(bool(xp.isnan(t.data).any()) for t in (inp.G, inp.start, inp.end) if t is not None):
        rows[:] = True
    return rows if bool(rows.any()) else None


def _nan_rows(bad, *arrays) -> None:
    """Set the rows ``bad`` of each (fresh, kernel-made) array to NaN, in place."""
    if bad is not None:
        for a in arrays:
            a[bad] = np.nan


def _data(t: Tensor | None):
    return None if t is None else t.data


# -- the composed twin -----------------------------------------------------------------------------

def _twin_log_z(h: Tensor, G: Tensor, start: Tensor | None, end: Tensor | None, keep
                ) -> Tensor:
    """The forward algorithm in Tensor ops. G is (K, K), or (B, K, K) per sequence, or
    (B, L − 1, K, K) per sequence and step (for pairwise marginals); ``keep`` (B, L) bool or
    None marks the unpadded positions."""
    L = h.shape[1]
    alpha = getitem(h, (slice(None), 0))                      # α_0 = h_0 (+ s)
    if start is not None:
        alpha = alpha + start
    for t in range(1, L):
        Gt = getitem(G, (slice(None), t - 1)) if G.ndim == 4 else G
        scores = unsqueeze(alpha, 2) + Gt                      # [b, i, j] = α(i) + G_ij
        nxt = logsumexp(scores, axis=1) + getitem(h, (slice(None), t))
        alpha = nxt if keep is None else where(keep[:, t:t + 1], nxt, alpha)
    if end is not None:
        alpha = alpha + end
    return logsumexp(alpha, axis=1)


def _twin_stat(theta: list[Tensor | None], keep, stat: str, create_graph: bool) -> Tensor:
    """Marginals from the twin, as gradients of its log Z with respect to zero
    perturbations: ``"unary"`` (B, L, K), ``"pair"`` (B, L − 1, K, K) per position, or
    ``"pair_sum"`` (B, K, K) summed over positions. Differentiable in ``theta`` when
    ``create_graph``."""
    h, G, start, end = theta
    B, L, K = h.shape
    xp = h.xp
    with enable_grad():
        if stat == "unary":
            z = Tensor(xp.zeros(h.shape, dtype=h.dtype), requires_grad=True)
            lz = _twin_log_z(h + z, G, start, end, keep)
        else:
            shape = (B, L - 1, K, K) if stat == "pair" else (B, K, K)
            z = Tensor(xp.zeros(shape, dtype=h.dtype), requires_grad=True)
            lz = _twin_log_z(h, G + z, start, end, keep)
        out = grad(sum(lz), z, create_graph=create_graph, allow_unused=True)
    return Tensor(xp.zeros(z.shape, dtype=z.dtype)) if out is None else out


def _twin_vjp(theta: list[Tensor | None], keep, stat: str, u: Tensor) -> list:
    """∂⟨u, marginals(θ)⟩/∂θ for each θ that requires a gradient (a Hessian-vector product of
    log Z), by differentiating the twin's marginals. While a graph is being built (a
    higher-order request) the original tensors are used so the result stays connected."""
    create = is_grad_enabled()
    if create:
        leaves = list(theta)
    else:
        leaves = [None if x is None else Tensor(x.data, requires_grad=x.requires_grad)
                  for x in theta]
    wanted = [k for k, x in enumerate(leaves) if x is not None and x.requires_grad]
    with enable_grad():
        m = _twin_stat(leaves, keep, stat, create_graph=True)
        total = sum(m * u)
        gs = grad(total, [leaves[k] for k in wanted], create_graph=create, retain_graph=True,
                  allow_unused=True)
    out: list = [None] * len(theta)
    for k, g in zip(wanted, gs):
        out[k] = g
    return out


def _twin_backed(name: str, data, theta: list[Tensor | None], keep, stat: str) -> Tensor:
    """A tensor holding kernel-computed marginals ``data`` whose VJP comes from the twin."""
    if not is_grad_enabled():  # first-order backward: a plain tensor, no graph
        return Tensor(data)
    memo: dict = {}

    def vjp_for(k: int):
        def vjp(u, out):
            if memo.get("u") is not u:  # one twin recomputation serves every input
                memo["u"] = u
                memo["grads"] = _twin_vjp(theta, keep, stat, u)
            return memo["grads"][k]
        return vjp

    return apply(name, data, [(x, vjp_for(k)) for k, x in enumerate(theta) if x is not None])


def crf_log_partition_twin(h, G, mask=None, start=None, end=None) -> Tensor:
    """log Z (B,) by the forward recursion α_t(j) = logsumexp_i(α_{t−1}(i) + G_ij) + h_t(j)
    written with Tensor ops (``where`` carries α through padded steps). Differentiable to
    any order; the readable version of :func:`crf_log_partition`."""
    inp = _check("crf_log_partition_twin", h, G, mask, start, end)
    return _twin_log_z(inp.h, inp.G, inp.start, inp.end, inp.keep)


def crf_marginals_twin(h, G, mask=None, start=None, end=None) -> tuple[Tensor, Tensor]:
    """(unary (B, L, K), pairwise (B, L − 1, K, K)) marginals as gradients of the twin's
    log Z: μ_t(j) = ∂log Z/∂h_t(j), ξ_t(i, j) = ∂log Z/∂G^{(t)}_ij for a per-step copy
    G^{(t)} of G. Differentiable to any order (built with ``create_graph``)."""
    inp = _check("crf_marginals_twin", h, G, mask, start, end)
    return (_twin_stat(inp.theta, inp.keep, "unary", True),
            _twin_stat(inp.theta, inp.keep, "pair", True))


def crf_viterbi_twin(h, G, mask=None, start=None, end=None, allowed=None
                     ) -> tuple[Tensor, Tensor]:
    """:func:`crf_viterbi` written with Tensor ops: the forward recursion with ``max`` in
    place of ``logsumexp`` (and ``argmax`` for the back-pointers), then backtracking on the
    host. The readable version and an oracle; same results, ties to the smallest index."""
    inp = _check("crf_viterbi_twin", h, G, mask, start, end)
    h, G, start, end = inp.theta
    B, L, K = h.shape
    xp = inp.xp
    if allowed is not None:
        G = where(xp.asarray(allowed), G, -np.inf)
    v = getitem(h, (slice(None), 0)) if start is None else getitem(h, (slice(None), 0)) + start
    back = []
    for t in range(1, L):
        scores = unsqueeze(v, 2) + G                           # [b, i, j] = v(i) + G_ij
        back.append(argmax(scores, axis=1).data)                # best previous tag per j
        nxt = max(scores, axis=1) + getitem(h, (slice(None), t))
        v = nxt if inp.keep is None else where(inp.keep[:, t:t + 1], nxt, v)
    if end is not None:
        v = v + end
    best = argmax(v, axis=1).data
    rows = xp.arange(B)
    paths = xp.full((B, L), -1, dtype=np.int64)
    top = best.copy()
    for t in range(L - 1, -1, -1):               # walk back from each sequence's last tag
        here = inp.lengths - 1 >= t
        top = xp.where(inp.lengths - 1 == t, best, top)
        paths[:, t] = xp.where(here, top, -1)
        if t > 0:
            top = xp.where(here, back[t - 1][rows, top], top)
    return Tensor(paths), Tensor(v.data[rows, best])


# -- kernel-backed primitives --------------------------------------------------------------------

def _log_partition(inp: _Inputs) -> Tensor:
    """The primitive: log Z from the forward kernel; VJP g·μ (h, s, e) and Σ_b g_b Ξ_b (G),
    with μ and Ξ from the marginals kernel (run once, on the first VJP that needs them)."""
    K = backend.kernels(inp.xp, "crf")
    h, G, start, end = inp.theta
    args = (h.data, G.data, _data(start), _data(end), inp.lengths)
    log_z, alpha = K.forward(*args)
    bad = _poisoned(inp)
    _nan_rows(bad, log_z)
    cache: dict = {}
    B = h.shape[0]

    def marginals(which: int) -> Tensor:
        """μ (which = 0) or Ξ summed over t (which = 1) as a twin-backed tensor."""
        if not cache:
            cache["arrays"] = K.marginals(*args, alpha, log_z, per_position=False)
            _nan_rows(bad, *cache["arrays"])
        if which == 0:
            return _twin_backed("crf_marginals", cache["arrays"][0], inp.theta, inp.keep,
                                "unary")
        return _twin_backed("crf_transition_marginals", cache["arrays"][1], inp.theta,
                            inp.keep, "pair_sum")

    def vjp_h(g, out):
        return reshape(g, (B, 1, 1)) * marginals(0)

    def vjp_G(g, out):
        Kk = G.shape[0]
        pair = reshape(marginals(1), (B, Kk * Kk))
        return reshape(matmul(reshape(g, (1, B)), pair), (Kk, Kk))

    def vjp_start(g, out):
        return reshape(g, (B, 1)) * getitem(marginals(0), (slice(None), 0))

    def vjp_end(g, out):
        last = getitem(marginals(0), (inp.xp.arange(B), inp.lengths - 1))
        return reshape(g, (B, 1)) * last

    parents = [(h, vjp_h), (G, vjp_G)]
    if start is not None:
        parents.append((start, vjp_start))
    if end is not None:
        parents.append((end, vjp_end))
    return apply("crf_log_partition", log_z, parents)


def crf_log_partition(h, G, mask=None, start=None, end=None) -> Tensor:
    """log Z (B,) of a linear-chain CRF by the forward algorithm in log space (a kernel).

    h: emissions (B, L, K); G: transitions (K, K), G[i, j] scores tag i followed by tag j;
    mask: (B, L) 1s then 0s (None: every position counts); start, end: optional (K,) scores
    of the first and last tag. Gradient: marginals (see :func:`crf_marginals`), to any order.
    """
    return _log_partition(_check("crf_log_partition", h, G, mask, start, end))


def crf_marginals(h, G, mask=None, start=None, end=None) -> tuple[Tensor, Tensor]:
    """Forward-backward marginals: (μ (B, L, K), ξ (B, L − 1, K, K)) with
    μ_t(j) = p(y_t = j) = exp(α_t(j) + β_t(j) − log Z) and
    ξ_t(i, j) = p(y_t = i, y_{t+1} = j) = exp(α_t(i) + G_ij + h_{t+1}(j) + β_{t+1}(j) − log Z),
    where β_{n−1} = e and β_t(i) = logsumexp_j(G_ij + h_{t+1}(j) + β_{t+1}(j)). Each μ_t sums
    to 1, Σ_j ξ_t(i, j) = μ_t(i) and Σ_i ξ_t(i, j) = μ_{t+1}(j); both are 0 at padded
    positions. Computed by the kernels; differentiable (through the twin, any order)."""
    inp = _check("crf_marginals", h, G, mask, start, end)
    K = backend.kernels(inp.xp, "crf")
    args = (inp.h.data, inp.G.data, _data(inp.start), _data(inp.end), inp.lengths)
    log_z, alpha = K.forward(*args)
    unary, pair = K.marginals(*args, alpha, log_z, per_position=True)
    _nan_rows(_poisoned(inp), unary, pair)
    return (_twin_backed("crf_marginals", unary, inp.theta, inp.keep, "unary"),
            _twin_backed("crf_pairwise_marginals", pair, inp.theta, inp.keep, "pair"))


def _score(name: str, inp: _Inputs, y) -> Tensor:
    """s(y) as one primitive. It is linear in (h, G, s, e): s_b = ⟨h_b, Y_b⟩ + ⟨G, C_b⟩ +
    ⟨s, Y_{b,0}⟩ + ⟨e, Y_{b,n−1}⟩ with Y the masked one-hot labels and C_b the transition
    counts of sequence b, so each VJP is the upstream gradient times a constant (Tensor ops,
    differentiable again; the second derivative is zero)."""
    yd = _labels(name, y, inp)
    h, G, start, end = inp.theta
    B, L, K = h.shape
    xp = inp.xp
    rows = xp.arange(B)
    last = yd[rows, inp.lengths - 1]
    emit = xp.take_along_axis(h.data, yd[:, :, None], axis=2)[:, :, 0]
    trans = G.data[yd[:, :-1], yd[:, 1:]]                      # G[y_{t−1}, y_t], (B, L − 1)
    if inp.keep is not None:  # where, not a product: padding may hold anything, NaN too
        emit = xp.where(inp.keep, emit, 0)
        trans = xp.where(inp.keep[:, 1:], trans, 0)
    score = emit.sum(axis=1) + trans.sum(axis=1)
    if start is not None:
        score = score + start.data[yd[:, 0]]
    if end is not None:
        score = score + end.data[last]
    dtype = h.dtype

    def onehot(labels):
        return Tensor((labels[..., None] == xp.arange(K)).astype(dtype))

    def vjp_h(g, out):
        y1 = onehot(yd)
        if inp.keep is not None:
            y1 = y1 * Tensor(inp.keep[:, :, None].astype(dtype))
        return reshape(g, (B, 1, 1)) * y1

    def vjp_G(g, out):
        pairs = (yd[:, :-1] * K + yd[:, 1:]) + (rows * (K * K))[:, None]
        weights = None if inp.keep is None else inp.keep[:, 1:].astype(dtype).ravel()
        counts = xp.bincount(pairs.ravel(), weights=weights, minlength=B * K * K)
        counts = Tensor(counts.astype(dtype).reshape(B, K * K))
        return reshape(matmul(reshape(g, (1, B)), counts), (K, K))

    parents = [(h, vjp_h), (G, vjp_G)]
    if start is not None:
        parents.append((start, lambda g, out: reshape(g, (B, 1)) * onehot(yd[:, 0])))
    if end is not None:
        parents.append((end, lambda g, out: reshape(g, (B, 1)) * onehot(last)))
    return apply("crf_score", score.astype(dtype, copy=False), parents)


def crf_score(h, G, y, mask=None, start=None, end=None) -> Tensor:
    """s(y) (B,) = s_{y_0} + Σ_t h_t(y_t) + Σ_{t≥1} G[y_{t−1}, y_t] + e_{y_{n−1}} over the
    unmasked positions, as one primitive: it is linear in (h, G, s, e), so each VJP is the
    upstream gradient times one-hot labels or transition counts (differentiable to any order;
    the second derivative is zero). Labels at padded positions are ignored (any integer may
    stand there)."""
    return _score("crf_score", _check("crf_score", h, G, mask, start, end), y)


def _fused_nll(inp: _Inputs, yd, kernels: ModuleType) -> Tensor:
    """log Z − s(y) (B,) as one primitive from one kernel call, which also returns the
    gradient when one will be asked for: ∂/∂h = μ − Y, ∂/∂G = Σ_t ξ_t − C per sequence,
    ∂/∂s = μ_0 − Y_0 and ∂/∂e = μ_{n−1} − Y_{n−1} (Y one-hot labels, C transition counts).
    Those gradient tensors are twin-backed like the marginals (Y and C are constants), so
    higher orders work as for :func:`crf_log_partition`."""
    h, G, start, end = inp.theta
    with_grad = is_grad_enabled() and any(t is not None and t.requires_grad for t in inp.theta)
    log_z, score, d_unary, d_pair = kernels.nll(h.data, G.data, _data(start), _data(end),
                                                inp.lengths, yd, with_grad)
    _nan_rows(_poisoned(inp), *(a for a in (log_z, d_unary, d_pair) if a is not None))
    if not with_grad:
        return Tensor(log_z - score)
    B = h.shape[0]
    rows = inp.xp.arange(B)

    def unary() -> Tensor:  # built per call: a graph only when a higher order is being taken
        return _twin_backed("crf_nll_grad", d_unary, inp.theta, inp.keep, "unary")

    def vjp_G(g, out):
        Kk = G.shape[0]
        pair = _twin_backed("crf_nll_grad_G", d_pair, inp.theta, inp.keep, "pair_sum")
        return reshape(matmul(reshape(g, (1, B)), reshape(pair, (B, Kk * Kk))), (Kk, Kk))

    parents = [(h, lambda g, out: reshape(g, (B, 1, 1)) * unary()), (G, vjp_G)]
    if start is not None:
        parents.append((start, lambda g, out: reshape(g, (B, 1)) *
                        getitem(unary(), (slice(None), 0))))
    if end is not None:
        parents.append((end, lambda g, out: reshape(g, (B, 1)) *
                        getitem(unary(), (rows, inp.lengths - 1))))
    return apply("crf_nll", log_z - score, parents)


def crf_nll(h, G, y, mask=None, start=None, end=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood log Z − s(y) of labels y (B, L) per sequence, then reduced:
    ``"mean"`` over sequences (not tokens), ``"sum"``, or ``"none"`` (B,). Its gradient is
    marginals − one-hot counts (h) and pairwise marginals − observed transition counts (G)."""
    A.choice("crf_nll", reduction, "reduction", REDUCTIONS)
    inp = _check("crf_nll", h, G, mask, start, end)
    kernels = backend.kernels(inp.xp, "crf")
    if hasattr(kernels, "nll"):  # the CPU kernels: the whole step in one call
        nll = _fused_nll(inp, _labels("crf_nll", y, inp), kernels)
    else:  # other devices: the log-partition and score primitives
        nll = _log_partition(inp) - _score("crf_nll", inp, y)
    if reduction == "none":
        return nll
    total = sum(nll)
    return total / nll.shape[0] if reduction == "mean" and nll.shape[0] else total


def crf_viterbi(h, G, mask=None, start=None, end=None, allowed=None) -> tuple[Tensor, Tensor]:
    """The best path argmax_y s(y) and its score, by Viterbi (max-product in log space):
    v_t(j) = max_i(v_{t−1}(i) + G_ij) + h_t(j), then backtracking from argmax_j(v + e).

    Returns (paths (B, L) int64 with −1 at padded positions, scores (B,) in h's dtype; no
    gradient — for a structured-perceptron loss use ``crf_score(h, G, paths)``). ``allowed``
    (K, K) bool forbids the transitions where it is False (their score becomes −inf, e.g.
    b→b in b/m/e/s tagging); if no allowed path exists the score is −inf. Ties go to the
    smallest tag index."""
    inp = _check("crf_viterbi", h, G, mask, start, end)
    K = inp.h.shape[2]
    Gd = inp.G.data
    if allowed is not None:
        a = A.tensor("crf_viterbi", allowed, "allowed").data
        backend.xp_of(a, Gd, op="crf_viterbi")
        if a.dtype != bool:
            raise DTypeError(f"crf_viterbi: allowed must be a boolean (K, K) array, got "
                             f"{a.dtype} ({_describe(inp.h, inp.G)})")
        if tuple(a.shape) != (K, K):
            raise ShapeError(f"crf_viterbi: allowed must have shape ({K}, {K}), got "
                             f"{tuple(a.shape)} ({_describe(inp.h, inp.G)})")
        Gd = inp.xp.where(a, Gd, -np.inf).astype(Gd.dtype)
    paths, scores = backend.kernels(inp.xp, "crf").viterbi(
        inp.h.data, Gd, _data(inp.start), _data(inp.end), inp.lengths)
    _nan_rows(_poisoned(inp), scores)  # the path of such a sequence means nothing
    return Tensor(paths), Tensor(scores)


__all__ = ["crf_log_partition", "crf_log_partition_twin", "crf_marginals", "crf_marginals_twin",
           "crf_nll", "crf_score", "crf_viterbi", "crf_viterbi_twin"]
