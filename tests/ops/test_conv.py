"""Convolutions, pools and upsampling: kernels against the composed twin and PyTorch,
gradients against numerical derivatives (orders 1 and 2, and a third-order WGAN-GP check),
the adjoint identity of the transposed convolution, NumPy references for pools and
upsampling, dtypes and devices, and the errors a student sees for bad shapes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygen as tg
from tests.conftest import DEVICES
from tinygen.ops.conv import (avg_pool2d, conv1d, conv2d, conv2d_weight_grad, conv_transpose1d,
                              conv_transpose2d, max_pool2d, upsample)
from tinygen.ops.conv_twin import (conv1d_twin, conv2d_twin, conv2d_weight_grad_twin,
                                   conv_transpose1d_twin, conv_transpose2d_twin)
from tinygen.testing import arrays, check_grads

try:
    import torch
    import torch.nn.functional as torch_f
except ImportError:  # pragma: no cover - torch is the optional `ref` extra
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

DTYPES = hnp.floating_dtypes(sizes=(32, 64), endianness="=")  # native byte order


# -- strategies ------------------------------------------------------------------------------

@st.composite
def conv_cases(draw, nd: int = 2, max_side: int = 4):
    """A conv geometry that fits: shapes of x and w and the keyword arguments."""
    groups = draw(st.integers(1, 3))
    cg, og, n = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    kind = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    if kind == "same":
        s = (1,) * nd
        padding, p = "same", (0,) * nd
    elif kind == "valid":
        padding, p = "valid", (0,) * nd
    else:
        p = tuple(draw(st.integers(0, 2)) for _ in range(nd))
        padding = p[0] if kind == "int" else p
        p = (p[0],) * nd if kind == "int" else p
    span = tuple(di * (ki - 1) + 1 for di, ki in zip(d, k))
    size = tuple(max(1, sp - 2 * pi) + draw(st.integers(0, max_side))
                 for sp, pi in zip(span, p))
    x_shape = (n, cg * groups) + size
    w_shape = (og * groups, cg) + k
    stride = s[0] if len(set(s)) == 1 and draw(st.booleans()) else s
    kwargs = dict(stride=stride, padding=padding, dilation=d, groups=groups)
    if nd == 1:
        kwargs = {key: (v[0] if isinstance(v, tuple) else v) for key, v in kwargs.items()}
    return x_shape, w_shape, kwargs


@st.composite
def transpose_cases(draw, nd: int = 2):
    """A transposed-conv geometry: shapes of x (N, C_in, ...) and w (C_in, C_out/G, ...)."""
    groups = draw(st.integers(1, 3))
    cg, og, n = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    p = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    q = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    size = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    out = tuple((m - 1) * si - 2 * pi + di * (ki - 1) + qi + 1
                for m, si, pi, di, ki, qi in zip(size, s, p, d, k, q))
    assume(min(out) >= 1)
    kwargs = dict(stride=s, padding=p, output_padding=q, groups=groups, dilation=d)
    if nd == 1:
        kwargs = {key: (v[0] if isinstance(v, tuple) else v) for key, v in kwargs.items()}
    return (n, cg * groups) + size, (cg * groups, og) + k, kwargs


def _values(seed: int, *shapes, dtype=np.float64) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _value_and_grads(fn, x: np.ndarray, w: np.ndarray, u_seed: int):
    """fn(x, w), and the gradients of ⟨fn(x, w), u⟩ for a random u (the three kernels)."""
    xt, wt = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)  # no copy
    y = fn(xt, wt)
    (u,) = _values(u_seed, y.shape, dtype=y.dtype)
    gx, gw = tg.grad(y, [xt, wt], grad_outputs=tg.tensor(u))
    return y.numpy(), gx.numpy(), gw.numpy()


def _close(actual, expected, rtol: float, atol: float = 0.0) -> None:
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale)


# -- kernels against the composed twin ----------------------------------------------------------

@settings(deadline=None)
@given(case=conv_cases(), data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_conv2d_kernels_match_twin(case, data, seed):
    """Forward, input gradient and weight gradient of the Numba kernels equal the twin's."""
    x_shape, w_shape, kw = case
    x = data.draw(arrays(x_shape))  # sometimes a strided (non-contiguous) view
    (w,) = _values(seed, w_shape)
    got = _value_and_grads(lambda a, b: conv2d(a, b, **kw), x, w, seed + 1)
    want = _value_and_grads(lambda a, b: conv2d_twin(a, b, **kw), x, w, seed + 1)
    for a, b in zip(got, want):
        assert a.shape == b.shape
        _close(a, b, rtol=1e-12, atol=1e-13)


