"""Checker for cumax: the soft step in both directions and ON-LSTM's memory update."""

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, close, prop, st

TITLE = "ON-LSTM: cumax and the ordered memory update"
TOPIC = "sequence models"
DIFFICULTY = 2
LESSON = "35_on_lstm"
FUNCTIONS = ["cumax", "onlstm_memory"]


@st.composite
def memories(draw):
    b, levels, chunk = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    h = levels * chunk
    c, c_hat = draw(arrays((b, h), -2, 2)), draw(arrays((b, h), -1, 1))
    f, i = draw(arrays((b, h), 0, 1)), draw(arrays((b, h), 0, 1))
    mf, mi = draw(arrays((b, levels), -4, 4)), draw(arrays((b, levels), -4, 4))
    return c, c_hat, f, i, mf, mi


@prop("cumax rises to 1 and cumax(reverse=True) falls from 1, both equal to the reference",
      "softmax, then a running sum; reverse: the running sum from the right, so it falls "
      "from 1", x=arrays(st.tuples(st.integers(1, 3), st.integers(1, 6)), -5, 5))
def soft_steps(student, ref, x):
    for reverse in (False, True):
        got = np.asarray(student.cumax(x.copy(), reverse=reverse), dtype=float)
        close(got, ref.cumax(x, reverse=reverse), f"cumax(x, reverse={reverse})", x=x)
    if not np.allclose(np.asarray(student.cumax(x.copy(), reverse=True))[..., 0], 1.0):
        raise Mismatch("cumax(x, reverse=True) must start at 1 (it falls from 1)")


@prop("onlstm_memory equals the reference on random inputs",
      "the master gates are (B, L): repeat each level over its C neurons with np.repeat, then "
      "form the overlap ω = f̃ ⊙ ĩ", case=memories())
def update(student, ref, case):
    got = student.onlstm_memory(*[a.copy() for a in case])
    close(got, ref.onlstm_memory(*case), "onlstm_memory(c, c_hat, f, i, mf, mi)",
          c=case[0], mf=case[4], mi=case[5])


@prop("wide-open master gates (f̃ = ĩ = 1 on every level, so ω = 1) give the LSTM update "
      "f ⊙ c + i ⊙ ĉ", "where f̃ = ĩ = 1 only the overlap ω counts", case=memories())
def lstm_limit(student, ref, case):
    c, c_hat, f, i, mf, mi = case
    levels = mf.shape[1]
    mf = np.full_like(mf, -200.0)
    mf[:, 0] = 200.0          # all the softmax at level 0: f̃ = 1 everywhere
    mi = np.full_like(mi, -200.0)
    mi[:, levels - 1] = 200.0  # all at the last level: ĩ (from the right) = 1 everywhere
    got = student.onlstm_memory(c, c_hat, f, i, mf, mi)
    close(got, f * c + i * c_hat, "onlstm_memory with f̃ = ĩ = 1", c=c, f=f, i=i)
