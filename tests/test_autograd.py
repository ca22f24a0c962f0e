"""The graph machinery: higher orders, accumulation, freeing, no_grad, dtypes, anomalies."""

import math
import sys
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.autograd import apply
from tinygen.testing import check_grads


def f64(values, requires_grad=True):
    return tg.tensor(values, dtype="float64", requires_grad=requires_grad)


@given(st.floats(-2, 2), st.integers(1, 6))
def test_nth_derivative_of_sin_cycles(x0, n):
    x = f64(x0)
    y = tg.sin(x)
    for _ in range(n):
        y = tg.grad(y, x, create_graph=True)
    expected = [math.sin, math.cos, lambda v: -math.sin(v), lambda v: -math.cos(v)][n % 4](x0)
    assert y.item() == pytest.approx(expected, abs=1e-12)


def test_third_derivative_of_tanh_matches_closed_form():
    x = f64(np.linspace(-3, 3, 13))
    t = np.tanh(x.numpy())
    d1 = tg.grad(tg.tanh(x).sum(), x, create_graph=True)
    d2 = tg.grad(d1.sum(), x, create_graph=True)
    d3 = tg.grad(d2.sum(), x)
    np.testing.assert_allclose(d2.numpy(), -2 * t * (1 - t**2), atol=1e-12)
    np.testing.assert_allclose(d3.numpy(), (1 - t**2) * (6 * t**2 - 2), atol=1e-12)


def test_hessian_vector_product_of_quadratic_form():
    rng = np.random.default_rng(0)
    a, v = rng.standard_normal((5, 5)), rng.standard_normal(5)
    x = f64(rng.standard_normal(5))
    g = tg.grad(x @ (tg.tensor(a) @ x), x, create_graph=True)
    hv = tg.grad((g * tg.tensor(v)).sum(), x)
    np.testing.assert_allclose(hv.numpy(), (a + a.T) @ v, atol=1e-12)


def test_backward_accumulates_into_grad_of_leaves_only():
    x = f64([1.0, 2.0])
    y = x * 3.0
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 18 * x.numpy())
    assert y.grad is None
    (x * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 18 * x.numpy() + 2)


def test_graph_is_freed_after_backward_and_can_be_retained():
    x = f64(2.0)
    y = tg.exp(x) * x
    y.backward()
    with pytest.raises(tg.TinygenError, match="retain_graph=True"):
        y.backward()
    z = tg.exp(x) * x
    z.backward(retain_graph=True)
    z.backward()
    assert x.grad.item() == pytest.approx(3 * 3 * math.exp(2.0))


def test_create_graph_backward_gives_differentiable_grad():
    x = f64(0.7)
    tg.tanh(x).backward(create_graph=True)
    second = tg.grad(x.grad, x)
    t = math.tanh(0.7)
    assert second.item() == pytest.approx(-2 * t * (1 - t * t))


def test_deep_graph_needs_no_recursion():
    x = f64(1.0)
    y = x
    for _ in range(max(3 * sys.getrecursionlimit(), 5000)):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** max(3 * sys.getrecursionlimit(), 5000))


def test_shared_subexpression_gradients_add_up():
    x = f64(3.0)
    y = x * x
    z = y + y * y  # dz/dx = 2x + 4x^3
    assert tg.grad(z, x).item() == pytest.approx(6 + 108)


def test_no_grad_records_nothing():
    x = f64([1.0, 2.0])
    with tg.no_grad():
        y = (x * x).sum()
    assert not y.requires_grad and y.is_leaf
    assert tg.is_grad_enabled()


def test_grad_leaves_dot_grad_alone_and_handles_unused_inputs():
    x, w = f64(1.0), f64(2.0)
    y = x * 5.0
    with pytest.raises(tg.TinygenError, match="input 1 .* not used"):
        tg.grad(y, [x, w], retain_graph=True)
    gx, gw = tg.grad(y, [x, w], allow_unused=True)
    assert gx.item() == 5.0 and gw is None and x.grad is None


def test_grad_stops_at_intermediate_inputs():
    x = f64([1.0, 2.0])
    h = tg.exp(x)
    out = (h * h).sum()
    np.testing.assert_allclose(tg.grad(out, h).numpy(), 2 * np.exp([1.0, 2.0]))


def test_non_scalar_output_needs_upstream_gradient():
    x = f64([1.0, 2.0])
    with pytest.raises(tg.ShapeError, match=r"backward: output 0 has shape \(2,\)"):
        (x * 2.0).backward()
    (x * 2.0).backward(gradient=np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])
    with pytest.raises(tg.ShapeError, match=r"gradient of shape \(3,\)"):
        tg.grad(x * 2.0, x, grad_outputs=tg.ones(3, dtype="float64"))


def test_broadcasting_is_undone_in_gradients():
    a = f64(np.ones((3, 1)))
    b = f64(np.ones(4))
    ga, gb = tg.grad((a * b).sum(), [a, b])
    assert ga.shape == (3, 1) and gb.shape == (4,)
    np.testing.assert_allclose(ga.numpy(), 4.0)
    np.testing.assert_allclose(gb.numpy(), 3.0)