@settings(deadline=None)
@given(case=transpose_cases(), seed=st.integers(0, 2**32 - 1))
def test_conv_transpose2d_kernels_match_twin(case, seed):
    x_shape, w_shape, kw = case
    x, w = _values(seed, x_shape, w_shape)
    got = _value_and_grads(lambda a, b: conv_transpose2d(a, b, **kw), x, w, seed + 1)
    want = _value_and_grads(lambda a, b: conv_transpose2d_twin(a, b, **kw), x, w, seed + 1)
    for a, b in zip(got, want):
        _close(a, b, rtol=1e-12, atol=1e-13)


@settings(deadline=None, max_examples=10)
@given(case=conv_cases(nd=1), tcase=transpose_cases(nd=1), seed=st.integers(0, 2**32 - 1))
def test_1d_kernels_match_twin(case, tcase, seed):
    x_shape, w_shape, kw = case
    x, w = _values(seed, x_shape, w_shape)
    got = _value_and_grads(lambda a, b: conv1d(a, b, **kw), x, w, seed + 1)
    want = _value_and_grads(lambda a, b: conv1d_twin(a, b, **kw), x, w, seed + 1)
    for a, b in zip(got, want):
        _close(a, b, rtol=1e-12, atol=1e-13)
    x_shape, w_shape, kw = tcase
    x, w = _values(seed, x_shape, w_shape)
    got = _value_and_grads(lambda a, b: conv_transpose1d(a, b, **kw), x, w, seed + 1)
    want = _value_and_grads(lambda a, b: conv_transpose1d_twin(a, b, **kw), x, w, seed + 1)
    for a, b in zip(got, want):
        _close(a, b, rtol=1e-12, atol=1e-13)


BIASED = [(conv2d, conv2d_twin, conv_cases(), 0), (conv1d, conv1d_twin, conv_cases(nd=1), 0),
          (conv_transpose2d, conv_transpose2d_twin, transpose_cases(), 1),
          (conv_transpose1d, conv_transpose1d_twin, transpose_cases(nd=1), 1)]


@settings(deadline=None, max_examples=25)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_biased_kernels_match_twin(data, seed):
    """With a bias, which the kernels' primitives add in place (one op, one activation kept),
    the value and the gradients of x, w and the bias equal the twin's conv-then-add."""
    op, twin, cases, axis = data.draw(st.sampled_from(BIASED))
    x_shape, w_shape, kw = data.draw(cases)
    channels = w_shape[0] if axis == 0 else w_shape[1] * kw["groups"]
    x, w, b = _values(seed, x_shape, w_shape, (channels,))

    def run(fn):
        xt, wt, bt = (tg.Tensor(a, requires_grad=True) for a in (x, w, b))
        y = fn(xt, wt, bt, **kw)
        (u,) = _values(seed + 1, y.shape)
        return [y.numpy()] + [g.numpy() for g in tg.grad(y, [xt, wt, bt], tg.tensor(u))]

    for a, b_ in zip(run(op), run(twin), strict=True):
        assert a.shape == b_.shape
        _close(a, b_, rtol=1e-12, atol=1e-13)


@settings(deadline=None, max_examples=10)
@given(case=conv_cases(), seed=st.integers(0, 2**32 - 1))
def test_weight_grad_op_matches_twin_and_autograd(case, seed):
    """conv2d_weight_grad as a public op: equals the twin and the gradient autograd gives."""
    x_shape, w_shape, kw = case
    x, w = _values(seed, x_shape, w_shape)
    y = conv2d(x, w, **kw)
    (g,) = _values(seed + 1, y.shape)
    dw = conv2d_weight_grad(x, g, w_shape[2:], **kw).numpy()
    _close(dw, conv2d_weight_grad_twin(x, g, w_shape[2:], **kw).numpy(), rtol=1e-12, atol=1e-13)
    wt = tg.tensor(w, requires_grad=True)
    auto = tg.grad(conv2d(x, wt, **kw), wt, grad_outputs=tg.tensor(g)).numpy()
    _close(dw, auto, rtol=1e-12, atol=1e-13)


