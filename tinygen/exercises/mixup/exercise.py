"""Checker for mixup: mixing a batch with a shuffled copy of itself."""

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, close, floats, prop, st

TITLE = "Mixup of a batch"
TOPIC = "training"
DIFFICULTY = 1
LESSON = "03_mixup"
FUNCTIONS = ["mixup"]


@st.composite
def batch(draw):
    n, d, k = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(2, 3))
    labels = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    perm = np.array(draw(st.permutations(range(n))))
    return draw(arrays((n, d))), np.eye(k)[labels], perm


def _mix(module, x, y, lam, perm):
    out = module.mixup(x, y, lam, perm)
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise Mismatch("mixup must return (x_mixed, y_mixed)")
    return out


@prop("λ = 1 returns the batch unchanged (λ weighs the original, 1 − λ the shuffled copy)",
      "x_mixed = λ·x + (1 − λ)·x[perm]: λ goes with the original rows", case=batch())
def identity(student, ref, case):
    x, y, perm = case
    xm, ym = _mix(student, x, y, 1.0, perm)
    close(xm, x, "x_mixed", x=x, perm=perm, lam=1.0)
    close(ym, y, "y_mixed", y=y, perm=perm, lam=1.0)


@prop("the labels are mixed exactly like the inputs (same λ, same perm)",
      "mixup trains on soft labels: y_mixed = λ·y + (1 − λ)·y[perm]", case=batch(),
      lam=floats(0.0, 1.0))
def labels(student, ref, case, lam):
    x, y, perm = case
    close(_mix(student, x, y, lam, perm)[1], ref.mixup(x, y, lam, perm)[1], "y_mixed", y=y,
          perm=perm, lam=lam)


@prop("inputs: x_mixed = λ·x + (1 − λ)·x[perm]", "", case=batch(), lam=floats(0.0, 1.0))
def inputs(student, ref, case, lam):
    x, y, perm = case
    close(_mix(student, x, y, lam, perm)[0], ref.mixup(x, y, lam, perm)[0], "x_mixed", x=x,
          perm=perm, lam=lam)
