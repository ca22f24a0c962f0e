"""Checker for sgns_gradient: the skip-gram negative-sampling loss of one example and its
gradients."""

import numpy as np

from tinygen.exercises.check import arrays, close, prop, st

TITLE = "The skip-gram negative-sampling gradient"
TOPIC = "backward rules"
DIFFICULTY = 2
LESSON = "31_word2vec"
FUNCTIONS = ["sgns_gradient"]


@st.composite
def example(draw, lo=-2.0, hi=2.0):
    d, k = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return draw(arrays((d,), lo, hi)), draw(arrays((d,), lo, hi)), draw(arrays((k, d), lo, hi))


def _four(student, v, u_t, u_n):
    out = student.sgns_gradient(v, u_t, u_n)
    if not (isinstance(out, tuple | list) and len(out) == 4):
        close(None, 0.0, "sgns_gradient must return (loss, grad_v, grad_target, "
              "grad_negatives);", v=v, u_target=u_t, u_negatives=u_n)
    return out


@prop("loss = −log σ(u_t·v) − Σ_n log σ(−u_n·v)",
      "the negatives enter with σ(−u_n·v): the model must score them low", case=example())
def loss(student, ref, case):
    close(_four(student, *case)[0], ref.sgns_gradient(*case)[0], "loss",
          v=case[0], u_target=case[1], u_negatives=case[2])


@prop("gradients: ∂/∂v = (σ(z_t) − 1)·u_t + Σ_n σ(z_n)·u_n, ∂/∂u_t = (σ(z_t) − 1)·v, "
      "∂/∂u_n = σ(z_n)·v",
      "the gradient with respect to v sums over the target and every negative",
      case=example())
def gradients(student, ref, case):
    got, want = _four(student, *case), ref.sgns_gradient(*case)
    for i, name in enumerate(("grad_v", "grad_target", "grad_negatives"), start=1):
        close(got[i], want[i], name, v=case[0], u_target=case[1], u_negatives=case[2])


@prop("a negative is pushed away: −grad_negatives[n] · v < 0 (a step lowers u_n·v)",
      "negatives have label 0: their gradient is σ(z_n)·v, not (σ(z_n) − 1)·v",
      case=example(0.2, 2.0))
def push_away(student, ref, case):
    v, _, _ = case
    grad_n = np.asarray(_four(student, *case)[3])
    if not ((grad_n @ v) > 0).all():
        close(grad_n, ref.sgns_gradient(*case)[3], "grad_negatives (direction)",
              v=v, u_target=case[1], u_negatives=case[2])


@prop("stable for dot products up to ±400 (no overflow in exp)",
      "write −log σ(z) as logaddexp(0, −z)", case=example(-20.0, 20.0))
def stable(student, ref, case):
    got, want = _four(student, *case), ref.sgns_gradient(*case)
    close(got[0], want[0], "loss", rtol=1e-9, v=case[0], u_target=case[1],
          u_negatives=case[2])
    close(got[1], want[1], "grad_v", v=case[0], u_target=case[1], u_negatives=case[2])
