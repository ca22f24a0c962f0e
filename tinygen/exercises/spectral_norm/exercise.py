"""Checker for spectral_norm: the largest singular value by power iteration."""

import numpy as np

from tinygen.exercises.check import arrays, close, prop, st

TITLE = "Spectral norm by power iteration"
TOPIC = "GANs"
DIFFICULTY = 2
LESSON = "13_rsgan"
FUNCTIONS = ["spectral_norm"]


@st.composite
def matrix(draw):
    """W = U diag(s) Vᵀ with s₁ = 2·s₂ (a clear gap, so 60 iterations converge)."""
    m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    u, _ = np.linalg.qr(draw(arrays((m, m), -1, 1)) + 3 * np.eye(m))
    v, _ = np.linalg.qr(draw(arrays((n, n), -1, 1)) + 3 * np.eye(n))
    r = min(m, n)
    s = np.array([2.0] + [1.0] * (r - 1)) * draw(st.floats(0.1, 10.0))
    w = u[:, :r] @ np.diag(s) @ v[:, :r].T
    return w, np.abs(draw(arrays((m,), 0.1, 1.0))) + 0.1


@prop("converges: after 60 iterations σ is the largest singular value of W",
      "alternate v = Wᵀu/‖Wᵀu‖ and u = Wv/‖Wv‖; σ = uᵀWv", data=matrix())
def converges(student, ref, data):
    w, u0 = data
    close(student.spectral_norm(w, u0, 60), np.linalg.norm(w, 2), "spectral_norm(W, u0, 60)",
          rtol=1e-4, W=w, u0=u0)


@prop("the same iterates as the reference: 1 to 3 iterations from u0",
      "normalise u and v after every product (and W is not square in general: use Wᵀ for v)",
      data=matrix(), n_iter=st.integers(1, 3))
def iterates(student, ref, data, n_iter):
    w, u0 = data
    close(student.spectral_norm(w, u0, n_iter), ref.spectral_norm(w, u0, n_iter),
          f"spectral_norm(W, u0, {n_iter})", W=w, u0=u0)