# -- the adjoint identity ---------------------------------------------------------------------

@settings(deadline=None)
@given(case=conv_cases(), seed=st.integers(0, 2**32 - 1))
def test_transposed_conv_is_the_adjoint(case, seed):
    """⟨conv(x), y⟩ = ⟨x, conv_T(y)⟩, with output_padding chosen to give back x's size."""
    x_shape, w_shape, kw = case
    assume(not isinstance(kw["padding"], str))
    x, w = _values(seed, x_shape, w_shape)
    cx = conv2d(x, w, **kw).numpy()
    (y,) = _values(seed + 1, cx.shape)
    s, p, d = (np.broadcast_to(kw[k], 2) for k in ("stride", "padding", "dilation"))
    natural = [(m - 1) * si - 2 * pi + di * (ki - 1) + 1
               for m, si, pi, di, ki in zip(cx.shape[2:], s, p, d, w_shape[2:])]
    q = tuple(int(n - m) for n, m in zip(x_shape[2:], natural))
    cty = conv_transpose2d(y, w, stride=kw["stride"], padding=kw["padding"], output_padding=q,
                           groups=kw["groups"], dilation=kw["dilation"]).numpy()
    assert cty.shape == x.shape
    lhs, rhs = float((cx * y).sum()), float((x * cty).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


# -- PyTorch as a second, independent reference -------------------------------------------------

def _torch_value_and_grads(fn, x, w, u):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    y = fn(xt, wt)
    y.backward(torch.tensor(u))
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@settings(deadline=None)
@given(case=conv_cases(), dtype=DTYPES, seed=st.integers(0, 2**32 - 1))
def test_conv2d_matches_torch(case, dtype, seed):
    x_shape, w_shape, kw = case
    x, w = _values(seed, x_shape, w_shape, dtype=dtype)
    got = _value_and_grads(lambda a, b: conv2d(a, b, **kw), x, w, seed + 1)
    (u,) = _values(seed + 1, got[0].shape, dtype=dtype)
    want = _torch_value_and_grads(lambda a, b: torch_f.conv2d(a, b, **kw), x, w, u)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    for a, b in zip(got, want):
        assert a.dtype == dtype and a.shape == b.shape
        _close(a, b, rtol=rtol, atol=rtol)


@needs_torch
@settings(deadline=None, max_examples=15)
@given(case=transpose_cases(), dtype=DTYPES, seed=st.integers(0, 2**32 - 1))
def test_conv_transpose2d_matches_torch(case, dtype, seed):
    x_shape, w_shape, kw = case
    x, w = _values(seed, x_shape, w_shape, dtype=dtype)
    got = _value_and_grads(lambda a, b: conv_transpose2d(a, b, **kw), x, w, seed + 1)
    (u,) = _values(seed + 1, got[0].shape, dtype=dtype)
    want = _torch_value_and_grads(lambda a, b: torch_f.conv_transpose2d(a, b, **kw), x, w, u)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    for a, b in zip(got, want):
        _close(a, b, rtol=rtol, atol=rtol)


@needs_torch
@pytest.mark.parametrize("op, ref, shapes, kw", [
    (conv1d, "conv1d", [(2, 4, 9), (6, 2, 3), (6,)], dict(stride=2, padding=1, groups=2)),
    (conv1d, "conv1d", [(1, 3, 8), (2, 3, 4), (2,)], dict(padding="same", dilation=2)),
    (conv_transpose1d, "conv_transpose1d", [(2, 4, 5), (4, 3, 3), (6,)],
     dict(stride=3, padding=1, output_padding=2, groups=2)),
])
def test_1d_matches_torch(op, ref, shapes, kw):
    x, w, b = _values(0, *shapes)
    got = op(x, w, b, **kw).numpy()
    want = getattr(torch_f, ref)(torch.tensor(x), torch.tensor(w), torch.tensor(b), **kw)
    _close(got, want.numpy(), rtol=1e-12)


# -- gradients against numerical derivatives ------------------------------------------------------

GRAD_CASES = {
    "conv2d": (lambda x, w, b: conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2),
                                      groups=2), [(1, 4, 5, 6), (4, 2, 3, 2), (4,)]),
    "conv2d_same": (lambda x, w: conv2d(x, w, padding="same"), [(2, 1, 3, 4), (2, 1, 2, 3)]),
    "conv1d": (lambda x, w, b: conv1d(x, w, b, stride=2, padding=2), [(2, 2, 5), (3, 2, 3),
                                                                      (3,)]),
    "conv_transpose2d": (lambda x, w, b: conv_transpose2d(x, w, b, stride=2, padding=1,
                                                          output_padding=1, groups=2),
                         [(1, 4, 3, 2), (4, 1, 3, 3), (2,)]),
    "conv_transpose1d": (lambda x, w: conv_transpose1d(x, w, stride=3, dilation=2),
                         [(1, 2, 3), (2, 2, 2)]),
    "conv2d_weight_grad": (lambda x, g: conv2d_weight_grad(x, g, (2, 2), stride=2, padding=1),
                           [(2, 2, 4, 3), (2, 3, 3, 2)]),
    "avg_pool2d": (lambda x: avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
                   [(1, 2, 5, 4)]),
    "upsample_bilinear": (lambda x: upsample(x, (2, 3), mode="bilinear"), [(1, 2, 3, 2)]),
    "upsample_nearest": (lambda x: upsample(x, 2), [(2, 1, 2, 3)]),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
