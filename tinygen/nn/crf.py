"""A linear-chain CRF layer on top of per-position tag scores, and b/m/e/s constraints.

A tagger's encoder gives emissions h (B, L, K): a score h_t(j) per position t and tag j. The
:class:`CRF` layer owns what a CRF adds to them — transitions G (K, K), G[i, j] the score of
tag i followed by tag j, and, with ``start_end=True``, scores s, e (K,) of the first and last
tag — and scores a whole tag path at once::

    s(y) = s_{y_0} + Σ_t h_t(y_t) + Σ_{t≥1} G[y_{t−1}, y_t] + e_{y_{n−1}},
    p(y | h) = exp s(y) / Z,     Z = Σ_{y'} exp s(y').

Training minimises −log p(y | h) = log Z − s(y) (:meth:`CRF.loss`), where log Z comes from the
forward algorithm in n·K² work; prediction is the best path argmax_y s(y) by Viterbi
(:meth:`CRF.decode`). The math lives in :mod:`tinygen.ops.crf` (``tinygen.crf_nll`` and
friends, Numba kernels with gradients of any order); the layer holds the parameters, checks
shapes and names itself in errors.

**Constraints are applied in decoding only.** Some transitions are impossible in a tagging
scheme: with b/m/e/s word-segmentation tags (begin, middle, end of a word, single-character
word) a ``b`` must be followed by ``m`` or ``e``, a sentence cannot start inside a word
(``m``, ``e``) or end in one (``b``, ``m``). Pass ``allowed`` (K, K) bool (False = tag i may
not be followed by tag j) and ``allowed_start``/``allowed_end`` (K,) bool; :func:`bmes_constraints`
builds all three for b/m/e/s tags and for typed tags such as ``B-PER … E-PER, S-LOC, O``.
:meth:`CRF.decode` then searches only the allowed paths (a forbidden transition scores −inf,
a forbidden first/last tag adds −inf to the start/end scores, learned or not), so every
decoded path is valid. The loss, log Z and the marginals ignore the constraints: training
sees only valid gold paths and drives the forbidden transitions' G down by itself, and
leaving them in keeps log Z and its gradients finite. The constraints are settings of the
layer (like a convolution's kernel size), not part of its ``state_dict``.

Parameters start at zero (every path equally likely before training), as in Keras' CRF layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import backend
from ..autograd import Tensor, as_tensor
from ..creation import zeros
from ..errors import ShapeError
from ..ops import crf as crf_ops
from ..tagging import parse_tag
from .module import Module, Parameter

__all__ = ["CRF", "bmes_constraints"]


def bmes_constraints(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(allowed (K, K), allowed_start (K,), allowed_end (K,)) boolean masks for the tags
    ``tags`` in their id order, in the b/m/e/s scheme.

    Plain tags ``b m e s``: inside a word (after ``b`` or ``m``) only ``m`` or ``e`` may follow;
    after a finished word (``e`` or ``s``) only a new word (``b`` or ``s``). So b→b, b→s,
    m→b, m→s, e→m, e→e, s→m and s→e are forbidden; a path starts with ``b`` or ``s`` and ends
    with ``e`` or ``s``. Typed tags (``B-X, M-X, E-X, S-X`` and ``O`` outside entities, as in
    MSRA NER) follow the same rules with the type kept inside an entity (B-PER→M-PER or E-PER
    only), and ``O`` counts as a finished word.
    """
    parts = [parse_tag(t, "bmes_constraints") for t in tags]
    K = len(parts)
    allowed = np.zeros((K, K), dtype=bool)
    for i, (p, kind) in enumerate(parts):
        for j, (q, kind2) in enumerate(parts):
            if p in ("b", "m"):                      # inside an entity: continue or close it
                allowed[i, j] = q in ("m", "e") and kind2 == kind
            else:                                    # after e, s or o: start something new
                allowed[i, j] = q in ("b", "s", "o")
    start = np.array([p in ("b", "s", "o") for p, _ in parts])
    end = np.array([p in ("e", "s", "o") for p, _ in parts])
    return allowed, start, end


def _bool_mask(name: str, value, shape: tuple[int, ...]) -> np.ndarray | None:
    if value is None:
        return None
    a = backend.to_numpy(value.data if isinstance(value, Tensor) else np.asarray(value))
    if a.dtype != bool or a.shape != shape:
        raise ShapeError(f"CRF: {name} must be a boolean array of shape {shape}, got "
                         f"{a.dtype} of shape {a.shape}")
    return a.copy()


