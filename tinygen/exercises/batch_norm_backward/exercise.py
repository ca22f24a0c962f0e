"""Checker for batch_norm_backward: the three gradients of training-mode batch norm."""

import numpy as np

from tinygen.exercises.check import arrays, close, prop, st

TITLE = "The backward pass of batch normalisation"
TOPIC = "backward rules"
DIFFICULTY = 3
LESSON = "21_dcgan_cgan"
FUNCTIONS = ["batch_norm_backward"]

EPS = 1e-5


def _compare(student, ref, x, gamma, g):
    got, want = student.batch_norm_backward(x, gamma, g, EPS), ref.batch_norm_backward(
        x, gamma, g, EPS)
    if not (isinstance(got, tuple | list) and len(got) == 3):
        close(None, want[0], "batch_norm_backward(x, gamma, g, eps) must return a triple "
              "(dx, dgamma, dbeta):", x=x, gamma=gamma, g=g)
    for name, a, b in zip(("dx", "dgamma", "dbeta"), got, want, strict=True):
        close(a, b, name, x=x, gamma=gamma, g=g)


@st.composite
def problems(draw, n_min=2):
    n, c = draw(st.integers(n_min, 5)), draw(st.integers(1, 3))
    x = draw(arrays((n, c)))
    x = x + np.linspace(0.0, 1.0, n)[:, None]  # never a constant column
    return x, draw(arrays((c,))), draw(arrays((n, c)))


@prop("dβ and dγ: sums over the batch of g and of g·x̂",
      "dβ = Σ_b g and dγ = Σ_b g·x̂ (x̂ the normalised input, not x): the batch is summed, "
      "not averaged", data=problems())
def affine(student, ref, data):
    _compare(student, ref, *data)


@prop("dx when g is the same for every sample: 0 (shifting x does not move x̂)",
      "the mean term: x̂ does not change when every x[:, c] moves together, so dx must "
      "subtract the batch mean of ĝ = γ·g", data=problems())
def constant_upstream(student, ref, data):
    x, gamma, g = data
    _compare(student, ref, x, gamma, np.ones_like(g) * g[:1])


@prop("dx when g is proportional to x̂: 0 (scaling x does not move x̂)",
      "the variance term: μ and σ depend on x too; subtract x̂ · mean(ĝ·x̂) as well",
      data=problems())
def scaled_upstream(student, ref, data):
    x, gamma, _ = data
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + EPS)
    _compare(student, ref, x, gamma, 2.0 * xhat)


@prop("any upstream gradient (the full rule)", "dx = γ·r·(g − mean(g) − x̂·mean(g·x̂)) with "
      "r = 1/√(σ² + eps), the means over the batch", data=problems(n_min=2))
def general(student, ref, data):
    _compare(student, ref, *data)