@pytest.mark.parametrize("order", [1, 2])
def test_gradients_match_numerical(name, order):
    fn, shapes = GRAD_CASES[name]
    check_grads(fn, _values(7, *shapes), order=order, name=name)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(2, 3), stride=1, dilation=(2, 1))])
@pytest.mark.parametrize("order", [1, 2])
def test_max_pool_gradients_match_numerical(kw, order):
    x = np.random.default_rng(3).permutation(60).reshape(1, 2, 5, 6) * 0.1  # no ties
    check_grads(lambda a: max_pool2d(a, **kw), [x], order=order, name="max_pool2d")


def _critic(x, w1, w2, conv):
    """A tiny conv critic: conv → tanh → strided conv → sum."""
    h = tg.tanh(conv(x, w1, padding=1))
    return conv(h, w2, stride=2).sum()


def _gradient_penalty(x, w1, w2, conv=conv2d):
    """WGAN-GP's penalty (‖∂D/∂x‖ − 1)², which differentiates the critic's input gradient."""
    with tg.enable_grad():
        xr = x if x.requires_grad else tg.Tensor(x.data, requires_grad=True)
        gx = tg.grad(_critic(xr, w1, w2, conv), xr, create_graph=True)
    norm = tg.sqrt((gx * gx).sum() + 1e-12)
    return (norm - 1.0) ** 2


def test_wgan_gp_penalty_gradients_to_third_order():
    """The penalty's gradient (second derivatives of conv) matches the twin's, and
    check_grads of order 2 on the penalty checks third derivatives numerically."""
    x, w1, w2 = _values(11, (2, 1, 4, 4), (2, 1, 3, 3), (1, 2, 2, 2))
    grads = []
    for conv in (conv2d, conv2d_twin):
        ts = [tg.tensor(a, requires_grad=True) for a in (x, w1, w2)]
        grads.append([g.numpy() for g in tg.grad(_gradient_penalty(*ts, conv=conv), ts)])
    for a, b in zip(*grads):
        _close(a, b, rtol=1e-11, atol=1e-12)
    check_grads(lambda a, b, c: _gradient_penalty(a, b, c), [x, w1, w2], order=2,
                name="gradient penalty")


# -- pools and upsampling against NumPy references -------------------------------------------------

def _pool_ref(x, k, s, p, d, reduce, count_include_pad=True):
    n, c, h, w = x.shape
    fill = -np.inf if reduce == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=fill)
    inside = np.pad(np.ones((h, w)), ((p[0], p[0]), (p[1], p[1])))
    ho = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    wo = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.empty((n, c, ho, wo))
    for a in range(ho):
        for b in range(wo):
            rows = a * s[0] + d[0] * np.arange(k[0])
            cols = b * s[1] + d[1] * np.arange(k[1])
            win = xp[:, :, rows[:, None], cols[None, :]]
            if reduce == "max":
                out[:, :, a, b] = win.max(axis=(2, 3))
            else:
                count = k[0] * k[1] if count_include_pad else inside[np.ix_(rows, cols)].sum()
                out[:, :, a, b] = win.sum(axis=(2, 3)) / count
    return out


