"""Checker for crf_scaled_forward: the forward recursion in rescaled probabilities."""

import itertools

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, close, prop, st

TITLE = "CRF: the forward recursion in scaled probabilities (Rabiner's scaling)"
TOPIC = "CRF"
DIFFICULTY = 3
LESSON = "07_crf_word_segmentation"
FUNCTIONS = ["scaled_forward"]


@st.composite
def scores(draw, lo=-3.0, hi=3.0, t_min=1):
    """Emissions (T, K) in [lo, hi] and transitions (K, K) in [−3, 3]."""
    t, k = draw(st.integers(t_min, 4)), draw(st.integers(1, 3))
    return draw(arrays((t, k), lo, hi)), draw(arrays((k, k), -3.0, 3.0))


def path_scores(emissions, transitions):
    """Every tag path (one per row) and its score."""
    t, k = emissions.shape
    paths = np.array(list(itertools.product(range(k), repeat=t)))
    return paths, (emissions[np.arange(t), paths].sum(axis=1)
                   + transitions[paths[:, :-1], paths[:, 1:]].sum(axis=1))


def brute_log_z(emissions, transitions):
    _, totals = path_scores(emissions, transitions)
    m = totals.max()
    return m + np.log(np.sum(np.exp(totals - m)))


def brute_filter(emissions, transitions):
    """p(y_t = j | emissions up to t) for every t, by summing the paths of each prefix."""
    out = []
    for t in range(emissions.shape[0]):
        paths, totals = path_scores(emissions[:t + 1], transitions)
        w = np.exp(totals - totals.max())
        out.append(np.bincount(paths[:, -1], weights=w, minlength=emissions.shape[1]) / w.sum())
    return np.array(out)


@prop("log Z equals the brute-force log Σ exp(score) over all K^T paths",
      "log Z = Σ_t (m_t + log c_t): each step's shift m_t and the log of its normaliser c_t",
      case=scores())
def brute(student, ref, case):
    e, tr = case
    close(student.scaled_forward(e, tr)[0], brute_log_z(e, tr),
          "scaled_forward(emissions, transitions)[0]", emissions=e, transitions=tr)


@prop("each row of α̂ is the filtering distribution p(y_t = j | emissions[0 … t]) (sums to 1)",
      "normalise s_t by its sum c_t: α̂_t = s_t / c_t, and store it as row t",
      case=scores())
def filtering(student, ref, case):
    e, tr = case
    alpha = np.asarray(student.scaled_forward(e, tr)[1], dtype=float)
    if alpha.shape != e.shape:
        raise Mismatch(f"α̂ has shape {alpha.shape}, expected {e.shape} (one row per position)")
    close(alpha, brute_filter(e, tr), "scaled_forward(emissions, transitions)[1]",
          emissions=e, transitions=tr)


@prop("direction: transitions[i, j] scores tag i followed by tag j",
      "s_t[j] = Σ_i α̂_{t−1}[i] · exp(transitions[i, j]) · …: the sum runs over the first index",
      e=arrays((2, 2)), tr=arrays((2, 2)))
def direction(student, ref, e, tr):
    close(student.scaled_forward(e, tr)[0], brute_log_z(e, tr),
          "scaled_forward(emissions, transitions)[0]", emissions=e, transitions=tr)


@prop("stable for emissions up to ±1000: no overflow, no underflow",
      "exponentiate emissions[t] − max(emissions[t]), never the raw scores",
      case=scores(-1000.0, 1000.0))
def stable(student, ref, case):
    e, tr = case
    close(student.scaled_forward(e, tr)[0], brute_log_z(e, tr),
          "scaled_forward(emissions, transitions)[0]", emissions=e, transitions=tr)
