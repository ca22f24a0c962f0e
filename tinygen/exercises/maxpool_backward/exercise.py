"""Checker for maxpool_backward: route each window's gradient to its maximum."""

import numpy as np

from tinygen.exercises.check import arrays, close, prop, st

TITLE = "max-pool backward"
TOPIC = "convolution"
DIFFICULTY = 2
LESSON = "06_ocr_cnn"
FUNCTIONS = ["maxpool_backward"]


@st.composite
def distinct(draw):
    """Inputs without ties (a shuffled range), the pool size k and an upstream gradient."""
    k = draw(st.integers(1, 3))
    n, c, ho, wo = (draw(st.integers(1, 2)) for _ in range(4))
    shape = (n, c, ho * k, wo * k)
    order = draw(st.permutations(range(int(np.prod(shape)))))
    return np.array(order, dtype=float).reshape(shape), draw(arrays((n, c, ho, wo))), k


@prop("each window's gradient goes to its maximum only, the rest get 0",
      "max is not mean: the whole of g[i, j] goes to the one input that was the max",
      data=distinct())
def routes(student, ref, data):
    x, g, k = data
    close(student.maxpool_backward(x, g, k), ref.maxpool_backward(x, g, k),
          f"maxpool_backward(x, g, k={k})", x=x, g=g)


@prop("ties: the first maximum in the window (row by row) gets it all, as np.argmax "
      "picks it", "x == max marks every tied maximum; take np.argmax of each window instead",
      g=arrays((1, 1, 1, 2)), k=st.integers(2, 3))
def ties(student, ref, g, k):
    x = np.zeros((1, 1, k, 2 * k))
    close(student.maxpool_backward(x, g, k), ref.maxpool_backward(x, g, k),
          f"maxpool_backward(x, g, k={k})", x=x, g=g)
