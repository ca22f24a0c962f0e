"""The argument normalisers (tinygen.ops.args) and the ops that use them: what each accepts,
and the tinygen error, naming the op and the argument, for what it refuses."""

import numpy as np
import pytest

import tinygen as tg
from tinygen.ops import args as A


def t(*shape):
    return tg.zeros(*shape)


INT_LIKE = [2, np.int64(2), np.int32(2), np.uint8(2), tg.tensor(2), np.array(2)]
NOT_INT = [2.0, True, np.True_, "2", None, tg.tensor(2.0), tg.tensor([2]), [2], 1 + 0j]


@pytest.mark.parametrize("value", INT_LIKE, ids=repr)
def test_ints_accepted(value):
    assert A.as_int(value) == 2 and type(A.as_int(value)) is int
    assert A.integer("op", value, "n") == 2
    assert A.axis("op", value, 3) == 2
    assert A.axes("op", value, 3) == (2,)
    assert A.shape("op", value) == (2,)
    assert A.sizes("op", value, 2, "stride", 1) == (2, 2)


@pytest.mark.parametrize("value", NOT_INT, ids=repr)
def test_non_ints_refused(value):
    assert A.as_int(value) is None
    with pytest.raises(tg.ShapeError, match=r"op: n must be an int"):
        A.integer("op", value, "n")
    with pytest.raises(tg.ShapeError, match=r"op: axis must be an int"):
        A.axis("op", value, 3)


def test_integer_minimum():
    assert A.integer("op", 0, "k", minimum=0) == 0
    with pytest.raises(tg.ShapeError, match="op: k must be positive, got 0"):
        A.integer("op", 0, "k", minimum=1)
    with pytest.raises(tg.ShapeError, match="op: k must be at least 0, got -1"):
        A.integer("op", -1, "k", minimum=0)


def test_axis_range():
    assert A.axis("op", -1, 3) == 2
    with pytest.raises(tg.ShapeError, match=r"op: axis 3 is out of range for a tensor with 3 "
                                            r"dims \(shape \(1, 2, 3\)\); expected an int in "
                                            r"\[-3, 3\)"):
        A.axis("op", 3, 3, shape=(1, 2, 3))
    with pytest.raises(tg.ShapeError, match="expected no axis at all"):
        A.axis("op", 0, 0)


def test_axes():
    assert A.axes("op", None, 3) == (0, 1, 2)
    assert A.axes("op", (2, -3), 3) == (0, 2)
    assert A.axes("op", [np.int64(1)], 3) == (1,)
    assert A.axes("op", tg.tensor([0, 2]), 3) == (0, 2)
    assert A.axes("op", 0, 0) == () and A.axes("op", -1, 0) == ()
    with pytest.raises(tg.ShapeError, match="op: repeated axis"):
        A.axes("op", (0, -3), 3)
    with pytest.raises(tg.ShapeError, match=r"op: axis must be None, an int .* got a tensor "
                                            r"of shape \(2,\) and dtype float"):
        A.axes("op", tg.tensor([0.0, 1.0]), 3)
    with pytest.raises(tg.ShapeError, match="op: axis must be an int"):
        A.axes("op", (0, 1.0), 3)
    with pytest.raises(tg.ShapeError, match="out of range"):
        A.axes("op", (0, 3), 3)


def test_permutation():
    assert A.permutation("op", (1, 0, 2), 3, (1, 2, 3)) == (1, 0, 2)
    assert A.permutation("op", ((-1, 0, 1),), 3, (1, 2, 3)) == (2, 0, 1)  # varargs form
    assert A.permutation("op", (), 0, ()) == ()
    for bad in [(0, 0, 1), (0, 1), (3, 0, 1), (0, 1, 2.0), "abc", None]:
        with pytest.raises(tg.ShapeError, match=r"op: .* is not a permutation of the 3 axes "
                                                r"of \(1, 2, 3\)"):
            A.permutation("op", bad, 3, (1, 2, 3))


