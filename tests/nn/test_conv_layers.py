"""Convolutional layers: against torch.nn with copied weights, gradients (order 1, and 2 for
Conv2d), initialisation, BatchNorm2d's statistics, state_dict round trips, shape errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import tinygen as tg
from tests.nn.helpers import check_module_grads
from tinygen import nn

try:
    import torch
except ImportError:  # pragma: no cover - torch is the optional `ref` extra
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def copy_params(ours: nn.Module, ref) -> None:
    """Copy torch's parameters (same names and layouts) into ours, in float64."""
    ours.to(dtype=np.float64)
    ref.double()
    state = {k: v.detach().numpy() for k, v in ref.state_dict().items()
             if k != "num_batches_tracked"}
    ours.load_state_dict(state)


def compare(ours: nn.Module, ref, x: np.ndarray, rtol: float = 1e-10) -> None:
    """Forward and input/parameter gradients of ours against torch on the same input."""
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    u = randn(*yt.shape)
    yt.backward(torch.tensor(u))
    xs = tg.tensor(x, requires_grad=True)
    y = ours(xs)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=rtol, atol=1e-12)
    y.backward(tg.tensor(u))
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=1e-12)
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ref_params[name].grad.numpy(), rtol=rtol,
                                   atol=1e-12, err_msg=name)


# -- against torch.nn ----------------------------------------------------------------------

CONV2D = [  # (C_in, C_out, kernel, settings, input H×W)
    (3, 4, 3, {}, (7, 6)),
    (2, 3, (2, 3), {"stride": 2, "padding": 1}, (7, 8)),
    (4, 6, 3, {"padding": "same", "dilation": 2, "groups": 2}, (6, 7)),
    (3, 2, 2, {"padding": "same", "bias": False}, (5, 5)),
    (4, 4, 3, {"stride": (2, 1), "padding": (0, 2), "groups": 4}, (8, 5)),
]


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("c_in, c_out, k, kw, hw", CONV2D)
def test_conv2d_matches_torch(c_in, c_out, k, kw, hw):
    ours, ref = nn.Conv2d(c_in, c_out, k, **kw), torch.nn.Conv2d(c_in, c_out, k, **kw)
    copy_params(ours, ref)
    compare(ours, ref, randn(2, c_in, *hw))


@needs_torch
@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1}, {"padding": "same",
                                                                   "dilation": 2},
                                {"groups": 2, "bias": False}])
def test_conv1d_matches_torch(kw):
    ours, ref = nn.Conv1d(4, 6, 3, **kw), torch.nn.Conv1d(4, 6, 3, **kw)
    copy_params(ours, ref)
    compare(ours, ref, randn(3, 4, 9))


@needs_torch
@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1, "output_padding": 1},
                                {"stride": 2, "groups": 2, "dilation": 2, "output_padding": 1},
                                {"stride": (3, 2), "padding": (1, 0), "bias": False}])
def test_conv_transpose2d_matches_torch(kw):
    ours, ref = nn.ConvTranspose2d(4, 6, 3, **kw), torch.nn.ConvTranspose2d(4, 6, 3, **kw)
    copy_params(ours, ref)
    compare(ours, ref, randn(2, 4, 4, 5))


@needs_torch
@pytest.mark.parametrize("ours, ref", [
    (lambda: nn.MaxPool2d(2), lambda: torch.nn.MaxPool2d(2)),
    (lambda: nn.MaxPool2d(3, stride=2, padding=1), lambda: torch.nn.MaxPool2d(3, 2, 1)),
    (lambda: nn.MaxPool2d(2, stride=1, dilation=2),
     lambda: torch.nn.MaxPool2d(2, stride=1, dilation=2)),
    (lambda: nn.AvgPool2d(2), lambda: torch.nn.AvgPool2d(2)),
    (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
     lambda: torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
    (lambda: nn.Upsample(2), lambda: torch.nn.Upsample(scale_factor=2)),
    (lambda: nn.Upsample((2, 3), mode="bilinear"),
     lambda: torch.nn.Upsample(scale_factor=(2, 3), mode="bilinear")),
    (lambda: nn.Upsample(2, mode="bilinear", align_corners=True),
     lambda: torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)),
    (lambda: nn.Flatten(), lambda: torch.nn.Flatten()),
    (lambda: nn.Flatten(2), lambda: torch.nn.Flatten(2)),
], ids=["max2", "max3s2p1", "max-dilated", "avg2", "avg-nopad", "up-nearest", "up-bilinear",
        "up-corners", "flatten", "flatten2"])
