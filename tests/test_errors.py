"""Every error names the op, what it got and what it expected."""

import sys

import numpy as np
import pytest

import tinygen as tg


def t(*shape):
    return tg.zeros(*shape)


CASES = [
    (lambda: t(3, 4) @ t(5, 2), tg.ShapeError,
     r"matmul: shapes \(3, 4\) and \(5, 2\) do not line up \(4 != 5\)"),
    (lambda: t(2, 3, 4) @ t(5, 4, 2), tg.ShapeError,
     r"matmul: batch shapes of \(2, 3, 4\) and \(5, 4, 2\) do not broadcast"),
    (lambda: t() @ t(3), tg.ShapeError, r"matmul: shapes \(\) and \(3,\)"),
    (lambda: t(3) + t(4), tg.ShapeError, r"add: shapes \(3,\) and \(4,\) do not broadcast"),
    (lambda: t(2, 3) * t(3, 2), tg.ShapeError, r"mul: shapes \(2, 3\) and \(3, 2\)"),
    (lambda: tg.reshape(t(2, 3), (4, 2)), tg.ShapeError,
     r"reshape: cannot reshape \(2, 3\) \(6 values\) into \(4, 2\)"),
    (lambda: tg.permute(t(2, 3), (0, 0)), tg.ShapeError, r"permute: \(0, 0\) is not a permutation"),
    (lambda: tg.expand(t(2, 3), (4, 3)), tg.ShapeError,
     r"expand: shape \(2, 3\) cannot be broadcast to \(4, 3\)"),
    (lambda: tg.squeeze(t(2, 3), 0), tg.ShapeError,
     r"squeeze: axis 0 of shape \(2, 3\) has length 2"),
    (lambda: tg.sum(t(2, 3), axis=2), tg.ShapeError,
     r"sum: axis 2 is out of range for a tensor with 2 dims"),
    (lambda: tg.concat([t(2, 3), t(2, 4)], axis=0), tg.ShapeError,
     r"concat: shapes \[\(2, 3\), \(2, 4\)\] differ off axis 0"),
    (lambda: tg.stack([t(2), t(3)]), tg.ShapeError, r"stack: all shapes must match"),
    (lambda: tg.split(t(5), 2), tg.ShapeError,
     r"split: axis 0 of length 5 does not split into 2 equal parts"),
    (lambda: tg.pad(t(2, 2), [(1, 1)]), tg.ShapeError, r"pad: expected 2 non-negative"),
    (lambda: tg.tile(t(2), (2, 2)), tg.ShapeError, r"tile: expected 1 non-negative repeat"),
    (lambda: t(3)[5], IndexError,
     r"getitem: index 5 is out of bounds .* \(tensor of shape \(3,\)\)"),
    (lambda: t(3)[tg.tensor([0.5])], tg.DTypeError, r"getitem: index arrays must be integer"),
    (lambda: tg.take_along_axis(t(3, 4), np.zeros(3, dtype=int), 1), tg.ShapeError,
     r"take_along_axis: indices have 1 dims, tensor of shape \(3, 4\) has 2"),
    (lambda: tg.one_hot(tg.tensor([0, 3]), 3), tg.ShapeError,
     r"one_hot: labels must lie in \[0, 3\), got range \[0, 3\]"),
    (lambda: tg.one_hot(tg.tensor([0.0]), 3), tg.DTypeError, r"one_hot: labels must be integers"),
    (lambda: tg.inv(t(2, 3)), tg.ShapeError,
     r"inv: expected square matrices of shape \(\.\.\., n, n\), got \(2, 3\)"),
    (lambda: tg.inv(t(2, 2)), tg.TinygenError, r"inv: Singular matrix"),
    (lambda: tg.solve(tg.eye(3), t(2)), tg.ShapeError,
     r"solve: A of shape \(3, 3\) and B of shape \(2, 1\) do not line up"),
    (lambda: tg.cholesky(-tg.eye(2)), tg.TinygenError, r"cholesky: .*positive"),
    (lambda: tg.topk(t(3), 4), tg.ShapeError, r"topk: k=4 is outside \[0, 3\]"),
    (lambda: tg.where(tg.tensor([1, 0]), t(2), t(2)), tg.DTypeError,
     r"where: condition must be boolean, got int64"),
    (lambda: tg.mean(t(0)), tg.ShapeError, r"mean: reducing an empty axis of shape \(0,\)"),
    (lambda: tg.max(t(2, 0), axis=1), tg.ShapeError, r"max: reducing an empty axis"),
    (lambda: tg.var(t(1), ddof=1), tg.ShapeError, r"var: 1 values over axes \(0,\)"),
    (lambda: tg.cumsum(t(), 0), tg.ShapeError, r"cumsum: needs at least one dimension"),
    (lambda: tg.tensor([1, 2], requires_grad=True), tg.DTypeError,
     r"tensor: only floating tensors can require gradients, got int64"),
    (lambda: tg.tensor(["a"]), tg.DTypeError, r"tensor: unsupported dtype"),
    (lambda: tg.tensor([[1, 2], [3]]), tg.ShapeError,
     r"tensor: ragged nested list: data\[1\] has shape \(1,\) but data\[0\] has shape \(2,\)"),
    (lambda: tg.tensor([[[1.0], [2.0]], [[1.0, 2.0], [3.0]]]), tg.ShapeError,
     r"ragged nested list: data\[1\]\[1\] has shape \(1,\) but data\[1\]\[0\] has shape"),
    (lambda: tg.tensor([[1, 2], 3], dtype="float64"), tg.ShapeError,
     r"data\[1\] has shape \(\) but data\[0\] has shape \(2,\)"),
    (lambda: t(2, 2) + [[1.0, 2.0], [3.0]], tg.ShapeError,
     r"add: second operand .* is not a rectangular array of numbers \(data\[1\] has shape"),
    (lambda: tg.zeros(2, device="tpu"), tg.DeviceError,
     r"unknown device 'tpu'; expected one of \('cpu', 'cuda'\)"),
    (lambda: len(t()), tg.ShapeError, r"len: a 0-d tensor has no length"),
    (lambda: bool(t(2)), tg.ShapeError, r"bool: a tensor of shape \(2,\) has no single truth"),
    (lambda: tg.grad(t(2), t(2)), tg.TinygenError, r"grad: input 0 does not require grad"),
    (lambda: t(2).backward(), tg.TinygenError, r"backward: this tensor does not require grad"),
]


