"""The Numba CPU conv kernels on raw arrays, against plain NumPy references.

Geometries are drawn freely, including output sizes that do not follow from symmetric
padding (the kernels take explicit sizes; reads past the input are zeros), in float32 and
float64, with non-contiguous inputs and with chunk sizes that split a batch unevenly.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.kernels import reference as ref
from tinygen.kernels.cpu import conv as K

DTYPES = hnp.floating_dtypes(sizes=(32, 64), endianness="=")


@st.composite
def geometries(draw):
    """(x shape, w shape, geometry) with any output size >= 1."""
    groups = draw(st.integers(1, 3))
    cg, og, n = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    out = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    geo = ref.geometry(s, p, d, groups, size, out, k)
    return (n, cg * groups) + size, (og * groups, cg) + k, geo


def _arrays(seed, dtype, *shapes, strided=False):
    rng = np.random.default_rng(seed)
    out = []
    for shape in shapes:
        a = rng.standard_normal(shape[:-1] + (2 * shape[-1],)).astype(dtype)
        out.append(a[..., ::2] if strided else np.ascontiguousarray(a[..., ::2]))
    return out


def _tol(dtype) -> dict:
    return dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)


@settings(deadline=None)
@given(case=geometries(), dtype=DTYPES, strided=st.booleans(),
       chunk=st.sampled_from([1, 300, K.CHUNK_BYTES]),
       per_image=st.sampled_from([1, K.PER_IMAGE_COLUMNS]), direct=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_kernels_match_numpy_reference(case, dtype, strided, chunk, per_image, direct, seed):
    """Both product layouts: one GEMM over a chunk's images, and (per_image = 1, as for large
    images) one GEMM per image; and, with ``direct``, the direct kernels wherever the stride
    is 1 (up to three output channels per group here, any number of rows)."""
    x_shape, w_shape, geo = case
    stride, padding, dilation, groups, in_hw, out_hw, kernel_hw = geo
    y_shape = (x_shape[0], w_shape[0]) + out_hw
    x, w, g = _arrays(seed, dtype, x_shape, w_shape, y_shape, strided=strided)
    x0 = x.copy()
    with mock.patch.object(K, "CHUNK_BYTES", chunk), \
            mock.patch.object(K, "PER_IMAGE_COLUMNS", per_image), \
            mock.patch.object(K, "DIRECT_MAX_OUT", 3 if direct else 0), \
            mock.patch.object(K, "DIRECT_MIN_ROWS", 1):
        y = K.conv2d_forward(x, w, stride, padding, dilation, groups, out_hw)
        dx = K.conv2d_input_grad(g, w, stride, padding, dilation, groups, in_hw)
        dw = K.conv2d_weight_grad(x, g, stride, padding, dilation, groups, kernel_hw)
    for got, want in ((y, ref.forward(x, w, geo)), (dx, ref.input_grad(g, w, geo)),
                      (dw, ref.weight_grad(x, g, geo))):
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **_tol(dtype))
    np.testing.assert_array_equal(x, x0)


@settings(deadline=None, max_examples=10)
@given(n=st.integers(1, 3), c=st.integers(1, 4), o=st.integers(1, 4),
       groups=st.sampled_from([1, 2]), dtype=DTYPES, seed=st.integers(0, 2**32 - 1))
def test_pointwise_fast_path(n, c, o, groups, dtype, seed):
    """A 1×1 kernel with stride 1 and no padding skips im2col: the input is the columns."""
    c, o = c * groups, o * groups
    geo = ref.geometry((1, 1), (0, 0), (1, 1), groups, (3, 4), (3, 4), (1, 1))
    x, w, g = _arrays(seed, dtype, (n, c, 3, 4), (o, c // groups, 1, 1), (n, o, 3, 4))
    np.testing.assert_allclose(K.conv2d_forward(x, w, *geo[:4], geo[5]),
                               ref.forward(x, w, geo), **_tol(dtype))
    np.testing.assert_allclose(K.conv2d_input_grad(g, w, *geo[:4], geo[4]),
                               ref.input_grad(g, w, geo), **_tol(dtype))
    np.testing.assert_allclose(K.conv2d_weight_grad(x, g, *geo[:4], geo[6]),
                               ref.weight_grad(x, g, geo), **_tol(dtype))


@settings(deadline=None, max_examples=40)
@given(case=geometries(), dtype=DTYPES, seed=st.integers(0, 2**32 - 1))
def test_direct_kernels_match_numpy_reference(case, dtype, seed):
    """The stride-1 direct kernels called alone, on every drawn geometry made stride 1
    (explicit output sizes included: reads past the input are zeros)."""
    x_shape, w_shape, geo = case
    _, padding, dilation, groups, in_hw, out_hw, kernel_hw = geo
    geo = ref.geometry((1, 1), padding, dilation, groups, in_hw, out_hw, kernel_hw)
    x, w, g = _arrays(seed, dtype, x_shape, w_shape, (x_shape[0], w_shape[0]) + out_hw)
    geometry = padding + dilation + (groups,)
    y = np.full(g.shape, np.nan, dtype=dtype)
    dx = np.full(x.shape, np.nan, dtype=dtype)
    dw = np.full(w.shape, np.nan, dtype=dtype)
    K.direct_forward(x, w, *geometry, y)
    K.direct_input_grad(g, w, *geometry, dx)
    K.direct_weight_grad(x, g, *geometry, dw)
    for got, want in ((y, ref.forward(x, w, geo)), (dx, ref.input_grad(g, w, geo)),
                      (dw, ref.weight_grad(x, g, geo))):
        np.testing.assert_allclose(got, want, **_tol(dtype))


@pytest.mark.parametrize("shape", [(3, 5, 9, 11), (2, 4, 1, 30)])
def test_direct_path_is_taken_where_it_wins(shape):
    """One output channel at stride 1 takes the direct kernels (and agrees with im2col);
    sixteen, or stride 2, stay with im2col + GEMM."""
    x, w = _arrays(0, np.float64, shape, (1, shape[1], 1 + (shape[2] > 1) * 2, 3))
    pad = (int(shape[2] > 1), 1)
    out = (shape[2], shape[3])
    with mock.patch.object(K, "direct_forward", wraps=K.direct_forward) as spy:
        y = K.conv2d_forward(x, w, (1, 1), pad, (1, 1), 1, out)
        assert spy.call_count == 1
        K.conv2d_forward(x, np.repeat(w, 16, axis=0), (1, 1), pad, (1, 1), 1, out)
        K.conv2d_forward(x, w, (2, 2), pad, (1, 1), 1, ((out[0] + 1) // 2, (out[1] + 1) // 2))
        assert spy.call_count == 1
    with mock.patch.object(K, "DIRECT_MAX_OUT", 0):
        np.testing.assert_allclose(y, K.conv2d_forward(x, w, (1, 1), pad, (1, 1), 1, out),
                                   rtol=1e-12, atol=1e-12)


def test_empty_batch():
    x = np.zeros((0, 2, 4, 4), dtype=np.float32)
    w = np.ones((3, 2, 3, 3), dtype=np.float32)
    g = np.zeros((0, 3, 2, 2), dtype=np.float32)
    assert K.conv2d_forward(x, w, (1, 1), (0, 0), (1, 1), 1, (2, 2)).shape == (0, 3, 2, 2)
    assert K.conv2d_input_grad(g, w, (1, 1), (0, 0), (1, 1), 1, (4, 4)).shape == (0, 2, 4, 4)
    dw = K.conv2d_weight_grad(x, g, (1, 1), (0, 0), (1, 1), 1, (3, 3))
    assert dw.shape == (3, 2, 3, 3) and not dw.any()


def test_im2col_col2im_are_adjoint():
    """⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for the Numba helpers themselves."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 5, 6))
    col = np.empty((2, 2 * 3 * 2, 2, 3 * 4))
    K.im2col(x, 0, 3, 2, 2, 2, 1, 1, 1, 2, 3, 4, 2, col)
    c = rng.standard_normal(col.shape)
    back = np.zeros_like(x)
    K.col2im(c, 0, 3, 2, 2, 2, 1, 1, 1, 2, 3, 4, 2, back)
    assert abs((col * c).sum() - (x * back).sum()) < 1e-10
