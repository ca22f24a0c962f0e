"""Checker for logsumexp: a stable value and its gradient."""

from tinygen.exercises.check import arrays, close, prop, st

TITLE = "A numerically stable logsumexp and its gradient"
TOPIC = "backward rules"
DIFFICULTY = 1
LESSON = "05_function_smoothing"
FUNCTIONS = ["logsumexp", "logsumexp_grad"]

shapes = st.tuples(st.integers(1, 3), st.integers(1, 4))


@prop("logsumexp(x) = log Σ exp(x) over the last axis", "", shape=shapes, data=st.data())
def value(student, ref, shape, data):
    x = data.draw(arrays(shape))
    close(student.logsumexp(x), ref.logsumexp(x), "logsumexp(x)", x=x)


@prop("logsumexp_grad(x, g) = g · softmax(x): the weights of the soft maximum",
      "d/dx_i log Σ_j exp(x_j) = exp(x_i) / Σ_j exp(x_j): normalise by the sum",
      shape=shapes, data=st.data())
def gradient(student, ref, shape, data):
    x, g = data.draw(arrays(shape)), data.draw(arrays(shape[:-1]))
    close(student.logsumexp_grad(x, g), ref.logsumexp_grad(x, g), "logsumexp_grad(x, g)",
          x=x, g=g)


@prop("stable for entries up to ±1000 (no overflow, no log 0)",
      "subtract the maximum first: log Σ exp(x) = m + log Σ exp(x − m), m = max x",
      shape=shapes, data=st.data())
def stable(student, ref, shape, data):
    x, g = data.draw(arrays(shape, -1000, 1000)), data.draw(arrays(shape[:-1]))
    close(student.logsumexp(x), ref.logsumexp(x), "logsumexp(x)", x=x)
    close(student.logsumexp_grad(x, g), ref.logsumexp_grad(x, g), "logsumexp_grad(x, g)",
          x=x, g=g)
