"""Checker for adam_step: one Adam update with bias correction."""

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, close, floats, prop, st

TITLE = "One Adam step"
TOPIC = "training"
DIFFICULTY = 1
LESSON = "02_keras_tricks"
FUNCTIONS = ["adam_step"]


def _step(module, p, g, m, v, t, lr=1e-3):
    out = module.adam_step(p, g, m, v, t, lr)
    if not (isinstance(out, tuple | list) and len(out) == 3):
        raise Mismatch("adam_step must return (param, m, v)")
    return out


@prop("matches the reference: m, v, then param − lr·m̂/(√v̂ + eps)", "",
      p=arrays((3,)), g=arrays((3,)), m=arrays((3,)), v=arrays((3,), 0.0, 5.0),
      t=st.integers(1, 50), lr=floats(1e-4, 0.1))
def general(student, ref, p, g, m, v, t, lr):
    got, want = _step(student, p, g, m, v, t, lr), ref.adam_step(p, g, m, v, t, lr)
    for name, a, b in zip(("param", "m", "v"), got, want):
        close(a, b, name, param=p, grad=g, m=m, v=v, t=t, lr=lr)


@prop("the first step (t = 1, m = v = 0) moves each parameter by about lr·sign(g)",
      "without bias correction m and v start near 0: divide by 1 − β₁ᵗ and 1 − β₂ᵗ, with t "
      "counting from 1", p=arrays((3,)), g=arrays((3,), 0.01, 5.0))
def first_step(student, ref, p, g):
    g = g * np.array([1.0, -1.0, 1.0])
    new_p = _step(student, p, g, np.zeros(3), np.zeros(3), 1)[0]
    close(new_p, p - 1e-3 * np.sign(g), "param after the first step", rtol=1e-4, atol=1e-7,
          param=p, grad=g)


@prop("invariant to scaling the gradient: g and 100·g give the same step (for m = v = 0)",
      "the step divides m̂ by √v̂ (a square root), so the gradient's scale cancels",
      p=arrays((3,)), g=arrays((3,), 0.01, 5.0), t=st.integers(1, 5))
def scaling(student, ref, p, g, t):
    zero = np.zeros(3)
    one = _step(student, p, g, zero, zero, t)[0]
    hundred = _step(student, p, 100.0 * g, zero, zero, t)[0]
    close(hundred - p, one - p, "the step with 100·g", rtol=1e-4, atol=1e-7, param=p, grad=g,
          t=t)