class CRF(Module):
    """A linear-chain CRF over emissions h (B, L, num_tags) (see the module docstring).

    Parameters: ``transitions`` G (K, K), and ``start``, ``end`` (K,) when ``start_end``.
    ``allowed`` (K, K), ``allowed_start`` and ``allowed_end`` (K,) (bool, False = forbidden)
    constrain :meth:`decode` only. ``mask`` arguments are (B, L) 1s then 0s (True on real
    positions), as :class:`~tinygen.data.DataLoader` pads ragged fields.

    Calling the layer, ``crf(h, y, mask)``, is :meth:`loss`.
    """

    def __init__(self, num_tags: int, start_end: bool = False, allowed=None,
                 allowed_start=None, allowed_end=None):
        super().__init__()
        if not isinstance(num_tags, int | np.integer) or isinstance(num_tags, bool) \
                or num_tags < 1:
            raise ShapeError(f"CRF: num_tags must be a positive int, got {num_tags!r}")
        K = self.num_tags = int(num_tags)
        self.start_end = bool(start_end)
        self.transitions = Parameter(zeros(K, K))
        self.start = Parameter(zeros(K)) if start_end else None
        self.end = Parameter(zeros(K)) if start_end else None
        self.allowed = _bool_mask("allowed", allowed, (K, K))
        self.allowed_start = _bool_mask("allowed_start", allowed_start, (K,))
        self.allowed_end = _bool_mask("allowed_end", allowed_end, (K,))

    @classmethod
    def bmes(cls, tags: Sequence[str] = ("b", "m", "e", "s"), start_end: bool = False) -> CRF:
        """A CRF over ``tags`` (in id order) whose decoding obeys the b/m/e/s rules of
        :func:`bmes_constraints`."""
        allowed, first, last = bmes_constraints(tags)
        return cls(len(tags), start_end, allowed, first, last)

    # -- the CRF quantities ---------------------------------------------------------------

    def _check(self, h) -> Tensor:
        h = as_tensor(h)
        K = self.num_tags
        self._expect(h.ndim == 3 and h.shape[2] == K, h.shape, f"(B, L, {K})", "emissions")
        return h

    def _call(self, op, h, *args, **kwargs):
        """Run a CRF op; its errors (mask or label shapes) are re-raised naming the layer."""
        try:
            return op(self._check(h), self.transitions, *args, start=self.start,
                      end=self.end, **kwargs)
        except ShapeError as err:
            if str(err).startswith(self._describe()):
                raise
            raise ShapeError(f"{self._describe()}: {err}") from err

    def forward(self, h, y, mask=None, reduction: str = "mean") -> Tensor:
        return self.loss(h, y, mask, reduction)

    def loss(self, h, y, mask=None, reduction: str = "mean") -> Tensor:
        """Negative log-likelihood log Z − s(y) of the gold tags y (B, L) (integers; any value
        at padded positions), reduced over sequences: ``"mean"``, ``"sum"`` or ``"none"``."""
        return self._call(lambda h_, G, **kw: crf_ops.crf_nll(h_, G, y, mask, **kw), h,
                          reduction=reduction)

    def score(self, h, y, mask=None) -> Tensor:
        """s(y) (B,) of the tag paths y (B, L)."""
        return self._call(lambda h_, G, **kw: crf_ops.crf_score(h_, G, y, mask, **kw), h)

    def log_partition(self, h, mask=None) -> Tensor:
        """log Z (B,) by the forward algorithm."""
        return self._call(crf_ops.crf_log_partition, h, mask)

    def marginals(self, h, mask=None) -> tuple[Tensor, Tensor]:
        """(p(y_t = j) (B, L, K), p(y_t = i, y_{t+1} = j) (B, L − 1, K, K)), 0 at padding."""
        return self._call(crf_ops.crf_marginals, h, mask)

    def decode(self, h, mask=None, constrained: bool = True, return_scores: bool = False):
        """Best tag paths (B, L) int64 Tensor, −1 at padded positions, by Viterbi.

        With ``constrained`` (the default) only paths the layer's ``allowed``,
        ``allowed_start`` and ``allowed_end`` permit are searched. ``return_scores``: also
        return the paths' scores s(y) (B,)."""
        h = self._check(h)
        device = self.transitions.device
        allowed = first = last = None
        if constrained and self.allowed is not None:
            allowed = backend.to_device(self.allowed, device)
        start, end = self.start, self.end
        if constrained:
            first, last = self.allowed_start, self.allowed_end
        if first is not None:
            start = self._forbid(start, first, device)
        if last is not None:
            end = self._forbid(end, last, device)
        try:
            paths, scores = crf_ops.crf_viterbi(h, self.transitions, mask, start, end, allowed)
        except ShapeError as err:
            raise ShapeError(f"{self._describe()}: {err}") from err
        return (paths, scores) if return_scores else paths

    def _forbid(self, scores: Tensor | None, ok: np.ndarray, device: str) -> Tensor:
        """Start or end scores (learned, or 0) with −inf where ``ok`` is False."""
        penalty = np.where(ok, 0.0, -np.inf).astype(self.transitions.dtype)
        penalty = Tensor(backend.to_device(penalty, device))
        return penalty if scores is None else scores.detach() + penalty

    def extra_repr(self) -> str:
        parts = [f"num_tags={self.num_tags}"]
        if self.start_end:
            parts.append("start_end=True")
        if any(a is not None for a in (self.allowed, self.allowed_start, self.allowed_end)):
            parts.append("constrained")
        return ", ".join(parts)