def _windows_touch_input(n, k, s, p, d) -> bool:
    """Whether every (dilated) window along an axis has an entry inside the input."""
    out = (n + 2 * p - d * (k - 1) - 1) // s + 1
    pos = np.arange(out)[:, None] * s - p + np.arange(k) * d
    return bool(((pos >= 0) & (pos < n)).any(axis=1).all())


@st.composite
def pool_cases(draw, dilation: bool = True):
    k = tuple(draw(st.integers(1, 3)) for _ in range(2))
    s = tuple(draw(st.integers(1, 3)) for _ in range(2))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    d = tuple(draw(st.integers(1, 2)) for _ in range(2)) if dilation else (1, 1)
    size = tuple(max(1, di * (ki - 1) + 1 - 2 * pi) + draw(st.integers(0, 4))
                 for ki, pi, di in zip(k, p, d))
    assume(all(_windows_touch_input(*a) for a in zip(size, k, s, p, d)))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + size, k, s, p, d


@settings(deadline=None)
@given(case=pool_cases(), data=st.data())
def test_max_pool2d_matches_numpy(case, data):
    shape, k, s, p, d = case
    x = data.draw(arrays(shape))
    got = max_pool2d(x, k, s, p, d)
    np.testing.assert_array_equal(got.numpy(), _pool_ref(x, k, s, p, d, "max"))


@settings(deadline=None)
@given(case=pool_cases(), seed=st.integers(0, 2**32 - 1))
def test_max_pool2d_gradient_goes_to_each_window_max(case, seed):
    shape, k, s, p, d = case
    x = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 1.0
    xt = tg.tensor(x, requires_grad=True)
    y = max_pool2d(xt, k, s, p, d)
    (u,) = _values(seed, y.shape)
    (y * tg.tensor(u)).sum().backward()
    want = np.zeros(x.size)
    flat = x.reshape(-1)
    pos = {v: i for i, v in enumerate(flat)}  # distinct values: value -> flat position
    np.add.at(want, [pos[v] for v in y.numpy().reshape(-1)], u.reshape(-1))
    np.testing.assert_allclose(xt.grad.numpy().reshape(-1), want, rtol=1e-12, atol=1e-12)


@settings(deadline=None)
@given(case=pool_cases(), data=st.data())
def test_max_pool_array_path_matches_the_kernel(case, data):
    """The argmax-over-strided-windows path (the one CuPy arrays take) finds the same
    positions as the CPU kernel."""
    from tinygen.kernels.cpu.conv import max_pool2d_forward
    from tinygen.ops.conv import _max_pool_index
    shape, k, s, p, d = case
    x = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).permutation(
        int(np.prod(shape))).reshape(shape).astype(np.float64)
    out = max_pool2d(x, k, s, p, d).shape[2:]
    y, index = max_pool2d_forward(x, k, s, p, d, out)
    np.testing.assert_array_equal(_max_pool_index(np, x, k, s, p, d, out), index)
    np.testing.assert_array_equal(x.reshape(-1)[index], y)


@settings(deadline=None)
@given(case=pool_cases(dilation=False), include=st.booleans(), data=st.data())
def test_avg_pool2d_matches_numpy(case, include, data):
    shape, k, s, p, d = case
    x = data.draw(arrays(shape))
    got = avg_pool2d(x, k, s, p, count_include_pad=include)
    _close(got.numpy(), _pool_ref(x, k, s, p, d, "mean", include), rtol=1e-12, atol=1e-14)


def _bilinear_ref(x, f, align_corners):
    """Per output pixel: the PyTorch formula, one axis at a time."""
    def axis_weights(n_in, factor):
        n_out = n_in * factor
        m = np.zeros((n_out, n_in))
        for t in range(n_out):
            if align_corners:
                u = t * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
            else:
                u = max((t + 0.5) / factor - 0.5, 0.0)
            lo = min(int(np.floor(u)), n_in - 1)
            hi = min(lo + 1, n_in - 1)
            m[t, lo] += 1 - (u - lo)
            m[t, hi] += u - lo
        return m
    a, b = axis_weights(x.shape[2], f[0]), axis_weights(x.shape[3], f[1])
    return np.einsum("ph,nchw,qw->ncpq", a, x, b)


