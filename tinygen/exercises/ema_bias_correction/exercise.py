"""Checker for ema_bias_correction: an exponential moving average that starts unbiased."""

import numpy as np

from tinygen.exercises.check import arrays, close, floats, prop, st

TITLE = "EMA with bias correction"
TOPIC = "training"
DIFFICULTY = 1
LESSON = "02_keras_tricks"
FUNCTIONS = ["ema"]


@prop("a constant sequence averages to that constant from the very first step",
      "m starts at 0, so divide by 1 − decayᵗ (t counting from 1): the weights then sum to 1",
      c=floats(-5, 5), n=st.integers(1, 6), decay=floats(0.5, 0.99))
def constant(student, ref, c, n, decay):
    xs = np.full(n, c)
    close(student.ema(xs, decay), xs, "ema(xs, decay)", xs=xs, decay=decay)


@prop("m_t = decay·m_{t−1} + (1 − decay)·x_t, output m_t / (1 − decayᵗ)",
      "the old average is multiplied by decay, the new value by 1 − decay",
      xs=arrays(st.tuples(st.integers(1, 6), st.integers(1, 2))), decay=floats(0.5, 0.99))
def general(student, ref, xs, decay):
    close(student.ema(xs, decay), ref.ema(xs, decay), "ema(xs, decay)", xs=xs, decay=decay)
