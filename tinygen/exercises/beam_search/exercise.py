"""Checker for beam_search: brute force with a wide beam, greedy with width 1, and a model
where greedy decoding is wrong."""

import itertools

import numpy as np

from tinygen.exercises.check import Mismatch, close, prop, st

TITLE = "Beam search"
TOPIC = "sequence models"
DIFFICULTY = 2
LESSON = "34_seq2seq_titles"
FUNCTIONS = ["beam_search"]

EOS = 0


@st.composite
def bigram_models(draw):
    """log p(next | last token) from a random (V, V) table, row V for the empty prefix."""
    v = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    logits = np.random.default_rng(seed).standard_normal((v + 1, v)) * 2
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return logp


def _step(logp):
    return lambda prefix: logp[prefix[-1] if prefix else -1]


def _run(student, logp, width, max_len):
    out = student.beam_search(_step(logp), EOS, width, max_len)
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise Mismatch(f"beam_search must return (tokens, score), got {out!r}")
    return [int(t) for t in out[0]], float(out[1])


def _score(logp, tokens, max_len):
    path = [-1] + tokens
    total = sum(logp[a, b] for a, b in zip(path, path[1:]))
    return total + (logp[path[-1], EOS] if len(tokens) < max_len else 0.0)


@prop("a beam wider than the number of sequences finds the best one (brute force)",
      "keep finished hypotheses aside, and compare whole scores (prefix + token)",
      logp=bigram_models(), max_len=st.integers(1, 3))
def exhaustive(student, ref, logp, max_len):
    v = logp.shape[1]
    best = max(_score(logp, list(seq), max_len) for n in range(max_len + 1)
               for seq in itertools.product(range(1, v), repeat=n))
    tokens, score = _run(student, logp, v ** max_len, max_len)
    close(score, best, "the returned score", max_len=max_len)
    close(_score(logp, tokens, max_len), best, f"the score of your tokens {tokens}",
          max_len=max_len)


@prop("width 1 is greedy decoding", "with width 1, keep only the single best extension",
      logp=bigram_models(), max_len=st.integers(1, 4))
def greedy(student, ref, logp, max_len):
    tokens, score = _run(student, logp, 1, max_len)
    want, want_score = ref.beam_search(_step(logp), EOS, 1, max_len)
    if tokens != want:
        raise Mismatch(f"with width 1 you returned {tokens}; greedy decoding gives {want}")
    close(score, want_score, "the returned score")


def _table_step(table):
    def step(prefix):
        with np.errstate(divide="ignore"):
            return np.log(table.get(prefix, [1.0, 0.0, 0.0]))
    return step


@prop("keeps the hypotheses with the best *whole* scores: after 1 (0.55) and 2 (0.45), the "
      "extensions 1 1 and 1 2 (0.55 · 0.45 each) beat 2 1 and 2 2 (0.45 · 0.5 each), though "
      "0.5 > 0.45 one step at a time", "rank by the whole score, prefix included",
      examples=1, width=st.just(2))
def whole_scores(student, ref, width):
    table = {(): [0.0, 0.55, 0.45], (1,): [0.1, 0.45, 0.45], (2,): [0.0, 0.5, 0.5]}
    tokens, score = student.beam_search(_table_step(table), EOS, width, 4)
    if list(tokens) not in ([1, 1], [1, 2]):
        raise Mismatch(f"with width 2 you returned {list(tokens)}, expected [1, 1] or [1, 2] "
                       f"(score log 0.2475 = {np.log(0.2475):.4f})")
    close(score, np.log(0.55 * 0.45), "the returned score")


@prop("finds the best sequence that greedy misses: first token 1 (0.6) then stop (0.35) "
      "scores 0.21, but token 2 (0.4) then stop (0.9) scores 0.36",
      "rank by the whole score and keep `width` live hypotheses", examples=3,
      width=st.integers(2, 3))
def greedy_is_wrong(student, ref, width):
    table = {(): [0.0, 0.6, 0.4], (1,): [0.35, 0.33, 0.32], (2,): [0.9, 0.05, 0.05]}
    tokens, score = student.beam_search(_table_step(table), EOS, width, 4)
    if list(tokens) != [2]:
        raise Mismatch(f"with width {width} you returned {list(tokens)}, expected [2] "
                       f"(score log 0.36 = {np.log(0.36):.4f})")
    close(score, np.log(0.36), "the returned score")