@settings(deadline=None)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 4),
                       st.integers(1, 4)),
       f=st.tuples(st.integers(1, 3), st.integers(1, 3)), align=st.booleans(), data=st.data())
def test_upsample_matches_numpy(shape, f, align, data):
    x = data.draw(arrays(shape))
    near = upsample(x, f).numpy()
    np.testing.assert_array_equal(near, x.repeat(f[0], axis=2).repeat(f[1], axis=3))
    bil = upsample(x, f, mode="bilinear", align_corners=align).numpy()
    _close(bil, _bilinear_ref(x, f, align), rtol=1e-12, atol=1e-14)
    if torch is not None:
        want = torch_f.interpolate(torch.tensor(x), scale_factor=f, mode="bilinear",
                                   align_corners=align).numpy()
        _close(bil, want, rtol=1e-12, atol=1e-14)


@needs_torch
def test_pools_match_torch():
    (x,) = _values(5, (2, 3, 7, 6))
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, dilation=1)]:
        want = torch_f.max_pool2d(torch.tensor(x), **kw).numpy()
        np.testing.assert_array_equal(max_pool2d(x, **kw).numpy(), want)
        want = torch_f.avg_pool2d(torch.tensor(x), **{k: v for k, v in kw.items()
                                                       if k != "dilation"}).numpy()
        _close(avg_pool2d(x, **{k: v for k, v in kw.items() if k != "dilation"}).numpy(), want,
               rtol=1e-12)
    x[0, 0, 1, 1] = np.nan  # a NaN wins its windows, as in PyTorch
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)]:
        want = torch_f.max_pool2d(torch.tensor(x), **kw).numpy()
        np.testing.assert_array_equal(max_pool2d(x, **kw).numpy(), want)


# -- dtypes, devices, inputs left alone ------------------------------------------------------

def test_dtypes_follow_promotion():
    x32, w32 = _values(1, (1, 2, 4, 4), (3, 2, 3, 3), dtype=np.float32)
    assert conv2d(x32, w32).dtype == np.float32
    assert conv2d(x32, w32.astype(np.float64)).dtype == np.float64
    assert conv_transpose2d(x32[:, :, :2, :2], w32[:2]).dtype == np.float32
    assert conv2d(np.ones((1, 2, 4, 4), dtype=np.int64), w32).dtype == np.float32
    assert conv2d(x32.astype(np.float16), w32.astype(np.float16)).dtype == np.float32
    for fn in (lambda a: max_pool2d(a, 2), lambda a: avg_pool2d(a, 2),
               lambda a: upsample(a, 2, "bilinear")):
        assert fn(x32).dtype == np.float32
    xt = tg.tensor(x32, requires_grad=True)
    wt = tg.tensor(w32.astype(np.float64), requires_grad=True)
    conv2d(xt, wt).sum().backward()
    assert xt.grad.dtype == np.float32 and wt.grad.dtype == np.float64


def test_inputs_are_not_mutated():
    x, w = _values(2, (2, 2, 5, 5), (2, 1, 3, 3))
    x0, w0 = x.copy(), w.copy()
    xt, wt = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
    y = max_pool2d(conv2d(xt, wt, padding=1, groups=2), 2)
    y.sum().backward()
    np.testing.assert_array_equal(xt.numpy(), x0)
    np.testing.assert_array_equal(wt.numpy(), w0)


@pytest.mark.parametrize("device", DEVICES)
def test_devices_agree(device):
    """On a GPU the CUDA kernels run and agree with the CPU kernels (skipped without one)."""
    x, w, u = _values(4, (2, 4, 17, 33), (34, 2, 3, 3), (2, 34, 9, 17))
    results = []
    for dev in ("cpu", device):
        xt = tg.tensor(x, device=dev, requires_grad=True)
        wt = tg.tensor(w, device=dev, requires_grad=True)
        y = conv2d(xt, wt, stride=2, padding=1, groups=2)
        assert y.device == dev
        gx, gw = tg.grad(y, [xt, wt], grad_outputs=tg.tensor(u, device=dev))
        results.append([t.numpy() for t in (y, gx, gw)])
    for a, b in zip(*results):
        _close(a, b, rtol=1e-10, atol=1e-12)


# -- errors ------------------------------------------------------------------------------------

X = np.zeros((1, 3, 5, 5))
W = np.zeros((4, 3, 3, 3))

