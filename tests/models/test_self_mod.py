"""Self-modulated BatchNorm (tinygen.models.self_mod): starts as plain BatchNorm, then
y = BN(x)·(1 + γ(z)) + β(z) on hand-set γ/β, z reaches every layer, shapes and errors."""

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.errors import ShapeError
from tinygen.models.self_mod import SelfModBatchNorm2d, SelfModGenerator

rng = np.random.default_rng(0)


def test_starts_as_plain_batchnorm_then_modulates_by_z():
    tg.manual_seed(0)
    layer = SelfModBatchNorm2d(3, z_dim=4, hidden=5)
    x = tg.tensor(rng.standard_normal((6, 3, 2, 2)).astype(np.float32))
    z = tg.tensor(rng.standard_normal((6, 4)).astype(np.float32))
    plain = nn.BatchNorm2d(3)(x).numpy()
    np.testing.assert_allclose(layer(x, z).numpy(), plain, rtol=1e-5, atol=1e-6)
    # set γ's and β's output biases by hand: y = BN(x)·(1 + γ) + β per channel
    layer.gamma[2].bias.data[...] = np.array([0.5, -1.0, 2.0], np.float32)
    layer.beta[2].bias.data[...] = np.array([1.0, 0.0, -3.0], np.float32)
    expected = plain * np.array([1.5, 0.0, 3.0])[None, :, None, None] \
        + np.array([1.0, 0.0, -3.0])[None, :, None, None]
    np.testing.assert_allclose(layer(x, z).numpy(), expected, rtol=1e-5, atol=1e-5)
    # with weights, each sample gets its own scale: the output depends on z
    layer.gamma[2].weight.data[...] = 1.0
    z2 = tg.tensor(rng.standard_normal((6, 4)).astype(np.float32))
    assert np.abs(layer(x, z).numpy() - layer(x, z2).numpy()).max() > 1e-3


def test_generator_shapes_and_gradients_reach_every_modulation():
    tg.manual_seed(0)
    g = SelfModGenerator(8, 14, (16, 8), hidden=6)
    z = tg.tensor(rng.standard_normal((5, 8)).astype(np.float32))
    x = g(z)
    assert x.shape == (5, 1, 14, 14) and np.abs(x.numpy()).max() < 1
    tg.sum(x * x).backward()
    for norm in g.norms:  # z reaches every BatchNorm: the zero-initialised outputs get gradients
        assert np.abs(norm.gamma[2].weight.grad.numpy()).max() > 0
        assert np.abs(norm.beta[2].bias.grad.numpy()).max() > 0
    assert not any(name.endswith("norm.weight") for name, _ in g.named_parameters())
    with pytest.raises(ValueError, match="SelfModGenerator"):
        SelfModGenerator(8, 14, (8, 8, 4))


def test_z_of_the_wrong_shape_names_the_layer():
    layer = SelfModBatchNorm2d(3, z_dim=4)
    x = tg.tensor(np.zeros((2, 3, 2, 2), np.float32))
    with pytest.raises(ShapeError, match="SelfModBatchNorm2d: z must have shape"):
        layer(x, tg.tensor(np.zeros((3, 4), np.float32)))