class TestDtypes:
    def test_default_is_float32_and_scalars_keep_it(self):
        x = tg.tensor([1.0, 2.0])
        assert x.dtype == np.float32
        assert (x * 2.5 + 1).dtype == np.float32
        assert (2.5 / x).dtype == np.float32
        assert tg.exp(x).dtype == np.float32

    def test_float64_end_to_end(self):
        x = f64([0.5, 1.5])
        y = tg.logsumexp(tg.tanh(x) @ tg.ones(2, dtype="float64"))
        g = tg.grad(y, x, create_graph=True)
        assert y.dtype == g.dtype == np.float64

    def test_promotion_follows_numpy_and_grads_keep_input_dtype(self):
        a = tg.tensor([1.0, 2.0], requires_grad=True)
        b = f64([3.0, 4.0])
        y = a * b
        assert y.dtype == np.float64
        ga, gb = tg.grad(y.sum(), [a, b])
        assert ga.dtype == np.float32 and gb.dtype == np.float64

    def test_integers(self):
        i = tg.tensor([1, 2, 3])
        assert i.dtype == np.int64
        assert (i + 1).dtype == np.int64
        assert (i * 0.5).dtype == np.float32
        with pytest.raises(tg.DTypeError, match="only floating tensors can require gradients"):
            tg.tensor([1, 2], requires_grad=True)

    def test_set_default_dtype(self):
        tg.set_default_dtype("float64")
        try:
            assert tg.tensor([1.0]).dtype == np.float64 and tg.zeros(2).dtype == np.float64
        finally:
            tg.set_default_dtype("float32")
        with pytest.raises(tg.DTypeError, match="set_default_dtype"):
            tg.set_default_dtype("int32")


class TestAnomaly:
    def test_forward_nan_names_the_op(self):
        x = f64([-1.0, 1.0])
        with tg.detect_anomaly(), pytest.raises(tg.AnomalyError, match="log: forward"):
            with np.errstate(invalid="ignore"):
                tg.log(x)

    def test_backward_inf_names_the_op(self):
        x = f64([0.0, 1.0])
        with tg.detect_anomaly():
            y = tg.sqrt(x).sum()
            with pytest.raises(tg.AnomalyError, match="sqrt: backward"), \
                    np.errstate(divide="ignore"):
                y.backward()

    def test_off_by_default(self):
        with np.errstate(invalid="ignore"):
            assert np.isnan(tg.log(f64(-1.0)).item())

    @staticmethod
    def outer(x, after_inner_grad):
        """A primitive whose VJP takes a grad of its own first (as the CRF's higher-order
        path does), then computes ``after_inner_grad(g, inner)``."""
        def vjp(g, out):
            with tg.enable_grad():
                z = x.detach().requires_grad_()
                inner = tg.grad((z * z).sum(), z)  # 2z, by a nested graph walk
            return after_inner_grad(g, inner)
        return apply("outer", x.data * 1.0, [(x, vjp)])

    def test_a_nested_grad_keeps_the_blame_on_the_outer_op(self):
        x = f64([1.0, 2.0])
        with tg.detect_anomaly():
            y = self.outer(x, lambda g, inner: g * tg.log(inner - 10.0)).sum()
            with pytest.raises(tg.AnomalyError, match=r"^outer: backward produced NaN or Inf "
                                                      r"\(shape \(2,\), in the 'log' of its"), \
                    np.errstate(invalid="ignore"):
                y.backward()
            y = self.outer(x, lambda g, inner: tg.Tensor(np.full(2, np.nan))).sum()
            with pytest.raises(tg.AnomalyError, match=r"^outer: backward produced NaN or Inf "
                                                      r"\(shape \(2,\)\)$"):
                y.backward()

        def inner_nan(g, inner):  # a NaN from the inner walk blames the inner op
            with tg.enable_grad():
                z = inner.detach().requires_grad_()
                tg.grad(tg.sqrt(z - 2.0).sum(), z)  # d sqrt at 0 is Inf
            return g
        with tg.detect_anomaly():
            y = self.outer(f64([1.0, 2.0]), inner_nan).sum()
            with pytest.raises(tg.AnomalyError, match=r"^sqrt: backward produced"), \
                    np.errstate(divide="ignore", invalid="ignore"):
                y.backward()


def test_grad_and_anomaly_modes_are_per_thread():
    """no_grad() and detect_anomaly() in one thread leave another thread's modes alone."""
    go, worker_inside, release = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def worker():
        try:
            go.wait(10)  # the main thread is inside no_grad() and detect_anomaly() now
            x = f64([1.0, -1.0])
            seen["enabled"] = tg.is_grad_enabled()
            seen["recorded"] = (x * 2.0).requires_grad
            with np.errstate(invalid="ignore"):
                seen["nan"] = bool(np.isnan(tg.log(x).numpy()[1]))  # no AnomalyError here
            with tg.no_grad():
                worker_inside.set()
                release.wait(10)
        except Exception as e:  # reported by the main thread's assert
            seen["error"] = e
        finally:
            worker_inside.set()

    thread = threading.Thread(target=worker)
    thread.start()
    with tg.no_grad(), tg.detect_anomaly():
        go.set()
        worker_inside.wait(10)
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()  # while the worker is still inside its own no_grad()
    assert (f64([1.0]) * 2.0).requires_grad
    release.set()
    thread.join(10)
    assert seen == {"enabled": True, "recorded": True, "nan": True}


