"""The Fréchet digit distance's classifier (image_gans.digit_feature_net): cached as
safetensors with its sha256 and retrained when the file does not match; real held-out digits
are close to the training digits, shuffled pixels far."""

import json

import numpy as np
import pytest

from tinygen.data.sources import sha256_of

from tinygen.models.image_gans import (FEATURE_WIDTH, DigitScorer, digit_data,
                                       digit_feature_net)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TINYGEN_DATA", str(folder))
        yield folder


def test_trained_once_then_loaded_and_retrained_when_tampered(cache):
    x, _, xt, _, _ = digit_data(quick=True)
    net = digit_feature_net("digits")
    path = cache / "feature-nets" / "digits-8-seed0.safetensors"
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["data"] == "digits" and len(record["sha256"]) == 64
    features = net.features(xt[:50])
    assert features.shape == (50, FEATURE_WIDTH) and (features >= 0).all()  # after ReLU
    again = digit_feature_net("digits")
    np.testing.assert_array_equal(again.features(xt[:50]), features)
    # a byte changed in the weights: the sha256 no longer matches, so it is trained again
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    retrained = digit_feature_net("digits")
    assert json.loads(path.with_suffix(".json").read_text())["sha256"] == sha256_of(path)
    np.testing.assert_allclose(retrained.features(xt[:50]), features, atol=1e-4)  # seeded
    with pytest.raises(ValueError, match="digit_feature_net"):
        digit_feature_net("cifar")


def test_real_held_out_is_close_and_shuffled_pixels_far(cache):
    x, y, xt, yt, side = digit_data(quick=True)
    net = digit_feature_net("digits")
    assert net.accuracy(xt, yt) > 0.9
    rng = np.random.default_rng(0)
    shuffled = xt.reshape(len(xt), -1)[:, rng.permutation(side * side)].reshape(xt.shape)
    near, far = net.frechet(xt, x), net.frechet(shuffled, x)
    assert near < 0.1 * far, (near, far)
    assert net.frechet(x, xt) == pytest.approx(near, rel=1e-6)  # symmetric
    # one class against all digits is farther than held-out digits of every class
    assert net.frechet(xt[yt == 3], x) > 3 * near


def test_hidden_layer_is_what_features_return():
    scorer = DigitScorer(8, hidden=12)
    x = np.zeros((3, 1, 8, 8), np.float32)
    assert scorer.features(x).shape == (3, 12)
    assert DigitScorer(8).features(x).shape == (3, 32 * 2 * 2)


def test_digit_data_names_its_bad_argument():
    from tinygen.errors import ArgumentError

    with pytest.raises(ArgumentError, match="digit_data: data must be 'mnist', 'mnist10k' or "
                       "'fashion', got 'cifar'"):
        digit_data(quick=False, data="cifar")
    # quick mode is always the bundled 8×8 digits, whatever data says
    assert digit_data(quick=True, data="fashion")[4] == 8


def test_digit_data_mnist10k_is_the_10k_set_at_14(monkeypatch):
    from tinygen.models import image_gans

    x = np.random.default_rng(0).uniform(0, 1, (6, 28, 28)).astype(np.float32)
    y = np.arange(6)
    monkeypatch.setattr(image_gans, "load_mnist10k",
                        lambda: ((x[:4], y[:4]), (x[4:5], y[4:5]), (x[5:], y[5:])))
    train, y_train, test, y_test, side = digit_data(quick=False, data="mnist10k")
    assert side == 14 and train.shape == (4, 1, 14, 14) and test.shape == (1, 1, 14, 14)
    np.testing.assert_array_equal(y_train, y[:4])
    assert y_test.tolist() == [5]
    np.testing.assert_allclose(train[0, 0, 0, 0], 2 * x[0, :2, :2].mean() - 1, rtol=1e-6)
