"""The seq2seq title post's model: read an article character by character, write its title.

    shared Embedding(V, d) ─┬─ BiLSTM encoder over the article x → memory (B, Tx, H)
                            └─ LSTM decoder over the title so far y_<t → queries (B, Ty, H)
    a_t = attention(query_t, memory, memory; padding of x masked)   (softmax((qW)kᵀ/√d))
    z_t = Linear(ReLU(Linear([query_t, a_t])))                       logits over V

**The copy prior.** A title mostly reuses characters of its article, so the post adds a
bias towards them: χ ∈ {0, 1}^V marks the characters present in x, and with learned
vectors s, t ∈ R^V

    prior = e^s ⊙ χ + t,        final logits = (z_t + prior) / 2.

Training is teacher forcing: the decoder reads ``<s> y₁ … y_n`` and is scored on
``y₁ … y_n </s>`` by cross-entropy (padding ignored). Decoding is greedy (batched) or beam
search (:func:`beam_search`, generic over a step function, so it is tested on hand-built
scores).
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable

import numpy as np

from .. import functional as F
from .. import ops
from ..autograd import Tensor, no_grad
from ..creation import zeros
from ..data.loader import pad_sequences
from ..errors import ArgumentError, ShapeError
from ..nn import LSTM, Embedding, Linear, Module, MultiHeadAttention, Parameter
from ..optim import Adam, clip_grad_norm
from ..random import Generator, manual_seed

__all__ = ["Seq2SeqTitler", "beam_search", "encode_pairs", "fit_titler", "greedy_search",
           "mean_title_loss", "presence", "title_pairs"]

_NUMERALS = set("一二三四五六七八九十百千零〇")


def title_pairs(pairs, max_source: int, max_title: int) -> list[tuple[str, str]]:
    """(article, title) strings for title generation from (chars, chars) pairs.

    The article loses its punctuation (Unicode category P) and is cut to ``max_source``
    characters; the title loses a trailing series number (``和張僕射塞下曲 二`` → the poem
    cannot tell which of a series it is), notes in brackets (``（題擬）``) and spaces. Pairs
    whose title is then empty or longer than ``max_title`` are dropped."""
    out = []
    for article, title in pairs:
        text = "".join(c for c in article if not unicodedata.category(c).startswith("P"))
        parts = re.sub(r"[（(][^）)]*[）)]", "", "".join(title)).split()
        while len(parts) > 1 and set(parts[-1]) <= _NUMERALS:
            parts.pop()
        name = "".join(parts)
        if text and 0 < len(name) <= max_title:
            out.append((text[:max_source], name))
    return out


def encode_pairs(pairs, vocab) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded id arrays (source, target_in, target_out) of (article, title) pairs:
    target_in is ``<s> y₁ … y_n``, target_out ``y₁ … y_n </s>``."""
    source = pad_sequences([vocab.encode(a) for a, _ in pairs], vocab.pad_id)[0]
    titles = [vocab.encode(t) for _, t in pairs]
    target_in = pad_sequences([[vocab.bos_id] + t for t in titles], vocab.pad_id)[0]
    target_out = pad_sequences([t + [vocab.eos_id] for t in titles], vocab.pad_id)[0]
    return source, target_in, target_out


def presence(ids, vocab_size: int, pad_id: int = 0) -> np.ndarray:
    """χ: (B, V) float32, χ[b, v] = 1 where id v occurs in row b of ``ids`` (B, T), padding
    excepted."""
    x = np.asarray(ids.numpy() if isinstance(ids, Tensor) else ids)
    if x.ndim != 2:
        raise ShapeError(f"presence: expected ids (B, T), got shape {x.shape}")
    if x.size and (x.min() < 0 or x.max() >= vocab_size):
        raise ShapeError(f"presence: ids must lie in [0, {vocab_size}), got {x.min()} … "
                         f"{x.max()}")
    chi = np.zeros((x.shape[0], vocab_size), dtype=np.float32)
    rows = np.repeat(np.arange(x.shape[0]), x.shape[1])
    chi[rows, x.ravel()] = 1.0
    chi[:, pad_id] = 0.0
    return chi


