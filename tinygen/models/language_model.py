"""Word-level recurrent language models (LSTM or ON-LSTM) and the ON-LSTM post's tree
induction.

A language model reads w₁ … w_t and predicts w_{t+1}: Embedding → recurrent layers →
Linear(V), trained by cross-entropy on a text cut into a (B, ·) stream and read in windows
of T words, the state carried from window to window (truncated back-propagation through
time). Perplexity = exp(mean cross-entropy per word).

**Trees from the master forget gate.** In an ON-LSTM, d_t = 1 − mean_k f̃_t[k] says how
much of the memory word t erases: a word that starts a big new constituent erases a lot.
Reading a sentence's tree top-down: split at the word i with the largest d_i into
(x_<i) and (x_i (x_>i)), then split each part the same way (Shen et al., 2019). With
random distances the same procedure draws random binary trees, the baseline.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import ops
from ..autograd import Tensor, no_grad
from ..errors import ArgumentError
from ..nn import LSTM, ONLSTM, Dropout, Embedding, Linear, Module
from ..random import Generator

__all__ = ["RNNLanguageModel", "batchify", "brackets", "count_parameters", "leaf_depths",
           "tree_from_distances", "unlabeled_f1"]


def count_parameters(module: Module) -> int:
    """The number of scalar parameters of ``module``."""
    return int(sum(p.data.size for p in module.parameters()))


def batchify(ids, batch: int) -> np.ndarray:
    """A token stream cut into ``batch`` rows (B, N // B), the tail dropped: row b continues
    where row b − 1's text left off, and window t of every row is one training batch."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids) // batch
    if n < 2:
        raise ArgumentError(f"batchify: {len(ids)} tokens are too few for {batch} rows")
    return ids[: n * batch].reshape(batch, n)


class RNNLanguageModel(Module):
    """Embedding(V, ``dim``) → Dropout → ``kind`` ("lstm" or "onlstm" with ``levels``)
    recurrent layers of ``hidden`` units → Dropout → Linear(hidden, V).

    ``forward(ids (B, T), state=None)`` returns (logits (B, T, V), state). ``dropout`` is
    applied to the embeddings and the last layer's outputs, the same for both kinds."""

    def __init__(self, vocab_size: int, dim: int, hidden: int, kind: str = "lstm",
                 levels: int = 1, num_layers: int = 1, dropout: float = 0.0,
                 generator: Generator | None = None):
        super().__init__()
        if kind not in ("lstm", "onlstm"):
            raise ArgumentError(f"RNNLanguageModel: kind must be 'lstm' or 'onlstm', got "
                                f"{kind!r}")
        self.vocab_size, self.kind = vocab_size, kind
        self.embedding = Embedding(vocab_size, dim, generator=generator)
        self.dropout = Dropout(dropout, generator=generator)
        self.rnn = (LSTM(dim, hidden, num_layers, generator=generator) if kind == "lstm" else
                    ONLSTM(dim, hidden, levels, num_layers, generator=generator))
        self.out = Linear(hidden, vocab_size, generator=generator)

    def forward(self, ids, state=None) -> tuple[Tensor, tuple]:
        x = self.dropout(self.embedding(np.asarray(ids)))
        y, state = self.rnn(x, state)
        b, t, h = y.shape
        logits = self.out(ops.reshape(self.dropout(y), (b * t, h)))
        return ops.reshape(logits, (b, t, self.vocab_size)), state

    def loss(self, ids_in, ids_out, state=None) -> tuple[Tensor, tuple]:
        """Mean cross-entropy per word of predicting ``ids_out`` from ``ids_in`` (B, T), and
        the final state detached (to carry into the next window)."""
        logits, state = self(ids_in, state)
        return F.cross_entropy(logits, np.asarray(ids_out)), tuple(s.detach() for s in state)

    def perplexity(self, stream: np.ndarray, window: int = 35) -> float:
        """exp(mean cross-entropy per word) over a batchified ``stream`` (B, N), read in
        windows with the state carried, in evaluation mode."""
        was_training = self.training
        self.eval()
        total, count, state = 0.0, 0, None
        with no_grad():
            for start in range(0, stream.shape[1] - 1, window):
                end = min(start + window, stream.shape[1] - 1)
                loss, state = self.loss(stream[:, start:end], stream[:, start + 1:end + 1],
                                        state)
                total += loss.item() * stream.shape[0] * (end - start)
                count += stream.shape[0] * (end - start)
        self.train(was_training)
        return float(np.exp(total / count))

    def distances(self, ids, mask=None, layer: int = -1) -> np.ndarray:
        """d_t = 1 − mean over levels of the master forget gate f̃_t of ON-LSTM layer
        ``layer``, for sentences ``ids`` (B, T) read from a zero state: (B, T)."""
        if self.kind != "onlstm":
            raise ArgumentError("RNNLanguageModel.distances: only an ON-LSTM has master gates")
        with no_grad():
            x = self.embedding(np.asarray(ids))
            _, _, master = self.rnn(x, mask=mask, return_distances=True)
        return 1.0 - master.numpy()[layer].mean(axis=-1)


def tree_from_distances(words: list, distances) -> object:
    """The binary tree of ``words`` read top-down from syntactic distances: with i the
    position of the largest distance, the tree is ((x_<i), (x_i, (x_>i))), parts made the
    same way and empty parts left out; a single word is itself. Trees are nested tuples."""
    d = list(distances)
    if len(d) != len(words) or not words:
        raise ArgumentError(f"tree_from_distances: {len(words)} words and {len(d)} distances")
    if len(words) == 1:
        return words[0]
    i = int(np.argmax(d))
    right = words[i] if i == len(words) - 1 else \
        (words[i], tree_from_distances(words[i + 1:], d[i + 1:]))
    return right if i == 0 else (tree_from_distances(words[:i], d[:i]), right)


def brackets(tree) -> set[tuple[int, int]]:
    """The spans (start, end) of a tree's constituents of two or more words (the whole
    sentence included), word positions counted from 0, end exclusive."""
    spans: set[tuple[int, int]] = set()

    def walk(node, start: int) -> int:
        if not isinstance(node, tuple):
            return start + 1
        end = start
        for child in node:
            end = walk(child, end)
        if end - start > 1:
            spans.add((start, end))
        return end

    walk(tree, 0)
    return spans


def unlabeled_f1(tree, reference) -> float:
    """Unlabeled bracketing F1 of ``tree`` against ``reference`` (constituents of two or more
    words, the whole-sentence span left out, as in the ON-LSTM paper's evaluation); 1 when
    neither has a bracket to compare."""
    a, b = brackets(tree), brackets(reference)
    full = max((e for _, e in a | b), default=0)
    a, b = a - {(0, full)}, b - {(0, full)}
    if not a and not b:
        return 1.0
    common = len(a & b)
    return 0.0 if common == 0 else 2 * common / (len(a) + len(b))


def leaf_depths(tree) -> list[int]:
    """Each word's depth: the number of constituents above it (the root counts)."""
    out: list[int] = []

    def walk(node, depth: int) -> None:
        if isinstance(node, tuple):
            for child in node:
                walk(child, depth + 1)
        else:
            out.append(depth)

    walk(tree, 0)
    return out