def test_prod_gradient_at_zeros_first_and_second_order():
    x = np.array([[0.0, 2.0, 3.0], [1.0, 0.0, 0.0], [0.5, 1.5, -2.0]])
    check_grads(lambda t: tg.prod(t, axis=1), [x], order=2)
    check_grads(lambda t: tg.prod(t), [x], order=2)


def test_max_shares_gradient_between_ties():
    x = f64([1.0, 3.0, 3.0])
    np.testing.assert_allclose(tg.grad(tg.max(x), x).numpy(), [0, 0.5, 0.5])
    y = f64([2.0])
    assert tg.grad(tg.maximum(y, y).sum(), y).item() == 1.0
    assert tg.grad(tg.maximum(y, f64([2.0])).sum(), y).item() == 0.5


def test_stop_gradient_and_detach():
    x = f64(2.0)
    y = x * tg.stop_gradient(x)
    assert tg.grad(y, x).item() == 2.0
    assert not x.detach().requires_grad


def test_cast_and_to_are_differentiable():
    x = f64([1.0, 2.0])
    y = tg.cast(x, "float32")
    assert y.dtype == np.float32
    g = tg.grad((y * y).sum(), x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert x.to("cpu") is x


def test_index_outputs_match_numpy():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 5))
    t = tg.tensor(a)
    np.testing.assert_array_equal(tg.argmax(t, 1).numpy(), a.argmax(1))
    np.testing.assert_array_equal(tg.argmin(t).numpy(), a.argmin())
    np.testing.assert_array_equal(tg.argmax(t, 0, keepdims=True).numpy(),
                                  a.argmax(0)[None])
    values, idx = tg.sort(t, axis=1, descending=True)
    np.testing.assert_array_equal(idx.numpy(), np.argsort(-a, 1, kind="stable"))
    values, idx = tg.topk(t, 2, axis=0, largest=False)
    np.testing.assert_array_equal(idx.numpy(), np.argsort(a, 0, kind="stable")[:2])
    np.testing.assert_allclose(values.numpy(), np.sort(a, 0)[:2].astype(np.float32))
    oh = tg.one_hot(tg.tensor([[0, 2], [1, 1]]), 3)
    assert oh.shape == (2, 2, 3) and oh.dtype == np.float32
    np.testing.assert_array_equal(oh.numpy().argmax(-1), [[0, 2], [1, 1]])


def test_indexing_with_tensors_and_iteration():
    x = f64(np.arange(6.0).reshape(3, 2))
    idx = tg.tensor([2, 0, 2])
    g = tg.grad(x[idx].sum(), x)
    np.testing.assert_allclose(g.numpy(), [[1, 1], [0, 0], [2, 2]])
    rows = list(x)
    assert len(rows) == 3 and rows[2].tolist() == [4.0, 5.0]
    mask = tg.tensor(x.numpy() > 2)
    assert x[mask].tolist() == [3.0, 4.0, 5.0]


def test_creation_functions():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.ones((2,)).numpy().sum() == 2
    assert tg.full((2, 2), 7.0).numpy().max() == 7.0
    assert tg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert tg.linspace(0, 1, 5).shape == (5,)
    np.testing.assert_array_equal(tg.eye(3).numpy(), np.eye(3))
    x = tg.tensor([[1.0, 2.0]], dtype="float64")
    assert tg.zeros_like(x).dtype == np.float64 and tg.ones_like(x).shape == (1, 2)
    assert tg.full_like(x, 3.0).numpy().sum() == 6.0
    assert tg.randn_like(x).shape == (1, 2) and tg.rand_like(x).dtype == np.float64
    data = np.ones(3)
    t = tg.tensor(data)
    data[0] = 5
    assert t.numpy()[0] == 1.0, "tensor() copies its data"
    assert x.item() if x.size == 1 else True
    with pytest.raises(tg.ShapeError, match="item: expected a tensor with one element"):
        x.item()


def test_sigmoid_keeps_its_tails_and_logsumexp_of_all_minus_inf_has_zero_gradient():
    assert tg.sigmoid(f64(-40.0)).item() == pytest.approx(4.248354255291589e-18, rel=1e-12)
    assert np.isfinite(tg.log(tg.sigmoid(f64(-700.0))).item())
    x = f64([[-np.inf, -np.inf], [0.0, 1.0]])
    y = tg.logsumexp(x, axis=1)
    assert y.numpy()[0] == -np.inf
    g = tg.grad(tg.where(np.isfinite(y.numpy()), y, 0.0).sum(), x)
    assert np.isfinite(g.numpy()).all() and g.numpy()[0].tolist() == [0.0, 0.0]


def test_leaf_grads_own_writeable_memory():
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    (a + b).sum().backward()
    assert a.grad is not b.grad and a.grad.data is not b.grad.data
    a.grad.data *= 2.0
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])
