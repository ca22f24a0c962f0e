"""The op test matrix: one ``Spec`` line per primitive puts it under every check.

For each op and hypothesis-drawn shapes, broadcasts, parameters and values (float64):
forward equals NumPy; first- and second-order gradients match numerical derivatives
(central differences, plus the complex step where the op is analytic); each gradient has its
input's shape and dtype, also under broadcasting; inputs are not mutated. On a machine with a
CUDA GPU and CuPy the whole matrix runs on the GPU as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import scipy.special
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tests.conftest import DEVICES
from tinygen.testing import arrays, broadcastable_shapes, check_grads, shapes


@dataclass
class Spec:
    name: str
    fn: Callable                      # tinygen: (*tensors, **kwargs) -> Tensor or tuple
    ref: Callable                     # numpy:   (*arrays, **kwargs) -> array or tuple
    arity: int = 1
    domain: tuple = (-3.0, 3.0)       # value range, or one range per input
    kinks: tuple = ()                 # points where the op is not differentiable
    analytic: bool = True             # run the complex-step check too
    complex_on_cuda: bool = True      # CuPy has the op for complex arguments (erf: no)
    order2: bool = True
    shapes: Callable | None = None    # strategy of a list of input shapes
    kwargs: Callable | None = None    # shapes -> strategy of keyword arguments
    prepare: Callable | None = None   # make drawn arrays valid (e.g. well-conditioned)
    tol: dict = field(default_factory=dict)

    def shape_strategy(self):
        if self.shapes is not None:
            return self.shapes
        if self.arity == 1:
            return shapes().map(lambda s: [s])
        return broadcastable_shapes(self.arity)

    def domain_of(self, i: int) -> tuple:
        return self.domain[i] if isinstance(self.domain[0], tuple) else self.domain


# -- strategies for op parameters ---------------------------------------------------------

def axis_kwargs(shapes_, ddof=False):
    (shape,) = shapes_
    n = len(shape)
    single = st.integers(-n, n - 1) if n else st.none()
    multi = st.lists(st.integers(0, n - 1), unique=True, max_size=n).map(tuple) if n else st.none()
    axis = st.one_of(st.none(), single, multi)
    kw = {"axis": axis, "keepdims": st.booleans()}
    return st.fixed_dictionaries(kw)


def one_axis(shapes_, **extra):
    (shape,) = shapes_
    return st.fixed_dictionaries({"axis": st.integers(-len(shape), len(shape) - 1), **extra})


def nd(min_dims=1):
    return shapes(min_dims=min_dims).map(lambda s: [s])


@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch_a, batch_b = draw(broadcastable_shapes(2, max_dims=2, max_side=3))
    a = batch_a + (n, k) if draw(st.booleans()) else (k,)
    b = batch_b + (k, m) if draw(st.booleans()) else (k,)
    return [a, b]


@st.composite
def linear_shapes(draw):
    """x (..., n), W (n, m) and b (m,) for the fused dense map."""
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    lead = draw(shapes(min_dims=0, max_dims=2, max_side=3))
    return [lead + (n,), (n, m), (m,)]


@st.composite
def standardize_shapes(draw):
    """x, and a weight and a bias that broadcast to x (per channel, or over trailing axes)."""
    x = draw(shapes(min_dims=1, max_dims=4, max_side=3))
    def side():
        k = draw(st.integers(0, len(x)))
        return tuple(s if draw(st.booleans()) else 1 for s in x[len(x) - k:])
    return [x, side(), side()]


def standardize_kwargs(shapes_):
    n = len(shapes_[0])
    axes = st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True).map(tuple)
    return st.fixed_dictionaries({"axes": axes, "eps": st.sampled_from([0.1, 1.0])})


def standardize_ref(x, w, b, axes, eps):
    return (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(
        x.var(axis=axes, keepdims=True) + eps) * w + b


@st.composite
def square_shapes(draw, arity=1):
    n = draw(st.integers(1, 4))
    batch = draw(shapes(min_dims=0, max_dims=1, max_side=3))
    rest = [batch + (n, draw(st.integers(1, 3)))] if arity == 2 else []
    return [batch + (n, n)] + rest


@st.composite
def concat_shapes(draw, count=3, new_axis=False):
    base = list(draw(shapes(min_dims=1)))
    axis = draw(st.integers(0, len(base) - 1))
    out = []
    for _ in range(draw(st.integers(1, count))):
        s = list(base)
        if not new_axis:
            s[axis] = draw(st.integers(1, 3))
        out.append(tuple(s))
    return out


@st.composite
def index_keys(draw, shapes_):
    """Basic and advanced keys for getitem: ints, slices, None, Ellipsis, int arrays (with
    repeats and negatives) and boolean masks."""
    (shape,) = shapes_
    if not shape:
        return {"key": draw(st.sampled_from([(), Ellipsis, None]))}
    if draw(st.integers(0, 4)) == 0:
        mask = draw(st.lists(st.booleans(), min_size=shape[0], max_size=shape[0]))
        return {"key": np.array(mask)}
    key, arrays_len = [], draw(st.integers(1, 4))
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "array", "full"]))
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start, stop = draw(st.integers(-n, n)), draw(st.integers(-n, n))
            key.append(slice(start, stop, draw(st.sampled_from([1, 2, -1]))))
        elif kind == "array":
            key.append(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=arrays_len,
                                              max_size=arrays_len))))
        else:
            key.append(slice(None))
    if draw(st.booleans()):
        key.insert(draw(st.integers(0, len(key))), None)
    return {"key": tuple(key)}


@st.composite
def along_axis(draw, shapes_):
    (shape,) = shapes_
    axis = draw(st.integers(0, len(shape) - 1))
    idx_shape = list(shape)
    idx_shape[axis] = draw(st.integers(1, 4))
    idx = draw(st.lists(st.integers(0, shape[axis] - 1), min_size=int(np.prod(idx_shape)),
                        max_size=int(np.prod(idx_shape))))
    return {"indices": np.array(idx, dtype=np.int64).reshape(idx_shape), "axis": axis}


@st.composite
def reshape_target(draw, shapes_):
    (shape,) = shapes_
    size = int(np.prod(shape))
    factors = [d for d in range(1, size + 1) if size % d == 0]
    first = draw(st.sampled_from(factors))
    return {"shape": draw(st.sampled_from([(first, -1), (-1,), (size // first, 1, first)]))}


@st.composite
def permutation_of(draw, shapes_):
    (shape,) = shapes_
    return {"axes": tuple(draw(st.permutations(range(len(shape)))))}


@st.composite
def expand_target(draw, shapes_):
    (shape,) = shapes_
    grown = tuple(draw(st.integers(1, 3)) if n == 1 else n for n in shape)
    return {"shape": tuple(draw(st.lists(st.integers(1, 3), max_size=2))) + grown}


@st.composite
def pad_widths(draw, shapes_):
    (shape,) = shapes_
    pairs = st.tuples(st.integers(0, 2), st.integers(0, 2))
    return {"widths": draw(st.lists(pairs, min_size=len(shape), max_size=len(shape))),
            "value": draw(st.sampled_from([0.0, 1.5]))}


@st.composite
def condition(draw, shapes_):
    shape = np.broadcast_shapes(*shapes_)
    flat = draw(st.lists(st.booleans(), min_size=int(np.prod(shape)),
                         max_size=int(np.prod(shape))))
    return {"cond": np.array(flat, dtype=bool).reshape(shape)}


# -- value preparation ----------------------------------------------------------------------

def distinct(a: np.ndarray) -> np.ndarray:
    """Same order as ``a`` but values 0.25 apart (no ties, so max/sort are differentiable)."""
    ranks = np.argsort(np.argsort(a.ravel(), kind="stable"), kind="stable")
    return (0.25 * ranks - 0.125 * a.size).reshape(a.shape)


def off_grid(a, b):
    """a on the grid k/2 + 1/4, b on k/2: never closer than 1/4 (no ties for max/min)."""
    return np.round(2 * a) / 2 + 0.25, np.round(2 * b) / 2


def well_conditioned(a, *rest):
    n = a.shape[-1]
    return (a + (3.0 * n + 1.0) * np.eye(n), *rest)  # Gershgorin: eigenvalues >= 1


def sym_tg(a):
    return 0.5 * (a + tg.transpose(a))


def sym_np(a):
    return 0.5 * (a + np.swapaxes(a, -1, -2))


def spd_np(a):
    s = sym_np(a)
    return s @ s + np.eye(a.shape[-1])


def spd_tg(a):
    s = sym_tg(a)
    return s @ s + tg.eye(a.shape[-1], dtype=a.dtype, device=a.device)


SPECS = [
    # elementwise, unary
    Spec("neg", tg.neg, np.negative),
    Spec("exp", tg.exp, np.exp),
    Spec("log", tg.log, np.log, domain=(0.2, 3.0)),
    Spec("log1p", tg.log1p, np.log1p, domain=(-0.7, 3.0)),
    Spec("expm1", tg.expm1, np.expm1),
    Spec("sqrt", tg.sqrt, np.sqrt, domain=(0.2, 3.0)),
    Spec("sin", tg.sin, np.sin),
    Spec("cos", tg.cos, np.cos),
    Spec("tanh", tg.tanh, np.tanh),
    Spec("sigmoid", tg.sigmoid, scipy.special.expit, analytic=False),
    Spec("softplus", tg.softplus, lambda x: np.logaddexp(x, 0), analytic=False),
    Spec("erf", tg.erf, scipy.special.erf, complex_on_cuda=False),
    Spec("abs", tg.abs, np.abs, kinks=(0.0,), analytic=False),
    Spec("sign", tg.sign, np.sign, kinks=(0.0,), analytic=False),
    Spec("relu", tg.relu, lambda x: np.maximum(x, 0), kinks=(0.0,), analytic=False),
    Spec("leaky_relu", lambda x: tg.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
         kinks=(0.0,), analytic=False),
    Spec("leaky_relu_negative_slope", lambda x: tg.leaky_relu(x, -0.3),
         lambda x: np.where(x > 0, x, -0.3 * x), kinks=(0.0,), analytic=False),
    Spec("elu", tg.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
         kinks=(0.0,), analytic=False),
    Spec("clip", lambda x: tg.clip(x, -1.0, 1.0), lambda x: np.clip(x, -1.0, 1.0),
         kinks=(-1.0, 1.0), analytic=False),
    # elementwise, binary (broadcasting)
    Spec("add", tg.add, np.add, arity=2),
    Spec("sub", tg.sub, np.subtract, arity=2),
    Spec("mul", tg.mul, np.multiply, arity=2),
    Spec("div", tg.div, np.divide, arity=2, domain=((-3.0, 3.0), (0.5, 3.0))),
    Spec("pow", tg.pow, np.power, arity=2, domain=((0.3, 2.0), (-2.0, 2.0))),
    Spec("maximum", tg.maximum, np.maximum, arity=2, prepare=off_grid, analytic=False),
    Spec("minimum", tg.minimum, np.minimum, arity=2, prepare=off_grid, analytic=False),
    Spec("where", lambda a, b, cond: tg.where(cond, a, b), lambda a, b, cond: np.where(cond, a, b),
         arity=2, kwargs=condition),
    # reductions and scans
    Spec("sum", tg.sum, np.sum, kwargs=axis_kwargs),
    Spec("mean", tg.mean, np.mean, kwargs=axis_kwargs,
         shapes=shapes(min_dims=0).map(lambda s: [s])),
    Spec("var", tg.var, np.var, kwargs=lambda s: axis_kwargs(s).map(
        lambda kw: {**kw, "ddof": 0})),
    Spec("max", tg.max, np.max, kwargs=axis_kwargs, prepare=distinct, analytic=False),
    Spec("min", tg.min, np.min, kwargs=axis_kwargs, prepare=distinct, analytic=False),
    Spec("prod", tg.prod, np.prod, kwargs=axis_kwargs, domain=(0.5, 1.5)),
    Spec("logsumexp", tg.logsumexp, scipy.special.logsumexp, kwargs=axis_kwargs),
    Spec("log_softmax", tg.log_softmax, scipy.special.log_softmax,
         kwargs=lambda s: axis_kwargs(s).map(lambda kw: {"axis": kw["axis"]})),
    Spec("cumsum", tg.cumsum, np.cumsum, shapes=nd(), kwargs=one_axis),
    Spec("cumsum_reverse", lambda x, axis: tg.cumsum(x, axis, reverse=True),
         lambda x, axis: np.flip(np.cumsum(np.flip(x, axis), axis), axis),
         shapes=nd(), kwargs=one_axis),
    Spec("sort", lambda x, axis: tg.sort(x, axis)[0], lambda x, axis: np.sort(x, axis),
         shapes=nd(), kwargs=one_axis, prepare=distinct, analytic=False),
    Spec("topk", lambda x, axis: tg.topk(x, 2, axis)[0],
         lambda x, axis: -np.take(np.sort(-x, axis), [0, 1], axis),
         shapes=shapes(min_dims=1, min_side=2).map(lambda s: [s]), kwargs=one_axis,
         prepare=distinct, analytic=False),
    # shape
    Spec("reshape", lambda x, shape: tg.reshape(x, shape), lambda x, shape: x.reshape(shape),
         kwargs=reshape_target),
    Spec("permute", lambda x, axes: tg.permute(x, axes), lambda x, axes: x.transpose(axes),
         kwargs=permutation_of),
    Spec("transpose", tg.transpose, lambda x: np.swapaxes(x, -1, -2), shapes=nd(2)),
    Spec("expand", lambda x, shape: tg.expand(x, shape),
         lambda x, shape: np.broadcast_to(x, shape), kwargs=expand_target),
    Spec("squeeze", tg.squeeze, np.squeeze),
    Spec("unsqueeze", lambda x, axis: tg.unsqueeze(x, axis), np.expand_dims,
         kwargs=lambda s: st.fixed_dictionaries({"axis": st.integers(-len(s[0]) - 1,
                                                                      len(s[0]))})),
    Spec("concat", lambda *xs, axis: tg.concat(xs, axis),
         lambda *xs, axis: np.concatenate(xs, axis),
         shapes=concat_shapes(), kwargs=lambda s: st.fixed_dictionaries(
             {"axis": st.just(next(i for i in range(len(s[0]))
                                   if all(t[:i] + t[i + 1:] == s[0][:i] + s[0][i + 1:]
                                          for t in s)))})),
    Spec("stack", lambda *xs, axis: tg.stack(xs, axis), lambda *xs, axis: np.stack(xs, axis),
         shapes=concat_shapes(new_axis=True), kwargs=lambda s: st.fixed_dictionaries(
             {"axis": st.integers(-len(s[0]) - 1, len(s[0]))})),
    Spec("split", lambda x, axis: tuple(tg.split(x, [1, x.shape[axis] - 1], axis)),
         lambda x, axis: tuple(np.split(x, [1], axis)), shapes=nd(), kwargs=one_axis),
    Spec("pad", lambda x, widths, value: tg.pad(x, widths, value),
         lambda x, widths, value: np.pad(x, widths, constant_values=value) if x.ndim else x,
         kwargs=pad_widths),
    Spec("flip", tg.flip, np.flip),
    Spec("repeat", lambda x, axis: tg.repeat(x, 2, axis), lambda x, axis: np.repeat(x, 2, axis),
         shapes=nd(), kwargs=one_axis),
    Spec("tile", lambda x: tg.tile(x, (2,) * x.ndim), lambda x: np.tile(x, (2,) * x.ndim)),
    # indexing
    Spec("getitem", lambda x, key: x[key], lambda x, key: x[key], kwargs=index_keys),
    Spec("take_along_axis", lambda x, indices, axis: tg.take_along_axis(x, indices, axis),
         np.take_along_axis, shapes=nd(), kwargs=along_axis),
    # matrices
    Spec("matmul", tg.matmul, np.matmul, arity=2, shapes=matmul_shapes()),
    Spec("linear", tg.linear, lambda x, w, b: x @ w + b, arity=3, shapes=linear_shapes()),
    Spec("standardize", lambda x, w, b, axes, eps: tg.standardize(x, axes, eps, w, b),
         standardize_ref, arity=3, shapes=standardize_shapes(), kwargs=standardize_kwargs,
         analytic=False),
    Spec("inv", tg.inv, np.linalg.inv, shapes=square_shapes(), prepare=well_conditioned),
    Spec("solve", tg.solve, np.linalg.solve, arity=2, shapes=square_shapes(2),
         prepare=well_conditioned),
    Spec("det", tg.det, np.linalg.det, shapes=square_shapes(), prepare=well_conditioned),
    Spec("slogdet", lambda a: tg.slogdet(a)[1], lambda a: np.linalg.slogdet(a)[1],
         shapes=square_shapes(), prepare=well_conditioned, analytic=False),
    Spec("cholesky", lambda a: tg.cholesky(spd_tg(a)), lambda a: np.linalg.cholesky(spd_np(a)),
         shapes=square_shapes(), analytic=False),
]


def _to(device, a):
    return tg.tensor(a, dtype=np.float64, device=device).data


def _on(device, value):
    """Index arrays and conditions (also inside a key tuple) moved to the data's device."""
    if isinstance(value, np.ndarray):
        return tg.tensor(value, device=device).data
    if isinstance(value, tuple):
        return tuple(_on(device, v) for v in value)
    return value


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@given(data=st.data())
def test_op(spec: Spec, device: str, data) -> None:
    shapes_ = data.draw(spec.shape_strategy(), label="shapes")
    values = [data.draw(arrays(s, *spec.domain_of(i), kinks=spec.kinks), label=f"x{i}")
              for i, s in enumerate(shapes_)]
    if spec.prepare is not None:
        prepared = spec.prepare(*values)
        values = [prepared] if isinstance(prepared, np.ndarray) else list(prepared)
    kwargs = data.draw(spec.kwargs(shapes_), label="kwargs") if spec.kwargs else {}
    inputs = [_to(device, v) for v in values]
    dev_kwargs = {k: _on(device, v) for k, v in kwargs.items()}
    originals = [tg.backend.to_numpy(x).copy() for x in inputs]

    def fn(*ts):
        return spec.fn(*ts, **dev_kwargs)

    expected = spec.ref(*values, **kwargs)
    got = fn(*[tg.Tensor(x) for x in inputs])
    for e, g in zip(expected if isinstance(expected, tuple) else (expected,),
                    got if isinstance(got, tuple) else (got,), strict=True):
        assert g.dtype == np.float64, f"{spec.name}: float64 in, {g.dtype} out"
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-9, atol=1e-12)

    complex_step = spec.analytic and (device == "cpu" or spec.complex_on_cuda)
    check_grads(fn, inputs, order=2 if spec.order2 else 1, complex_step=complex_step,
                name=spec.name, **spec.tol)
    for x, original in zip(inputs, originals, strict=True):
        np.testing.assert_array_equal(tg.backend.to_numpy(x), original,
                                      err_msg=f"{spec.name} mutated its input")