@pytest.mark.parametrize("make, error, message", CASES,
                         ids=[f"case{i}" for i in range(len(CASES))])
def test_error_messages(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_errors_share_one_base_and_builtin_kinds():
    assert issubclass(tg.ShapeError, tg.TinygenError) and issubclass(tg.ShapeError, ValueError)
    assert issubclass(tg.DTypeError, TypeError) and issubclass(tg.DeviceError, RuntimeError)
    assert issubclass(tg.IndexOutOfRange, IndexError)


@pytest.mark.skipif(tg.cuda_available(), reason="checks the message shown without a GPU")
def test_cuda_request_without_gpu_says_how_to_install():
    with pytest.raises(tg.DeviceError, match=r"pip install \"tinygen\[cuda\]\""):
        tg.zeros(2, device="cuda")
    with pytest.raises(tg.DeviceError, match="not available"):
        tg.zeros(2).to("cuda")


def test_mixing_devices_names_both(monkeypatch):
    class FakeGPUArray(np.ndarray):
        pass

    real = tg.backend.device_of
    monkeypatch.setattr(tg.backend, "device_of",
                        lambda a: "cuda" if isinstance(a, FakeGPUArray) else real(a))
    gpu = tg.Tensor(np.ones(2).view(FakeGPUArray))
    with pytest.raises(tg.DeviceError, match=r"add: inputs are on different devices "
                                             r"\['cpu', 'cuda'\]"):
        tg.ones(2, dtype="float64") + gpu
    with pytest.raises(tg.DeviceError, match=r"matmul: inputs are on different devices"):
        tg.ones(2, dtype="float64") @ gpu
    with pytest.raises(tg.DeviceError, match=r"concat: inputs are on different devices"):
        tg.concat([tg.ones(2, dtype="float64"), gpu])


def test_uncaught_tinygen_errors_print_one_line(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *exc: seen.append(exc[0]))
    monkeypatch.delenv(tg.errors.DEBUG_ENV, raising=False)
    tg.errors.install_excepthook("lessons/x.py")
    tg.errors.install_excepthook("lessons/y.py")  # a second install replaces the first
    sys.excepthook(tg.ShapeError, tg.ShapeError("add: bad shapes"), None)
    assert capsys.readouterr().err == "lessons/y.py: error: add: bad shapes\n" and not seen
    sys.excepthook(KeyError, KeyError("k"), None)  # not ours: the usual traceback
    monkeypatch.setenv(tg.errors.DEBUG_ENV, "1")
    sys.excepthook(tg.ShapeError, tg.ShapeError("add: bad shapes"), None)
    assert seen == [KeyError, tg.ShapeError] and capsys.readouterr().err == ""
