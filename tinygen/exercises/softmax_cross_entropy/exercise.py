"""Checker for softmax_cross_entropy: the mean loss and its gradient."""

import numpy as np

from tinygen.exercises.check import arrays, close, prop, st


TITLE = "Softmax cross-entropy and its gradient"
TOPIC = "backward rules"
DIFFICULTY = 2
LESSON = "06_ocr_cnn"
FUNCTIONS = ["softmax_cross_entropy"]


@st.composite
def batch(draw, lo=-5.0, hi=5.0):
    n, k = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    labels = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    return draw(arrays((n, k), lo, hi)), labels


def _pair(student, logits, labels):
    out = student.softmax_cross_entropy(logits, labels)
    if not (isinstance(out, tuple | list) and len(out) == 2):
        close(None, 0.0, "softmax_cross_entropy must return (loss, grad);",
              logits=logits, labels=labels)
    return out


@prop("loss = mean over rows of logsumexp(row) − row[label]", "", case=batch())
def loss(student, ref, case):
    logits, labels = case
    close(_pair(student, logits, labels)[0], ref.softmax_cross_entropy(logits, labels)[0],
          "loss", logits=logits, labels=labels)


@prop("gradient = (softmax(logits) − one_hot(labels)) / N", "", case=batch())
def gradient(student, ref, case):
    logits, labels = case
    close(_pair(student, logits, labels)[1], ref.softmax_cross_entropy(logits, labels)[1],
          "grad", logits=logits, labels=labels)


@prop("the gradient at the label is negative (a step against it raises the right logit)",
      "it is softmax − one_hot, not one_hot − softmax", case=batch())
def direction(student, ref, case):
    logits, labels = case
    grad = np.asarray(_pair(student, logits, labels)[1])
    at_label = grad[np.arange(len(labels)), labels]
    if not (at_label < 0).all():
        close(grad, ref.softmax_cross_entropy(logits, labels)[1], "grad (sign)",
              logits=logits, labels=labels)


@prop("N copies of one row: each row's gradient is 1/N of the single row's",
      "the loss is a mean over the N rows, so its gradient carries a factor 1/N",
      row=arrays((1, 3)), label=st.integers(0, 2), n=st.integers(2, 4))
def one_over_n(student, ref, row, label, n):
    one = np.asarray(_pair(student, row, np.array([label]))[1])
    many = np.asarray(_pair(student, np.repeat(row, n, 0), np.full(n, label))[1])
    close(many, np.repeat(one, n, 0) / n, f"grad of {n} copies", row=row, label=label)


@prop("stable for logits up to ±1000", "subtract each row's maximum before exp",
      case=batch(-1000.0, 1000.0))
def stable(student, ref, case):
    logits, labels = case
    got, want = _pair(student, logits, labels), ref.softmax_cross_entropy(logits, labels)
    close(got[0], want[0], "loss", rtol=1e-9, logits=logits, labels=labels)
    close(got[1], want[1], "grad", logits=logits, labels=labels)
