"""Initialisers: fans, variance formulas, orthogonality, seeding, in-place filling."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygen as tg
from tinygen.nn import init


def test_fans():
    assert init.fans((5,)) == (5, 5)
    assert init.fans((3, 7)) == (3, 7)
    assert init.fans((3, 3, 4, 8)) == (36, 72)  # (kh, kw, in, out)
    with pytest.raises(tg.ShapeError):
        init.fans(())


@pytest.mark.parametrize("fn, variance", [
    (init.glorot_uniform_, lambda n, m: 2 / (n + m)),
    (init.glorot_normal_, lambda n, m: 2 / (n + m)),
    (init.he_uniform_, lambda n, m: 2 / n),
    (init.he_normal_, lambda n, m: 2 / n),
    (lambda t, generator: init.he_normal_(t, mode="fan_out", generator=generator),
     lambda n, m: 2 / m),
    (lambda t, generator: init.glorot_uniform_(t, gain=2.0, generator=generator),
     lambda n, m: 8 / (n + m)),
])
@pytest.mark.parametrize("shape", [(300, 500), (3, 3, 40, 60)])
def test_variance_formulas(fn, variance, shape):
    t = tg.zeros(shape, dtype=np.float64)
    out = fn(t, generator=tg.Generator(0))
    assert out is t
    n, m = init.fans(shape)
    a = t.numpy()
    assert abs(a.mean()) < 0.02 * math.sqrt(variance(n, m))
    assert a.var() == pytest.approx(variance(n, m), rel=0.03)


def test_uniform_limits():
    t = init.glorot_uniform_(tg.zeros(20, 30), generator=tg.Generator(1))
    limit = math.sqrt(6 / 50)
    assert np.abs(t.numpy()).max() <= limit and np.abs(t.numpy()).max() > 0.95 * limit


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (2, 3, 4)])
def test_orthogonal(shape):
    t = init.orthogonal_(tg.zeros(shape, dtype=np.float64), gain=2.0, generator=tg.Generator(2))
    q = t.numpy().reshape(-1, shape[-1]) / 2.0
    small = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    np.testing.assert_allclose(small, np.eye(min(q.shape)), atol=1e-12)
    with pytest.raises(tg.ShapeError, match="at least 2 dimensions"):
        init.orthogonal_(tg.zeros(3))


def test_seeded_and_constants():
    a = init.he_normal_(tg.zeros(4, 5), generator=tg.Generator(7))
    b = init.he_normal_(tg.zeros(4, 5), generator=tg.Generator(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert np.all(init.ones_(tg.zeros(3)).numpy() == 1)
    assert np.all(init.zeros_(tg.ones(3)).numpy() == 0)
    assert np.all(init.constant_(tg.zeros(3), 0.5).numpy() == 0.5)
    n = init.normal_(tg.zeros(20000, dtype=np.float64), 1.0, 0.5, generator=tg.Generator(0))
    assert n.numpy().mean() == pytest.approx(1.0, abs=0.02)
    assert n.numpy().std() == pytest.approx(0.5, rel=0.02)
    with pytest.raises(ValueError, match="fan_in"):
        init.he_uniform_(tg.zeros(2, 2), mode="fan")


def test_on_device(device):
    t = init.orthogonal_(tg.zeros(4, 4, device=device))
    assert t.device == device
    q = t.numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)
    if device == "cuda":
        with pytest.raises(tg.DeviceError):
            init.normal_(t, generator=tg.Generator(0))