class Seq2SeqTitler(Module):
    """Character ids of articles (B, Tx) and titles → logits over the vocabulary.

    Embedding(V, ``dim``) shared by both sides, a one-layer BiLSTM encoder of ``hidden``/2
    units per direction (so memory has ``hidden`` features), a one-layer LSTM decoder of
    ``hidden`` units, ``heads``-head attention of the decoder's outputs over the memory,
    Linear(2·hidden → hidden) + ReLU + Linear(hidden → V), and the copy prior when
    ``copy_prior`` (the post: 2 + 2 layers, 128-d embedding, 8 heads of 16, a 512-unit
    layer). Id ``pad_id`` is padding everywhere.
    """

    def __init__(self, vocab_size: int, dim: int = 64, hidden: int = 64, heads: int = 4,
                 copy_prior: bool = True, pad_id: int = 0, generator: Generator | None = None):
        super().__init__()
        if hidden % 2:
            raise ArgumentError(f"Seq2SeqTitler: hidden must be even (two encoder directions "
                                f"of hidden/2), got {hidden}")
        self.vocab_size, self.dim, self.hidden, self.pad_id = vocab_size, dim, hidden, pad_id
        self.copy_prior = copy_prior
        self.embedding = Embedding(vocab_size, dim, padding_idx=pad_id, generator=generator)
        self.encoder = LSTM(dim, hidden // 2, bidirectional=True, generator=generator)
        self.decoder = LSTM(dim, hidden, generator=generator)
        self.attention = MultiHeadAttention(hidden, heads, generator=generator)
        self.mix = Linear(2 * hidden, hidden, generator=generator)
        self.out = Linear(hidden, vocab_size, generator=generator)
        if copy_prior:
            self.log_scale = Parameter(zeros(vocab_size))  # s: e^s = 1 at the start
            self.shift = Parameter(zeros(vocab_size))      # t

    def _ids(self, ids, what: str) -> np.ndarray:
        x = np.asarray(ids.numpy() if isinstance(ids, Tensor) else ids)
        self._expect(x.ndim == 2 and x.dtype.kind in "iu", f"{x.shape} {x.dtype}",
                     "integer ids (B, T)", what)
        return x

    def encode(self, source) -> tuple[Tensor, np.ndarray, np.ndarray]:
        """(memory (B, Tx, H), key mask (B, Tx) bool, χ (B, V)) of article ids (B, Tx)."""
        x = self._ids(source, "source")
        mask = x != self.pad_id
        memory, _ = self.encoder(self.embedding(x), mask=mask)
        return memory, mask, presence(x, self.vocab_size, self.pad_id)

    def logits(self, queries: Tensor, memory: Tensor, mask: np.ndarray,
               chi: np.ndarray) -> tuple[Tensor, Tensor]:
        """Logits (B, Ty, V) and attention weights (B, heads, Ty, Tx) of decoder outputs
        ``queries`` (B, Ty, H) over ``memory``."""
        attended, weights = self.attention(queries, memory, memory, key_mask=mask)
        b, ty, h = queries.shape
        both = ops.reshape(ops.concat([queries, attended], axis=-1), (b * ty, 2 * h))
        z = ops.reshape(self.out(ops.relu(self.mix(both))), (b, ty, self.vocab_size))
        if self.copy_prior:
            prior = ops.exp(self.log_scale) * Tensor(chi.astype(z.dtype)) + self.shift
            z = (z + ops.reshape(prior, (b, 1, self.vocab_size))) * 0.5
        return z, weights

    def forward(self, source, target_in) -> Tensor:
        """Teacher forcing: logits (B, Ty, V) for decoder inputs ``target_in`` (B, Ty)
        (``<s> y₁ … y_n``, padded)."""
        memory, mask, chi = self.encode(source)
        y = self._ids(target_in, "target_in")
        self._expect(y.shape[0] == mask.shape[0], y.shape, f"({mask.shape[0]}, Ty)",
                     "target_in")
        queries, _ = self.decoder(self.embedding(y))
        return self.logits(queries, memory, mask, chi)[0]

    def loss(self, source, target_in, target_out) -> Tensor:
        """Mean cross-entropy per title character (``</s>`` included, padding ignored)."""
        return F.cross_entropy(self(source, target_in), np.asarray(target_out),
                               ignore_index=self.pad_id)

    def start(self, source) -> dict:
        """The decoding state of a batch of articles: memory, mask, χ, no decoder state."""
        memory, mask, chi = self.encode(source)
        return {"memory": memory, "mask": mask, "chi": chi, "state": None, "weights": []}

    def step(self, tokens, state: dict) -> tuple[np.ndarray, dict]:
        """One decoding step: log-probabilities (B, V) of the next character after the last
        ``tokens`` (B,), and the new state (attention weights appended, heads averaged)."""
        emb = self.embedding(np.asarray(tokens, dtype=np.int64)[:, None])
        query, dec = self.decoder(emb, state["state"])
        z, weights = self.logits(query, state["memory"], state["mask"], state["chi"])
        logp = ops.log_softmax(z[:, 0], axis=-1).numpy().astype(np.float64)
        new = dict(state, state=dec,
                   weights=state["weights"] + [weights.numpy()[:, :, 0].mean(axis=1)])
        return logp, new

    @staticmethod
    def select(state: dict, rows) -> dict:
        """The state of the beams ``rows`` (an index array into the batch)."""
        rows = np.asarray(rows)
        h, c = state["state"]
        return dict(state, memory=state["memory"][rows], mask=state["mask"][rows],
                    chi=state["chi"][rows], state=(h[:, rows], c[:, rows]),
                    weights=[w[rows] for w in state["weights"]])

    def generate(self, source, bos: int, eos: int, max_len: int = 16, width: int = 1,
                 length_penalty: float = 0.0, forbid: tuple[int, ...] = (),
                 min_len: int = 0) -> list[list[int]]:
        """Titles (id lists, without ``<s>``/``</s>``) for article ids (B, Tx): greedy for
        ``width`` 1 (batched), else beam search per article; see :func:`beam_search` for
        the other arguments."""
        x = self._ids(source, "source")
        with no_grad():
            if width == 1:
                return greedy_search(self.step, self.start(x), len(x), bos, eos, max_len,
                                     forbid, min_len)
            out = []
            for row in x:
                row = row[row != self.pad_id][None] if (row != self.pad_id).any() else row[None]
                best = beam_search(self.step, self.start(row), bos, eos, width, max_len,
                                   length_penalty, self.select, forbid, min_len)
                out.append(best[0][0])
            return out


def mean_title_loss(model: Seq2SeqTitler, arrays, batch: int = 250) -> float:
    """Mean cross-entropy per title character (``</s>`` included, padding ignored) of
    ``model`` over ``arrays`` = (source, target_in, target_out) from :func:`encode_pairs`,
    computed ``batch`` pairs at a time without gradients."""
    total = count = 0.0
    with no_grad():
        for i in range(0, len(arrays[0]), batch):
            s, y_in, y_out = (a[i:i + batch] for a in arrays)
            n = float((y_out != model.pad_id).sum())
            total += model.loss(s, y_in, y_out).item() * n
            count += n
    return total / count


def fit_titler(pairs: list[tuple[str, str]], vocab, sampler, val_arrays, copy_prior: bool,
               steps: int, seed: int = 0, dim: int = 64, hidden: int = 64, heads: int = 4,
               lr: float = 6e-3, clip: float = 5.0, evaluations: int = 6) -> dict:
    """One :class:`Seq2SeqTitler` trained start to finish, plain values in and out (a job for
    a worker process, :func:`tinygen.parallel.map_jobs`).

    The model is built right after ``tinygen.manual_seed(seed)`` (so with and without the
    copy prior the shared layers start from the same weights) and trained for ``steps`` Adam
    steps (learning rate ``lr``, gradient norm clipped at ``clip``) by teacher forcing on the
    batches of ``sampler`` (e.g. a ``BucketBatchSampler`` over ``pairs``: each epoch's list
    of index batches, taken from its end), each encoded by :func:`encode_pairs` with
    ``vocab``. Every ``steps // evaluations`` steps and at the end, :func:`mean_title_loss`
    on ``val_arrays``. Returns ``state`` (the trained parameters as arrays, for
    ``load_state_dict`` of a model built with the same arguments), ``history`` (``step``,
    ``loss``, ``val_step``, ``val_loss``, ``seconds`` of wall clock), ``cpu_seconds`` (this
    process's CPU time for the job) and ``process_cpu_seconds`` (since the process started:
    in a worker, its start-up too)."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    manual_seed(seed)
    model = Seq2SeqTitler(len(vocab), dim, hidden, heads, copy_prior=copy_prior,
                          pad_id=vocab.pad_id)
    opt = Adam(model.parameters(), lr=lr)
    history: dict = {"step": [], "loss": [], "val_step": [], "val_loss": []}
    batches, epoch = [], 0
    for step in range(1, steps + 1):
        if not batches:
            batches, epoch = list(sampler.batches(epoch)), epoch + 1
        s, y_in, y_out = encode_pairs([pairs[i] for i in batches.pop()], vocab)
        loss = model.loss(s, y_in, y_out)
        opt.zero_grad()
        loss.backward()
        clip_grad_norm(model.parameters(), clip)
        opt.step()
        history["step"].append(step)
        history["loss"].append(loss.item())
        if step % max(1, steps // evaluations) == 0 or step == steps:
            history["val_step"].append(step)
            history["val_loss"].append(mean_title_loss(model, val_arrays))
    history["seconds"] = time.perf_counter() - t0
    return {"state": {name: t.numpy() for name, t in model.state_dict().items()},
            "history": history, "cpu_seconds": time.process_time() - cpu0,
            "process_cpu_seconds": time.process_time()}


def _forbidden(logp, forbid: tuple[int, ...], eos: int, too_short: bool) -> np.ndarray:
    """log-probabilities with the ``forbid`` tokens (and ``eos`` when ``too_short``) at −∞."""
    banned = list(forbid) + ([eos] if too_short else [])
    if not banned:
        return logp
    logp = np.array(logp, dtype=np.float64)
    logp[:, banned] = -np.inf
    return logp


def greedy_search(step: Callable, state, batch: int, bos: int, eos: int, max_len: int,
                  forbid: tuple[int, ...] = (), min_len: int = 0) -> list[list[int]]:
    """Take the most probable next token until ``eos`` or ``max_len`` tokens, for a batch:
    ``step(tokens (B,), state) → (log-probs (B, V), state)``; ``forbid`` and ``min_len``
    as in :func:`beam_search`."""
    tokens = np.full(batch, bos, dtype=np.int64)
    out: list[list[int]] = [[] for _ in range(batch)]
    done = np.zeros(batch, dtype=bool)
    for t in range(max_len):
        logp, state = step(tokens, state)
        tokens = _forbidden(logp, forbid, eos, t < min_len).argmax(axis=-1)
        for b in np.flatnonzero(~done):
            if tokens[b] == eos:
                done[b] = True
            else:
                out[b].append(int(tokens[b]))
        if done.all():
            break
    return out


def beam_search(step: Callable, state, bos: int, eos: int, width: int = 3, max_len: int = 16,
                length_penalty: float = 0.0, select: Callable | None = None,
                forbid: tuple[int, ...] = (), min_len: int = 0
                ) -> list[tuple[list[int], float]]:
    """The ``width`` best sequences under a left-to-right model, best first, as (tokens
    without ``bos``/``eos``, score).

    ``step(tokens (K,), state) → (log-probs (K, V), state)`` scores the next token of K live
    hypotheses; ``select(state, rows)`` keeps the rows of the survivors (default: the state
    is a list, indexed). Each round every live hypothesis is extended by every token, and the
    ``width`` best extensions that do not end in ``eos`` live on; those that end in ``eos``
    are finished. A hypothesis still alive after ``max_len`` tokens finishes as it is. The
    score is the summed log-probability divided by length^``length_penalty`` (0: the plain
    sum, which favours short titles; 1: the mean per token), the length counting ``eos``.
    Tokens in ``forbid`` (e.g. ``<unk>``) are never chosen, nor ``eos`` before ``min_len``
    tokens.

    Without a length penalty a live hypothesis can only lose score, so the search stops as
    soon as the best finished one beats every live one; with a penalty, once ``width`` have
    finished.
    """
    if width < 1 or max_len < 1:
        raise ArgumentError(f"beam_search: width and max_len must be >= 1, got {width} and "
                            f"{max_len}")
    select = select or (lambda s, rows: [s[i] for i in rows])
    seqs: list[list[int]] = [[]]
    scores = np.zeros(1)
    tokens = np.array([bos], dtype=np.int64)
    finished: list[tuple[list[int], float]] = []

    def normalised(total: float, length: int) -> float:
        return total / max(length, 1) ** length_penalty

    for t in range(max_len):
        logp, state = step(tokens, state)
        logp = _forbidden(np.asarray(logp, dtype=np.float64), forbid, eos, t < min_len)
        total = scores[:, None] + logp
        order = np.argsort(-total, axis=None, kind="stable")
        rows, nexts, new_scores = [], [], []
        for flat in order[: (width + 1) * len(seqs)]:
            k, v = divmod(int(flat), logp.shape[1])
            if not np.isfinite(total[k, v]):
                break
            if v == eos:
                finished.append((seqs[k], normalised(total[k, v], t + 1)))
            elif len(rows) < width:
                rows.append(k)
                nexts.append(v)
                new_scores.append(total[k, v])
            if len(rows) == width:
                break
        if not rows:
            break
        seqs = [seqs[k] + [v] for k, v in zip(rows, nexts)]
        scores, tokens = np.array(new_scores), np.array(nexts, dtype=np.int64)
        state = select(state, np.array(rows))
        if finished:
            best = max(s for _, s in finished)
            if (length_penalty == 0 and best >= scores.max()) or \
                    (length_penalty != 0 and len(finished) >= width):
                break
    else:
        finished += [(s, normalised(float(v), len(s))) for s, v in zip(seqs, scores)]
    finished.sort(key=lambda item: -item[1])
    return finished[:width]