ERRORS = [
    ("channel mismatch", lambda: conv2d(X, np.zeros((4, 2, 3, 3))), ["conv2d", "3 channels",
                                                                      "(1, 3, 5, 5)",
                                                                      "(4, 2, 3, 3)"]),
    ("kernel larger than padded input", lambda: conv2d(np.zeros((1, 3, 2, 2)), W[:, :, :, :]
                                                      .repeat(2, axis=2), padding=1),
     ["conv2d", "larger than the padded input", "(1, 3, 2, 2)", "(4, 3, 6, 3)"]),
    ("dilated kernel too big", lambda: conv2d(X, W, dilation=3),
     ["conv2d", "dilated size (7, 7)", "(1, 3, 5, 5)"]),
    ("input ndim", lambda: conv2d(np.zeros((3, 5, 5)), W), ["conv2d", "(N, C, H, W)",
                                                            "(3, 5, 5)", "(4, 3, 3, 3)"]),
    ("weight ndim", lambda: conv2d(X, np.zeros((4, 3, 3))), ["conv2d", "weight", "(4, 3, 3)"]),
    ("groups do not divide", lambda: conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)),
                                            groups=2),
     ["conv2d", "groups=2", "(1, 4, 5, 5)", "(3, 2, 3, 3)"]),
    ("groups zero", lambda: conv2d(X, W, groups=0), ["conv2d", "groups", "(1, 3, 5, 5)"]),
    ("stride zero", lambda: conv2d(X, W, stride=0), ["conv2d", "stride", "(1, 3, 5, 5)"]),
    ("stride float", lambda: conv2d(X, W, stride=1.5), ["conv2d", "stride"]),
    ("stride length", lambda: conv2d(X, W, stride=(1, 1, 1)), ["conv2d", "stride"]),
    ("negative padding", lambda: conv2d(X, W, padding=-1), ["conv2d", "padding"]),
    ("same with stride", lambda: conv2d(X, W, padding="same", stride=2), ["conv2d", "same"]),
    ("unknown padding", lambda: conv2d(X, W, padding="full"), ["conv2d", "'full'"]),
    ("bias shape", lambda: conv2d(X, W, np.zeros(3)), ["conv2d", "bias", "(4,)"]),
    ("conv1d ndim", lambda: conv1d(X, W), ["conv1d", "(N, C, L)", "(1, 3, 5, 5)"]),
    ("conv1d channels", lambda: conv1d(np.zeros((1, 2, 5)), np.zeros((1, 3, 3))),
     ["conv1d", "(1, 2, 5)", "(1, 3, 3)"]),
    ("transpose channels", lambda: conv_transpose2d(X, np.zeros((2, 3, 3, 3))),
     ["conv_transpose2d", "(1, 3, 5, 5)", "(2, 3, 3, 3)"]),
    ("transpose output_padding", lambda: conv_transpose2d(X, W[:3], stride=2,
                                                          output_padding=2),
     ["conv_transpose2d", "output_padding", "(1, 3, 5, 5)"]),
    ("transpose too much padding", lambda: conv_transpose2d(np.zeros((1, 3, 1, 1)), W[:3],
                                                            padding=2),
     ["conv_transpose2d", "padding", "(1, 3, 1, 1)"]),
    ("weight grad shape", lambda: conv2d_weight_grad(X, np.zeros((1, 4, 2, 2)), 3),
     ["conv2d_weight_grad", "(1, 4, 2, 2)", "(1, 4, 3, 3)"]),
    ("max pool padding", lambda: max_pool2d(X, 2, padding=2), ["max_pool2d", "padding",
                                                               "(1, 3, 5, 5)"]),
    ("max pool ndim", lambda: max_pool2d(np.zeros((5, 5)), 2), ["max_pool2d", "(5, 5)"]),
    ("avg pool window", lambda: avg_pool2d(np.zeros((1, 1, 2, 2)), 3), ["avg_pool2d", "larger"]),
    ("upsample factor", lambda: upsample(X, 0), ["upsample", "scale_factor"]),
]


@pytest.mark.parametrize("name, call, words", ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_input_raises_shape_error(name, call, words):
    with pytest.raises(tg.ShapeError) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_upsample_unknown_mode():
    with pytest.raises(ValueError, match="bicubic"):
        upsample(X, 2, mode="bicubic")
