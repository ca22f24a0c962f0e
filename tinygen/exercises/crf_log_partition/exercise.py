"""Checker for crf_log_partition: the forward recursion, against brute force."""

import itertools

import numpy as np

from tinygen.exercises.check import arrays, close, floats, prop, st

TITLE = "CRF: the forward recursion for log Z"
TOPIC = "CRF"
DIFFICULTY = 2
LESSON = "07_crf_word_segmentation"
FUNCTIONS = ["crf_log_partition"]


@st.composite
def scores(draw, lo=-3.0, hi=3.0, t_min=1):
    t, k = draw(st.integers(t_min, 4)), draw(st.integers(1, 3))
    return draw(arrays((t, k), lo, hi)), draw(arrays((k, k), lo, hi))


def brute_force(emissions, transitions):
    """log Σ exp(score) over every path, listed one per row."""
    t, k = emissions.shape
    paths = np.array(list(itertools.product(range(k), repeat=t)))
    totals = (emissions[np.arange(t), paths].sum(axis=1)
              + transitions[paths[:, :-1], paths[:, 1:]].sum(axis=1))
    m = totals.max()
    return m + np.log(np.sum(np.exp(totals - m)))


@prop("log Z = log Σ over all K^T tag paths of exp(score(path)) (brute force on small T, K)",
      "α_0 = emissions[0]; α_t[j] = logsumexp_i(α_{t−1}[i] + transitions[i, j]) + "
      "emissions[t, j] for t = 1 … T−1; log Z = logsumexp(α_{T−1})", case=scores())
def brute(student, ref, case):
    e, tr = case
    close(student.crf_log_partition(e, tr), brute_force(e, tr),
          "crf_log_partition(emissions, transitions)", emissions=e, transitions=tr)


@prop("the last position counts: adding c to emissions[T−1] adds c to log Z",
      "the recursion must run up to and including t = T−1", case=scores(t_min=2),
      c=floats(0.5, 3.0))
def last_step(student, ref, case, c):
    e, tr = case
    shifted = e.copy()
    shifted[-1] += c
    close(student.crf_log_partition(shifted, tr) - student.crf_log_partition(e, tr), c,
          "log Z(emissions with c added at the last position) − log Z(emissions)",
          emissions=e, transitions=tr, c=c)


@prop("direction: transitions[i, j] scores tag i followed by tag j",
      "in α_t[j] the sum runs over the previous tag i of transitions[i, j], not [j, i]",
      e=arrays((2, 2)), tr=arrays((2, 2)))
def direction(student, ref, e, tr):
    close(student.crf_log_partition(e, tr), brute_force(e, tr),
          "crf_log_partition(emissions, transitions)", emissions=e, transitions=tr)


@prop("stable for scores up to ±1000", "combine the α's with logsumexp, never exp then log",
      case=scores(-1000.0, 1000.0))
def stable(student, ref, case):
    e, tr = case
    close(student.crf_log_partition(e, tr), brute_force(e, tr),
          "crf_log_partition(emissions, transitions)", emissions=e, transitions=tr)