def test_parameter_free_layers_match_torch(ours, ref):
    compare(ours(), ref(), randn(2, 3, 6, 5))


@needs_torch
def test_batchnorm2d_matches_torch():
    ours, ref = nn.BatchNorm2d(3, momentum=0.2), torch.nn.BatchNorm2d(3, momentum=0.2)
    ref.weight.data.uniform_(0.5, 2.0)
    ref.bias.data.uniform_(-1.0, 1.0)
    copy_params(ours, ref)
    for _ in range(3):  # running statistics after several training steps
        x = 1.0 + 2.0 * randn(4, 3, 5, 6)
        compare(ours, ref, x)
        ours.zero_grad(), ref.zero_grad()
    np.testing.assert_allclose(ours.running_mean.numpy(), ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var.numpy(), ref.running_var.numpy(), rtol=1e-12)
    ours.eval(), ref.eval()
    compare(ours, ref, randn(2, 3, 4, 4))


# -- gradients -----------------------------------------------------------------------------

def test_conv2d_grads_to_second_order():
    check_module_grads(nn.Conv2d(2, 3, 2, stride=2, padding=1), [randn(2, 2, 4, 3)], order=2)
    check_module_grads(nn.Conv2d(4, 2, (2, 3), padding="same", dilation=(1, 2), groups=2),
                       [randn(1, 4, 3, 5)], order=2)


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1), (2, 2, 6)),
    (lambda: nn.ConvTranspose2d(2, 4, 2, stride=2, output_padding=1, groups=2), (1, 2, 3, 2)),
    (lambda: nn.MaxPool2d(2, stride=1), (1, 2, 3, 4)),
    (lambda: nn.AvgPool2d(2, padding=1), (1, 2, 3, 4)),
    (lambda: nn.Upsample(2, mode="bilinear"), (1, 2, 3, 2)),
    (lambda: nn.Upsample(2), (1, 1, 2, 3)),
    (lambda: nn.Flatten(), (2, 2, 3, 1)),
    (lambda: nn.BatchNorm2d(2), (3, 2, 2, 2)),
], ids=["conv1d", "convT2d", "maxpool", "avgpool", "bilinear", "nearest", "flatten", "bn2d"])
def test_layer_grads(make, shape):
    check_module_grads(make(), [randn(*shape)])


def test_batchnorm2d_eval_grads():
    bn = nn.BatchNorm2d(2)
    bn.running_mean.data[:] = [0.5, -1.0]
    bn.running_var.data[:] = [2.0, 0.5]
    bn.eval()
    check_module_grads(bn, [randn(1, 2, 2, 3)], order=2)


# -- initialisation, devices, state ----------------------------------------------------------

def test_he_uniform_initialisation():
    conv = nn.Conv2d(16, 32, 3, generator=tg.Generator(1))
    w = conv.weight.numpy()
    assert w.shape == (32, 16, 3, 3) and w.dtype == np.float32
    bound = math.sqrt(6 / (16 * 9))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert w.var() == pytest.approx(2 / (16 * 9), rel=0.1)
    np.testing.assert_array_equal(conv.bias.numpy(), 0)
    again = nn.Conv2d(16, 32, 3, generator=tg.Generator(1))
    np.testing.assert_array_equal(again.weight.numpy(), w)  # a seed fixes the weights
    grouped = nn.Conv2d(8, 4, 3, groups=4)
    assert np.abs(grouped.weight.numpy()).max() <= math.sqrt(6 / (2 * 9))
    up = nn.ConvTranspose2d(8, 4, 4, stride=2)
    assert up.weight.shape == (8, 4, 4, 4)
    assert np.abs(up.weight.numpy()).max() <= math.sqrt(6 / (8 * 16 / 4))


def test_conv_stack_forward_and_device(device):
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding="same"), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Upsample(2), nn.ConvTranspose2d(8, 2, 2, stride=2), nn.Flatten(),
                          nn.Linear(2 * 8 * 8, 3)).to(device)
    x = tg.randn(5, 1, 12, 12, device=device)
    y = model(x)
    assert y.shape == (5, 3) and y.device == device and y.dtype == np.float32
    y.sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