def test_shape():
    assert A.shape("op", (2, 3)) == (2, 3)
    assert A.shape("op", ((2, 3),)) == (2, 3)       # f(x, (2, 3)) as varargs
    assert A.shape("op", (2, np.int64(3))) == (2, 3)  # f(x, 2, 3) as varargs
    assert A.shape("op", [tg.tensor(2)]) == (2,)
    assert A.shape("op", np.array([4, 0])) == (4, 0)
    assert A.shape("op", ()) == ()
    assert A.shape("op", (-1, 6), fill=True) == (-1, 6)
    for bad in [(2.0, 3), "ab", None, tg.tensor([2.0]), np.zeros((2, 2), int), (True, 2)]:
        with pytest.raises(tg.ShapeError, match="op: shape must be ints"):
            A.shape("op", bad)
    for bad, fill in [((-1, 2), False), ((-1, -1), True), ((-2,), True)]:
        with pytest.raises(tg.ShapeError, match=r"op: shape \(.*\) must have each ≥ 0"):
            A.shape("op", bad, fill=fill)


def test_sizes():
    assert A.sizes("op", (1, np.int64(2)), 2, "stride", 1) == (1, 2)
    for bad in [0, (1, 0), (1, 2, 3), 1.5, "same", None, (1, None)]:
        with pytest.raises(tg.ShapeError, match=r"op: stride must be a positive int or 2 "
                                                r"positive ints, got .* \(input of shape"):
            A.sizes("op", bad, 2, "stride", 1, "input of shape (1, 1, 4, 4)")
    with pytest.raises(tg.ShapeError, match="non-negative"):
        A.sizes("op", -1, 2, "padding", 0)


def test_flag():
    assert A.flag("op", np.True_, "keepdims") is True and A.flag("op", False, "k") is False
    for bad in [1, "yes", None, tg.tensor(True)]:
        with pytest.raises(tg.ArgumentError, match="op: keepdims must be True or False, got"):
            A.flag("op", bad, "keepdims")


def test_number():
    assert A.number("op", 2, "slope") == 2.0 and A.number("op", np.float32(0.5), "s") == 0.5
    assert np.isnan(A.number("op", float("nan"), "slope"))
    for bad in [True, "0.2", None, 1j, tg.tensor(1.0), np.array(1.0), (1.0,)]:
        with pytest.raises(tg.ArgumentError, match="op: slope must be a real number, got"):
            A.number("op", bad, "slope")


def test_choice():
    assert A.choice("op", "sum", "reduction", ("mean", "sum")) == "sum"
    for bad in ["avg", None, 1]:
        with pytest.raises(tg.ArgumentError, match=r"op: reduction must be one of 'mean', "
                                                   r"'sum', got"):
            A.choice("op", bad, "reduction", ("mean", "sum"))


def test_dtype():
    for ok, expected in [(np.float32, "float32"), ("int64", "int64"), (float, "float64"),
                         (np.dtype(bool), "bool"), ("complex128", "complex128")]:
        assert A.dtype("op", ok) == np.dtype(expected)
    for bad in [None, np.zeros(3), tg.tensor([1.0]), np.float32(1.0), "nope", 3]:
        with pytest.raises(tg.DTypeError, match="op: dtype must be a dtype such as"):
            A.dtype("op", bad)
    for bad in [str, object, "datetime64[s]"]:
        with pytest.raises(tg.DTypeError, match="op: cannot cast to .*; expected a bool, "
                                                "integer, floating or complex dtype"):
            A.dtype("op", bad)


def test_tensor():
    x = t(2)
    assert A.tensor("op", x) is x
    assert A.tensor("op", [[1, 2], [3, 4]]).shape == (2, 2)
    assert A.tensor("op", 2.0, like=tg.zeros(1, dtype=np.float64)).dtype == np.float64
    for bad in [None, "a", Ellipsis, object(), slice(1), np.float32]:
        with pytest.raises(tg.DTypeError, match=r"op: x must be a tensor, an array, a number "
                                                r".*\(expected numbers, got"):
            A.tensor("op", bad, "x")
    with pytest.raises(tg.ShapeError, match=r"op: x \[\[1, 2\], \[3\]\] is not a rectangular"):
        A.tensor("op", [[1, 2], [3]], "x")
    with pytest.raises(tg.DTypeError, match="op: .*numbers.*object"):
        A.tensor("op", 10**40, "x")
    with pytest.raises(tg.DTypeError, match="op: .*numbers.*<U1"):
        A.tensor("op", np.array(["a"]), "x")


