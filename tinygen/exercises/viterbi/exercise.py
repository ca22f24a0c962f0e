"""Checker for viterbi: the best tag path, against brute force (ties allowed)."""

import itertools

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, close, prop, show, st

TITLE = "CRF: Viterbi decoding"
TOPIC = "CRF"
DIFFICULTY = 2
LESSON = "08_crf_ner"
FUNCTIONS = ["viterbi"]


@st.composite
def scores(draw):
    t, k = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    return draw(arrays((t, k), -3, 3)), draw(arrays((k, k), -3, 3))


def path_score(emissions, transitions, path):
    return (emissions[np.arange(len(path)), path].sum()
            + sum(transitions[path[i - 1], path[i]] for i in range(1, len(path))))


def _decode(student, e, tr):
    out = student.viterbi(e, tr)
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise Mismatch(f"viterbi must return (path, score), got {show(out)}")
    path = [int(p) for p in np.asarray(out[0]).ravel()]
    t, k = e.shape
    if len(path) != t or not all(0 <= p < k for p in path):
        raise Mismatch(f"for\n  emissions = {show(e)}\n  transitions = {show(tr)}\nthe path "
                       f"{path} should have T = {t} tags, each in 0 … {k - 1}")
    return path, float(out[1])


@prop("the score is the best path's score (brute force over all K^T paths)",
      "δ_t[j] = max_i(δ_{t−1}[i] + transitions[i, j]) + emissions[t, j]: a max, not a "
      "logsumexp", case=scores())
def best_score(student, ref, case):
    e, tr = case
    _, score = _decode(student, e, tr)
    best = max(path_score(e, tr, list(p))
               for p in itertools.product(range(e.shape[1]), repeat=e.shape[0]))
    close(score, best, "the returned score", emissions=e, transitions=tr)


@prop("the returned path really has the returned (best) score: the backtrack follows the "
      "back-pointers", "start from argmax δ_{T−1} and step back with the stored argmaxes",
      case=scores())
def path_matches(student, ref, case):
    e, tr = case
    path, _ = _decode(student, e, tr)
    _, best = ref.viterbi(e, tr)
    close(path_score(e, tr, path), best, f"the score of your path {path}",
          emissions=e, transitions=tr)
