"""Checker for affine_coupling: Glow's coupling, its log-det against a brute-force Jacobian,
and its inverse."""

import numpy as np

from tinygen.exercises.check import Mismatch, close, prop, rngs, st

TITLE = "Glow's affine coupling: log-determinant and inverse"
TOPIC = "flows"
DIFFICULTY = 2
LESSON = "16_glow"
FUNCTIONS = ["affine_coupling", "affine_coupling_inverse"]

shapes = st.tuples(st.integers(1, 3), st.sampled_from([2, 4]), st.integers(1, 3),
                   st.integers(1, 3))


def make_net(rng, half: int):
    """A small fixed nonlinear 'network' of x_a: per-pixel channel mixing and tanh, so each
    output depends on all of x_a's channels at its pixel."""
    w1, w2 = rng.standard_normal((2, half, half))

    def net(xa):
        h = np.tanh(np.einsum("ij,bjhw->bihw", w1, xa))
        return np.einsum("ij,bjhw->bihw", w2, h), 2.0 * np.sin(h + xa)

    return net


def _draw(shape, rng):
    return rng.standard_normal(shape), make_net(rng, shape[1] // 2)


@prop("affine_coupling matches y_b = (x_b + shift)·sigmoid(raw + 2), y_a = x_a",
      "the scale is sigmoid(raw + 2), applied after the shift", shape=shapes, rng=rngs())
def forward(student, ref, shape, rng):
    x, net = _draw(shape, rng)
    y, _ = student.affine_coupling(x, net)
    close(y, ref.affine_coupling(x, net)[0], "affine_coupling(x, net)[0]", x=x)


@prop("logdet has one entry per image and equals log|det ∂y/∂x| of the brute-force Jacobian",
      "Σ log s over each image's x_b entries (not Σ raw, not summed over the batch)",
      shape=shapes, rng=rngs(), examples=10)
def logdet(student, ref, shape, rng):
    x, net = _draw(shape, rng)
    _, got = student.affine_coupling(x, net)
    got = np.asarray(got, dtype=np.float64)
    if got.shape != (shape[0],):
        raise Mismatch(f"the logdet has shape {got.shape} but should have shape "
                       f"({shape[0]},): one number per image")
    eps = 1e-6
    for b in range(shape[0]):
        xi = x[b:b + 1]
        d = xi.size
        jac = np.empty((d, d))
        for k in range(d):
            step = np.zeros(d)
            step[k] = eps
            up = student.affine_coupling(xi + step.reshape(xi.shape), net)[0].ravel()
            down = student.affine_coupling(xi - step.reshape(xi.shape), net)[0].ravel()
            jac[:, k] = (up - down) / (2 * eps)
        exact = np.linalg.slogdet(jac)[1]
        if not abs(got[b] - exact) < 1e-5 * max(1.0, abs(exact)):
            raise Mismatch(f"for image {b} of x (shape {shape}) the logdet is {got[b]:.6g} but "
                           f"log|det ∂y/∂x| of the finite-difference Jacobian is {exact:.6g}")


@prop("affine_coupling_inverse(affine_coupling(x)) = x",
      "undo the scale first, then the shift: x_b = y_b/s − shift", shape=shapes, rng=rngs())
def inverse(student, ref, shape, rng):
    x, net = _draw(shape, rng)
    y = ref.affine_coupling(x, net)[0]
    close(student.affine_coupling_inverse(y, net), x, "affine_coupling_inverse(y, net) "
          "(the inverse)", atol=1e-9, y=y)