def test_state_dict_round_trip():
    def make():
        return nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.Conv1d(4, 2, 1),
                             nn.ConvTranspose2d(4, 2, 2, stride=2, bias=False))

    a, b = make(), make()
    a[1](tg.randn(3, 4, 2, 2))  # move the running statistics away from their start
    state = a.state_dict()
    assert sorted(state) == ["0.bias", "0.weight", "1.bias", "1.running_mean",
                             "1.running_var", "1.weight", "2.bias", "2.weight", "3.weight"]
    assert state["0.weight"].shape == (4, 2, 3, 3) and state["3.weight"].shape == (4, 2, 2, 2)
    b.load_state_dict(state)
    for name, value in b.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[name].numpy(), err_msg=name)
    x = tg.randn(2, 2, 5, 5)
    a.eval(), b.eval()
    np.testing.assert_array_equal(a[1](a[0](x)).numpy(), b[1](b[0](x)).numpy())


def test_batchnorm2d_train_and_eval_statistics():
    bn = nn.BatchNorm2d(3, momentum=0.1).to(dtype=np.float64)
    bn.weight.data[:] = [1.0, 2.0, 3.0]
    bn.bias.data[:] = [0.0, -1.0, 1.0]
    x = 2.0 + 3.0 * randn(4, 3, 5, 6)
    y = bn(tg.tensor(x)).numpy()
    c = (1, 3, 1, 1)
    normed = (y - bn.bias.numpy().reshape(c)) / bn.weight.numpy().reshape(c)
    np.testing.assert_allclose(normed.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(normed.var(axis=(0, 2, 3)), 1, rtol=1e-4)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.mean(axis=(0, 2, 3)),
                               rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               0.9 + 0.1 * x.var(axis=(0, 2, 3), ddof=1), rtol=1e-12)
    bn.eval()
    before = bn.running_mean.numpy().copy()
    z = randn(2, 3, 3, 3)
    expected = ((z - bn.running_mean.numpy().reshape(c))
                / np.sqrt(bn.running_var.numpy().reshape(c) + 1e-5)
                * bn.weight.numpy().reshape(c) + bn.bias.numpy().reshape(c))
    np.testing.assert_allclose(bn(tg.tensor(z)).numpy(), expected, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)  # eval does not update
    assert bn(tg.zeros(1, 3, 1, 1)).shape == (1, 3, 1, 1)  # one value per channel is fine


def test_reprs():
    assert repr(nn.Conv2d(3, 8, 3)) == "Conv2d(in_channels=3, out_channels=8, kernel_size=(3, 3))"
    assert repr(nn.Conv2d(4, 8, (1, 3), padding="same", groups=2, bias=False)) == (
        "Conv2d(in_channels=4, out_channels=8, kernel_size=(1, 3), padding='same', groups=2, "
        "bias=False)")
    assert repr(nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1)) == (
        "ConvTranspose2d(in_channels=2, out_channels=2, kernel_size=(4, 4), stride=(2, 2), "
        "padding=(1, 1))")
    assert repr(nn.Conv1d(2, 2, np.int64(3), stride=np.int64(2))) == (
        "Conv1d(in_channels=2, out_channels=2, kernel_size=(3,), stride=(2,))")
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2))"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


# -- shape errors --------------------------------------------------------------------------