def test_tensors():
    assert [u.shape for u in A.tensors("op", (t(1), [1.0, 2.0]))] == [(1,), (2,)]
    with pytest.raises(tg.ShapeError, match="op: tensors must be a list or tuple of tensors"):
        A.tensors("op", t(2))
    with pytest.raises(tg.DTypeError, match=r"op: tensors\[1\] must be a tensor"):
        A.tensors("op", [t(1), None])


def test_index_array():
    x = t(3)
    assert A.index_array("op", [0, 2], x).tolist() == [0, 2]
    assert A.index_array("op", tg.tensor(np.array([1], dtype=np.uint8)), x).tolist() == [1]
    with pytest.raises(tg.DTypeError, match="op: indices must be integers, got dtype float"):
        A.index_array("op", tg.tensor([0.0]), x)


def test_describe():
    assert A.describe(t(2, 3)) == "a tensor of shape (2, 3) and dtype float32"
    assert A.describe(np.zeros(2, int)) == "an array of shape (2,) and dtype int64"
    assert A.describe("x" * 100).endswith("...") and len(A.describe("x" * 100)) == 60
    assert A.describe(np.float32) == "<class 'numpy.float32'>"


# -- the ops: reasonable values accepted -------------------------------------------------------

REDUCTIONS = [tg.sum, tg.mean, tg.var, tg.max, tg.min, tg.prod, tg.logsumexp, tg.argmax,
              tg.argmin]


@pytest.mark.parametrize("op", REDUCTIONS, ids=lambda f: f.__name__)
def test_reductions_take_numpy_axes_and_flags(op):
    x = tg.tensor(np.arange(6.0).reshape(2, 3) ** 1.5)
    want = op(x, axis=1, keepdims=True).data
    for axis in [np.int64(1), np.int32(-1), tg.tensor(1)]:
        assert np.allclose(op(x, axis=axis, keepdims=np.True_).data, want)


@pytest.mark.parametrize("op", [tg.cumsum, lambda x, a: tg.sort(x, a)[0],
                                lambda x, a: tg.split(x, 1, a)[0], lambda x, a: tg.flip(x, a)],
                         ids=["cumsum", "sort", "split", "flip"])
def test_one_axis_ops_take_numpy_axes(op):
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    assert np.allclose(op(x, np.int64(1)).data, op(x, 1).data)


def test_squeeze_and_permute_take_numpy_ints():
    x = t(2, 1, 3)
    assert tg.squeeze(x, np.int64(1)).shape == (2, 3)
    assert tg.squeeze(x, (np.int64(1),)).shape == (2, 3)
    assert tg.permute(x, np.array([2, 0, 1])).shape == (3, 2, 1)
    assert tg.permute(x, np.int64(2), 0, 1).shape == (3, 2, 1)
    assert tg.reshape(x, tg.tensor([3, 2])).shape == (3, 2)
    assert tg.expand(t(1, 3), np.int64(4), 3).shape == (4, 3)


def test_repeat_with_a_numpy_axis_has_a_gradient():
    x = tg.tensor([[1.0, 2.0]], requires_grad=True)
    (g,) = tg.grad(tg.sum(tg.repeat(x, 3, np.int64(0)) ** 2), [x])
    assert np.allclose(g.data, [[6.0, 12.0]])


def test_clip_takes_tensor_bounds_and_is_differentiable_in_x():
    x = tg.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    y = tg.clip(x, tg.tensor([-1.0, 0.0, 0.0]), tg.tensor(2.0))
    assert np.allclose(y.data, [-1.0, 0.5, 2.0])
    (g,) = tg.grad(tg.sum(y), [x])
    assert np.allclose(g.data, [0.0, 1.0, 0.0])
    with pytest.raises(tg.ArgumentError, match="clip: low .* is above high"):
        tg.clip(x, tg.tensor([0.0, 0.0, 5.0]), 1.0)
    with pytest.raises(tg.ShapeError, match=r"clip: x of shape \(3,\) and the bounds do not "
                                            r"broadcast"):
        tg.clip(x, tg.zeros(2), None)


# -- the ops: wrong values refused (issue 24, item 4, and issue 22's examples) -----------------

