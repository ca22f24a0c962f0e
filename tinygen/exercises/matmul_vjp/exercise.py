"""Checker for matmul_vjp: the backward rule of batched, broadcasting matmul."""

import numpy as np

from tinygen.exercises.check import arrays, close, prop, st

TITLE = "The VJP of matmul with broadcasting batch axes"
TOPIC = "backward rules"
DIFFICULTY = 2
LESSON = "01_autodiff"
FUNCTIONS = ["matmul_vjp"]

dims = st.integers(1, 3)


def _compare(student, ref, a, b):
    g = np.cos(np.arange(np.matmul(a, b).size)).reshape(np.matmul(a, b).shape)
    got, want = student.matmul_vjp(a, b, g), ref.matmul_vjp(a, b, g)
    if not (isinstance(got, tuple | list) and len(got) == 2):
        close(None, want[0], "matmul_vjp(a, b, g) must return a pair (ga, gb):", a=a, b=b)
    close(got[0], want[0], "ga", a=a, b=b, g=g)
    close(got[1], want[1], "gb", a=a, b=b, g=g)


@prop("plain matrices: ga = g·bᵀ, gb = aᵀ·g",
      "for C = AB: dA = dC·Bᵀ and dB = Aᵀ·dC", n=dims, k=dims, m=dims, data=st.data())
def plain(student, ref, n, k, m, data):
    _compare(student, ref, data.draw(arrays((n, k))), data.draw(arrays((k, m))))


@prop("batched (3-D) inputs: a (B, n, k), b (B, k, m)",
      "on a 3-D array .T reverses all three axes; transpose the last two only: "
      "np.swapaxes(b, -1, -2)", batch=st.integers(2, 3), n=dims, k=dims, m=dims,
      data=st.data())
def batched(student, ref, batch, n, k, m, data):
    _compare(student, ref, data.draw(arrays((batch, n, k))), data.draw(arrays((batch, k, m))))


@prop("broadcast batch axes: b (k, m) or (1, k, m) shared by a batch of a, and vice versa",
      "an input used by every batch element gets the sum of their gradients: sum over the "
      "batch axes it was broadcast along (unbroadcast)", batch=st.integers(2, 3), n=dims,
      k=dims, m=dims, which=st.sampled_from(["b 2-D", "b size-1 batch", "a 2-D"]),
      data=st.data())
def broadcast(student, ref, batch, n, k, m, which, data):
    a_shape = (n, k) if which == "a 2-D" else (batch, n, k)
    b_shape = {"b 2-D": (k, m), "b size-1 batch": (1, k, m), "a 2-D": (batch, k, m)}[which]
    _compare(student, ref, data.draw(arrays(a_shape)), data.draw(arrays(b_shape)))
