"""SpectralNorm: σ converges to the largest singular value, W/σ has spectral norm 1, u is
persistent state updated only in training, gradients treat u and v as constants."""

from __future__ import annotations

import numpy as np
import pytest

import tinygen as tg
from tests.nn.helpers import check_module_grads
from tinygen import nn

rng = np.random.default_rng(0)


def largest_singular_value(w):
    """σ_max of w as SpectralNorm reads it: 2-D as it is, a conv weight as (C_out, rest)."""
    return np.linalg.svd(w.reshape(w.shape[0], -1), compute_uv=False)[0]


@pytest.mark.parametrize("n_iter", [1, 3])
def test_sigma_converges_to_largest_singular_value(n_iter, device):
    sn = nn.SpectralNorm(nn.Linear(6, 4, generator=tg.Generator(0)), n_power_iterations=n_iter,
                         generator=tg.Generator(1)).to(device, dtype=np.float64)
    x = tg.tensor(rng.standard_normal((2, 6)), device=device)
    for _ in range(60 // n_iter):
        y = sn(x)
    w = sn.module.weight.numpy()
    assert float(sn.sigma()) == pytest.approx(largest_singular_value(w), rel=1e-6)
    assert largest_singular_value(sn.normalized_weight().numpy()) == pytest.approx(1.0, rel=1e-6)
    expected = x.numpy() @ (w / largest_singular_value(w)) + sn.module.bias.numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5)
    assert sn.module.weight is sn.module._parameters["weight"]  # parameter restored after forward


def test_u_is_persistent_and_only_updated_in_training():
    sn = nn.SpectralNorm(nn.Linear(3, 5), generator=tg.Generator(0))
    assert [n for n, _ in sn.named_parameters()] == ["module.weight", "module.bias"]
    assert list(sn.state_dict()) == ["module.weight", "module.bias", "u"]
    x = tg.randn(2, 3)
    u0 = sn.u.numpy().copy()
    sn.eval()
    sn(x)
    np.testing.assert_array_equal(sn.u.numpy(), u0)
    sn.train()
    sn(x)
    assert not np.allclose(sn.u.numpy(), u0)
    other = nn.SpectralNorm(nn.Linear(3, 5))
    other.load_state_dict(sn.state_dict())
    other.eval(), sn.eval()
    np.testing.assert_array_equal(other(x).numpy(), sn(x).numpy())


def test_conv_shaped_weight():
    class Kernel(nn.Module):
        def __init__(self):
            super().__init__()
            # a fixed matrix: the test must not depend on the global generator's state (a
            # random draw with close top singular values left 50 iterations at 2.4e-6)
            self.weight = nn.Parameter(tg.randn(3, 3, 2, 4, dtype=np.float64,
                                                generator=tg.Generator(0)))

        def forward(self):
            return self.weight

    sn = nn.SpectralNorm(Kernel(), n_power_iterations=300)
    assert sn.u.shape == (3 * 2 * 4,)  # one entry per column of the (C_out, C_in·kH·kW) matrix
    w = sn()
    assert largest_singular_value(w.numpy()) == pytest.approx(1.0, rel=1e-6)
    # the matrix is (C_out, C_in·kH·kW), not the (C_out·C_in·kH, kW) of a last-axis reading
    other = np.linalg.svd(w.numpy().reshape(-1, 4), compute_uv=False)[0]
    assert abs(other - 1.0) > 1e-3


def test_gradient_treats_u_and_v_as_constants():
    sn = nn.SpectralNorm(nn.Linear(4, 3, generator=tg.Generator(0)),
                         generator=tg.Generator(1)).to(dtype=np.float64)
    for _ in range(3):
        sn(tg.zeros(1, 4, dtype=np.float64))
    sn.eval()  # u fixed, so the function is deterministic
    check_module_grads(sn, [rng.standard_normal((2, 4))])
    w = sn.module.weight
    (g,) = tg.grad(sn.sigma(), [w])
    u = sn.u.numpy()
    v = w.numpy() @ u / np.linalg.norm(w.numpy() @ u)
    np.testing.assert_allclose(g.numpy(), np.outer(v, u), rtol=1e-12)  # dσ/dW = v uᵀ


def test_errors():
    with pytest.raises(tg.TinygenError, match="no parameter 'kernel'; it has weight, bias"):
        nn.SpectralNorm(nn.Linear(2, 2), name="kernel")
    with pytest.raises(ValueError, match="n_power_iterations"):
        nn.SpectralNorm(nn.Linear(2, 2), n_power_iterations=-1)
    with pytest.raises(tg.ShapeError, match=r"Linear\(in_features=2, out_features=2\)"):
        nn.SpectralNorm(nn.Linear(2, 2))(tg.zeros(1, 3))


def test_conv_spectral_norm_uses_the_out_by_rest_matrix():
    conv = nn.Conv2d(3, 5, 4, stride=2, padding=1, generator=tg.Generator(0))
    sn = nn.SpectralNorm(conv, n_power_iterations=1, generator=tg.Generator(1))
    assert sn.u.shape == (3 * 4 * 4,)
    x = tg.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
    for _ in range(100):  # the power iteration converges over training forwards
        y = sn(x)
    w = conv.weight.numpy()
    sigma = np.linalg.svd(w.reshape(5, -1), compute_uv=False)[0]
    assert float(sn.sigma()) == pytest.approx(sigma, rel=1e-4)
    normalized = sn.normalized_weight().numpy().reshape(5, -1)
    assert np.linalg.svd(normalized, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-4)
    expected = tg.conv2d(x, tg.tensor(w / sigma), conv.bias, 2, 1).numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-4, atol=1e-6)
    y.sum().backward()
    assert conv.weight.grad is not None and np.isfinite(conv.weight.grad.numpy()).all()