def test_take_along_axis_checks_the_axis_and_the_rank():
    x, idx = t(2, 3), np.zeros((2, 1), dtype=int)
    with pytest.raises(tg.ShapeError, match="take_along_axis: axis 7 is out of range for a "
                                            "tensor with 2 dims"):
        tg.take_along_axis(x, idx, axis=7)
    with pytest.raises(tg.ShapeError, match="take_along_axis: indices have 0 dims, tensor of "
                                            r"shape \(\) has 0; expected equal dims"):
        tg.take_along_axis(t(), np.array(0), 0)
    with pytest.raises(tg.ShapeError, match=r"indices of shape \(3, 1\) do not broadcast"):
        tg.take_along_axis(x, np.zeros((3, 1), dtype=int), 1)


def test_permute_refuses_an_axis_past_the_end():
    with pytest.raises(tg.ShapeError, match=r"permute: \(4, 1, 2, 3\) is not a permutation"):
        tg.permute(t(1, 2, 3, 4), (4, 1, 2, 3))


@pytest.mark.parametrize("call, error, message", [
    (lambda: tg.sum(t(2, 3), axis=t(2)), tg.ShapeError, r"sum: axis must be None, an int"),
    (lambda: tg.max(t(2, 3), axis=t(2)), tg.ShapeError, r"max: axis must be None, an int"),
    (lambda: tg.argmax(t(2, 3), axis=t(2)), tg.ShapeError, r"argmax: axis must be an int"),
    (lambda: tg.cumsum(t(2, 3), axis="0"), tg.ShapeError, r"cumsum: axis must be an int"),
    (lambda: tg.sort(t(2, 3), axis=1.0), tg.ShapeError, r"sort: axis must be an int"),
    (lambda: tg.sum(t(2, 3), keepdims="no"), tg.ArgumentError, r"sum: keepdims must be True"),
    (lambda: tg.reshape(t(2, 3), t(2)), tg.ShapeError, r"reshape: shape must be ints"),
    (lambda: tg.reshape(t(2, 3), (3.0, 2)), tg.ShapeError, r"reshape: shape must be ints"),
    (lambda: tg.expand(t(1, 3), (-1, 3)), tg.ShapeError, r"expand: shape \(-1, 3\) must"),
    (lambda: tg.permute(t(2, 3), 1.0, 0), tg.ShapeError, r"permute: .* is not a permutation"),
    (lambda: tg.pad(t(2), [(1.5, 1)]), tg.ShapeError, r"pad: widths\[0\] must be a non-neg"),
    (lambda: tg.pad(t(2), [(1, 1)], value="a"), tg.ArgumentError, r"pad: value must be a real"),
    (lambda: tg.tile(t(2), (2.0,)), tg.ShapeError, r"tile: reps must be ints"),
    (lambda: tg.repeat(t(2), 2.0, 0), tg.ShapeError, r"repeat: repeats must be an int"),
    (lambda: tg.split(t(4), [1.0, 3]), tg.ShapeError, r"split: sections must be ints"),
    (lambda: tg.topk(t(4), 2.0), tg.ShapeError, r"topk: k must be an int"),
    (lambda: tg.var(t(4), ddof=0.5), tg.ShapeError, r"var: ddof must be an int"),
    (lambda: tg.concat(t(2, 2)), tg.ShapeError, r"concat: tensors must be a list or tuple"),
    (lambda: tg.cast(t(2), np.zeros(2)), tg.DTypeError, r"cast: dtype must be a dtype such"),
    (lambda: tg.cast(t(2), None), tg.DTypeError, r"cast: dtype must be a dtype such"),
    (lambda: tg.one_hot([0, 1], 2.0), tg.ShapeError, r"one_hot: num_classes must be an int"),
    (lambda: tg.scatter_add(t(2), (3,), tg.tensor([0.0, 1.0])), tg.DTypeError,
     r"getitem: index arrays must be integer or boolean, got float32"),
    (lambda: tg.scatter_add(t(2), (3.0,), [0, 1]), tg.ShapeError, r"scatter_add: shape must"),
    (lambda: tg.scatter_add(t(3), (3,), [0, 1]), IndexError,
     r"scatter_add: values of shape \(3,\) do not fit"),
    (lambda: t(3)["a"], IndexError, r"getitem: an index must be an int, a slice"),
    (lambda: t(3)[np.True_], IndexError, r"getitem: a 0-d boolean index is not supported"),
    (lambda: t(3)[[[0, 1], [2]]], tg.ShapeError, r"getitem: index .* is not a rectangular"),
    (lambda: tg.exp(None), tg.DTypeError, r"exp: input must be a tensor, an array, a number"),
    (lambda: tg.exp([[1.0], [2.0, 3.0]]), tg.ShapeError, r"exp: input .* is not a rectangular"),
    (lambda: tg.add(t(2), "a"), tg.DTypeError, r"add: second operand must be a tensor"),
    (lambda: tg.sub(tg.tensor([True]), tg.tensor([False])), tg.DTypeError,
     r"sub: not defined for dtypes bool and bool"),
    (lambda: tg.softplus(tg.tensor([1j])), tg.DTypeError, r"softplus: x must be real"),
    (lambda: tg.leaky_relu(t(2), "0.2"), tg.TinygenError, r"leaky_relu: slope must be a real"),
    (lambda: tg.relu(tg.tensor([1j])), tg.DTypeError, r"relu: x must be real"),
    (lambda: tg.leaky_relu(tg.tensor([1j])), tg.DTypeError, r"leaky_relu: x must be real"),
    (lambda: tg.linear(t(2, 3), t(4, 5)), tg.ShapeError,
     r"linear: expected x of shape \(\.\.\., n\) and a weight of shape \(n, m\), got x "
     r"\(2, 3\) and weight \(4, 5\)"),
    (lambda: tg.linear(t(2, 3), t(3)), tg.ShapeError, r"linear: .*weight \(3,\)"),
    (lambda: tg.linear(t(2, 3), t(3, 4), t(3)), tg.ShapeError,
     r"linear: bias must have shape \(4,\) \(one per output\), got \(3,\)"),
    (lambda: tg.linear(t(2, 3), t(3, 4), "b"), tg.DTypeError, r"linear: bias must be a tensor"),
    (lambda: tg.solve(tg.eye(2), t()), tg.ShapeError, r"solve: B must have shape \(\.\.\., n\)"),
    (lambda: tg.conv2d(t(1, 1, 3, 3), t(1, 1, 2, 2), stride=t(2)), tg.ShapeError,
     r"conv2d: stride must be a positive int or 2 positive ints, got a tensor"),
    (lambda: tg.conv2d(t(1, 1, 3, 3), tg.tensor(np.zeros((1, 1, 2, 2), complex))),
     tg.DTypeError, r"conv2d: input is complex"),
    (lambda: tg.upsample(t(1, 1, 2, 2), 2, align_corners=1), tg.ArgumentError,
     r"upsample: align_corners must be True or False"),
    (lambda: tg.crf_nll(t(1, 2, 3), t(3, 3), [[0, 0]], reduction="avg"), tg.ArgumentError,
     r"crf_nll: reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    (lambda: tg.crf_log_partition(t(1, 2, 3), t(3, 3), mask=[[1], [1, 0]]), tg.ShapeError,
     r"crf_log_partition: mask .* is not a rectangular"),
    (lambda: tg.F.dropout(t(2), 0.5, training="yes"), tg.ArgumentError,
     r"dropout: training must be True or False"),
    (lambda: tg.F.gumbel_softmax(t(2), generator=1), tg.ArgumentError,
     r"gumbel_softmax: generator must be a tinygen Generator or None, got 1"),
    (lambda: tg.F.cross_entropy(t(2, 3), [0, 1], ignore_index=0.5), tg.ShapeError,
     r"cross_entropy: ignore_index must be an int"),
    (lambda: tg.F.softmax(t(2, 3), axis=t(1)), tg.ShapeError, r"softmax: axis must be an int"),
    (lambda: tg.F.smooth_max(t(2), "big"), tg.ArgumentError, r"smooth_max: k must be a real"),
], ids=lambda v: "" if callable(v) or isinstance(v, type) else v[:30])
def test_wrong_arguments_name_the_op_and_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_tinygen_errors_are_value_or_type_errors():
    assert issubclass(tg.ArgumentError, tg.TinygenError)
    assert issubclass(tg.ArgumentError, ValueError)
    assert issubclass(tg.ShapeError, ValueError) and issubclass(tg.DTypeError, TypeError)
