"""Checker for conv2d_im2col: convolution as one matrix product."""

import numpy as np

from tinygen.exercises.check import arrays, close, prop, st

TITLE = "conv2d forward by im2col"
TOPIC = "convolution"
DIFFICULTY = 2
LESSON = "06_ocr_cnn"
FUNCTIONS = ["conv2d"]


@st.composite
def case(draw, stride=None):
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = kh + draw(st.integers(0, 3)), kw + draw(st.integers(0, 3))
    s = stride or draw(st.integers(1, 2))
    return draw(arrays((n, c, h, w))), draw(arrays((o, c, kh, kw))), s


@prop("output shape is (N, O, (H − kh)//stride + 1, (W − kw)//stride + 1)",
      "a kernel of height kh fits H − kh + 1 times at stride 1 (count the positions)",
      data=case())
def shape(student, ref, data):
    x, w, s = data
    got = np.asarray(student.conv2d(x, w, s))
    want = ref.conv2d(x, w, s)
    if got.shape != want.shape:
        close(got, want, f"conv2d(x, w, stride={s})", x_shape=x.shape, w_shape=w.shape)


@prop("cross-correlation: a kernel with a single 1 in its top-left corner copies "
      "x[..., i, j] to output (i, j)",
      "deep-learning 'convolution' does not flip the kernel: out[i, j] = Σ x[i + a, j + b]·"
      "w[a, b]", x=arrays((1, 1, 4, 4)), kh=st.integers(2, 3))
def no_flip(student, ref, x, kh):
    w = np.zeros((1, 1, kh, kh))
    w[0, 0, 0, 0] = 1.0
    close(student.conv2d(x, w, 1), x[:, :, :5 - kh, :5 - kh], "conv2d(x, w, 1)", x=x, w=w)


@prop("matches the reference (stride 1 and 2, several channels)", "", data=case())
def general(student, ref, data):
    x, w, s = data
    close(student.conv2d(x, w, s), ref.conv2d(x, w, s), f"conv2d(x, w, stride={s})",
          x=x, w=w)
