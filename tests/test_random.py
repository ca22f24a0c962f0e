"""Seeded generators: same seed, same numbers; and the samples have the right law."""

import numpy as np
import pytest

import tinygen as tg


def test_same_seed_same_numbers(device):
    a, b = tg.Generator(7, device), tg.Generator(7, device)
    for name, args in [("normal", (3, 2)), ("uniform", (4,)), ("gumbel", (2, 2)),
                       ("permutation", (6,)), ("integers", (0, 9, 5))]:
        np.testing.assert_array_equal(getattr(a, name)(*args).numpy(),
                                      getattr(b, name)(*args).numpy())
    assert not np.array_equal(tg.Generator(8, device).normal(5).numpy(),
                              tg.Generator(7, device).normal(5).numpy())


def test_manual_seed_resets_the_default_stream():
    tg.manual_seed(3)
    first = tg.randn(4).numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(tg.randn(4).numpy(), first)
    assert tg.randn(2, 2, dtype="float64").dtype == np.float64
    assert tg.rand(3, requires_grad=True).requires_grad


def test_state_dict_round_trip_continues_the_stream():
    g = tg.Generator(11)
    g.normal(10)
    state = g.state_dict()
    expected = g.normal(5).numpy()
    h = tg.Generator(0)
    h.load_state_dict(state)
    np.testing.assert_array_equal(h.normal(5).numpy(), expected)
    with pytest.raises(tg.TinygenError, match="expected a PCG64 state"):
        h.load_state_dict({"device": "cpu", "bit_generator": "MT19937"})


def test_distributions_statistically():
    g = tg.Generator(0)
    n = 200_000
    z = g.normal(n, mean=1.0, std=2.0, dtype="float64").numpy()
    assert abs(z.mean() - 1.0) < 5 * 2.0 / np.sqrt(n) and abs(z.std() - 2.0) < 0.02
    u = g.uniform(n, low=-1.0, high=3.0, dtype="float64").numpy()
    assert u.min() >= -1.0 and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.02
    b = g.bernoulli(0.3, (n,)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 5 * np.sqrt(0.21 / n)
    gum = g.gumbel(n, dtype="float64").numpy()
    assert abs(gum.mean() - np.euler_gamma) < 5 * (np.pi / np.sqrt(6)) / np.sqrt(n)
    logits = np.log(np.array([0.1, 0.2, 0.7]))
    counts = np.bincount(g.categorical(tg.tensor(logits), num_samples=n).numpy(), minlength=3)
    expected = n * np.array([0.1, 0.2, 0.7])
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 13.8  # 99.9% quantile of chi-square with 2 degrees of freedom
    assert sorted(g.permutation(10).tolist()) == list(range(10))
    batch = g.categorical(tg.tensor(np.zeros((4, 5))))
    assert batch.shape == (4,) and batch.dtype.kind == "i"


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_every_floating_dtype_is_sampled(device, dtype):
    """float16 used to raise "Unsupported dtype float16 for random" (NumPy and CuPy draw only
    float32/float64); it is drawn in float32 and rounded, uniform staying below 1."""
    g = tg.Generator(5, device)
    for name in ("normal", "uniform", "gumbel"):
        x = getattr(g, name)(4000, dtype=dtype)
        assert x.dtype == dtype and x.device == device
        assert bool(np.isfinite(x.numpy()).all())
    u = g.uniform(20000, dtype=dtype).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(float(u.astype(np.float64).mean()) - 0.5) < 0.02
    z = g.normal(20000, dtype=dtype).numpy().astype(np.float64)
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05
    y = tg.F.gumbel_softmax(tg.tensor(np.zeros((3, 4)), dtype=dtype, device=device),
                            generator=g)
    assert y.dtype == dtype
    np.testing.assert_allclose(y.numpy().astype(np.float64).sum(-1), 1.0, atol=1e-2)


@pytest.mark.parametrize("name", ["normal", "uniform", "gumbel"])
def test_non_floating_dtypes_are_named(name):
    with pytest.raises(tg.DTypeError, match=f"{name}: samples come in a floating dtype "
                                            r"\(float16, float32 or float64\), got int64"):
        getattr(tg.Generator(0), name)(3, dtype="int64")