SHAPE_ERRORS = [
    (lambda: nn.Conv2d(3, 8, 3)(tg.zeros(2, 4, 8, 8)),
     "Conv2d(in_channels=3, out_channels=8, kernel_size=(3, 3)): expected input of shape "
     "(N, 3, H, W), got (2, 4, 8, 8)"),
    (lambda: nn.Conv2d(3, 8, 3)(tg.zeros(3, 8, 8)),
     "Conv2d(in_channels=3, out_channels=8, kernel_size=(3, 3)): expected input of shape "
     "(N, 3, H, W), got (3, 8, 8)"),
    (lambda: nn.Conv2d(3, 8, 5, padding=1)(tg.zeros(1, 3, 2, 2)),
     "Conv2d(in_channels=3, out_channels=8, kernel_size=(5, 5), padding=(1, 1)): conv2d: the "
     "kernel (dilated size (5, 5)) is larger than the padded input (size (4, 4))"),
    (lambda: nn.Conv1d(2, 4, 3)(tg.zeros(2, 3, 9)),
     "Conv1d(in_channels=2, out_channels=4, kernel_size=(3,)): expected input of shape "
     "(N, 2, L), got (2, 3, 9)"),
    (lambda: nn.Conv1d(2, 4, 3)(tg.zeros(2, 2, 3, 3)),
     "Conv1d(in_channels=2, out_channels=4, kernel_size=(3,)): expected input of shape "
     "(N, 2, L), got (2, 2, 3, 3)"),
    (lambda: nn.ConvTranspose2d(4, 2, 2, stride=2)(tg.zeros(1, 2, 3, 3)),
     "ConvTranspose2d(in_channels=4, out_channels=2, kernel_size=(2, 2), stride=(2, 2)): "
     "expected input of shape (N, 4, H, W), got (1, 2, 3, 3)"),
    (lambda: nn.ConvTranspose2d(4, 2, 3, padding=2)(tg.zeros(1, 4, 1, 1)),
     "ConvTranspose2d(in_channels=4, out_channels=2, kernel_size=(3, 3), padding=(2, 2)): "
     "conv_transpose2d: the output would have size (-1, -1)"),
    (lambda: nn.MaxPool2d(2)(tg.zeros(4, 4)),
     "MaxPool2d(kernel_size=(2, 2), stride=(2, 2)): expected input of shape (N, C, H, W), "
     "got (4, 4)"),
    (lambda: nn.MaxPool2d(3)(tg.zeros(1, 1, 2, 2)),
     "MaxPool2d(kernel_size=(3, 3), stride=(3, 3)): max_pool2d: the window (size (3, 3)) is "
     "larger than the padded input (size (2, 2))"),
    (lambda: nn.AvgPool2d(2)(tg.zeros(1, 2, 4)),
     "AvgPool2d(kernel_size=(2, 2), stride=(2, 2)): expected input of shape (N, C, H, W), "
     "got (1, 2, 4)"),
    (lambda: nn.BatchNorm2d(3)(tg.zeros(2, 4, 5, 5)),
     "BatchNorm2d(3, eps=1e-05, momentum=0.1): expected input of shape (N, 3, H, W), "
     "got (2, 4, 5, 5)"),
    (lambda: nn.BatchNorm2d(3)(tg.zeros(2, 3, 5)),
     "BatchNorm2d(3, eps=1e-05, momentum=0.1): expected input of shape (N, 3, H, W), "
     "got (2, 3, 5)"),
    (lambda: nn.BatchNorm2d(3)(tg.zeros(1, 3, 1, 1)),
     "BatchNorm2d(3, eps=1e-05, momentum=0.1): expected input of shape (N, 3, H, W) with "
     "N·H·W > 1 (training needs more than one value per channel), got (1, 3, 1, 1)"),
    (lambda: nn.Upsample(2)(tg.zeros(1, 2, 3)),
     "Upsample(scale_factor=(2, 2), mode='nearest'): expected input of shape (N, C, H, W), "
     "got (1, 2, 3)"),
    (lambda: nn.Flatten()(tg.zeros(5)),
     "Flatten(start_dim=1, end_dim=-1): expected input of shape (N, ...) with at least 2 "
     "dimensions, got (5,)"),
    (lambda: nn.Flatten(2, 3)(tg.zeros(2, 3, 4)),
     "Flatten(start_dim=2, end_dim=3): expected input of shape (N, ...) with at least 4 "
     "dimensions, got (2, 3, 4)"),
    # bad settings are caught when the layer is made
    (lambda: nn.Conv2d(3, 8, 3, groups=2),
     "Conv2d(in_channels=3, out_channels=8, kernel_size=(3, 3), groups=2): groups=2 must "
     "divide in_channels (3) and out_channels (8)"),
    (lambda: nn.Conv2d(3, 8, 3, stride=2, padding="same"),
     "padding='same' needs stride 1"),
    (lambda: nn.Conv2d(3, 8, 0), "Conv2d: kernel_size must be a positive int or 2 positive "
     "ints, got 0"),
    (lambda: nn.Conv2d(3, 8, 3, padding="full"), "Conv2d: padding must be an int, 2 ints, "
     "'same' or 'valid', got 'full'"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2),
     "output_padding (2, 2) must be smaller than the stride (2, 2) or the dilation (1, 1)"),
    (lambda: nn.Conv2d(2, 2, 3, output_padding=1),
     "Conv2d: output_padding belongs to transposed convolutions, got 1"),
    (lambda: nn.Flatten(3, 1), "Flatten(start_dim=3, end_dim=1): start_dim comes after "
     "end_dim for every input"),
]


@pytest.mark.parametrize("call, message", SHAPE_ERRORS, ids=[m[:48] for _, m in SHAPE_ERRORS])
def test_shape_error_message(call, message):
    with pytest.raises(tg.ShapeError, match=re.escape(message)):
        call()
