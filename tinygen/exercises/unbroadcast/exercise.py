"""Checker for unbroadcast: summing a gradient back to an input's shape."""

import numpy as np

from tinygen.exercises.check import arrays, close, prop, st

TITLE = "Unbroadcast: sum a gradient back to the input's shape"
TOPIC = "backward rules"
DIFFICULTY = 1
LESSON = "01_autodiff"
FUNCTIONS = ["unbroadcast"]


@st.composite
def broadcast_case(draw):
    """An input shape and a gradient of a shape it broadcasts to."""
    shape = tuple(draw(st.lists(st.integers(1, 3), max_size=3)))
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    big = lead + tuple(draw(st.integers(1, 3)) if d == 1 else d for d in shape)
    return shape, draw(arrays(big))


@prop("leading axes the input did not have are summed away",
      "x of shape (3,) used with y of shape (2, 3): x's gradient is g.sum(axis=0)",
      lead=st.integers(1, 3), g=arrays((3, 2)))
def leading(student, ref, lead, g):
    g = np.broadcast_to(g, (lead, 3, 2)) * np.arange(1, lead + 1)[:, None, None]
    close(student.unbroadcast(g, (3, 2)), g.sum(axis=0), "unbroadcast(g, shape)",
          g=g, shape=(3, 2))


@prop("axes where the input had size 1 are summed, keeping the axis (size 1)",
      "an axis of size 1 stretched to n: sum over it with keepdims=True",
      g=arrays((2, 3)))
def size_one(student, ref, g):
    close(student.unbroadcast(g, (2, 1)), g.sum(axis=1, keepdims=True),
          "unbroadcast(g, shape)", g=g, shape=(2, 1))


@prop("matches the reference for any shape and any broadcast of it",
      "first sum the extra leading axes, then the size-1 axes (keepdims)",
      case=broadcast_case())
def general(student, ref, case):
    shape, g = case
    close(student.unbroadcast(g, shape), ref.unbroadcast(g, shape), "unbroadcast(g, shape)",
          g=g, shape=shape)
