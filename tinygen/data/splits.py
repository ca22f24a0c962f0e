"""Fixed train / validation / test splits, the same on every machine and every run.

Where a source defines its own test set (Fashion-MNIST's ``t10k`` files, MSRA's
``msra_test.txt``) the loaders keep it. Otherwise the examples are shuffled once by a
permutation seeded with :data:`SPLIT_SEED` (NumPy's PCG64, so the order is fixed across
platforms and NumPy versions) and cut into blocks: the **last** ``n_test`` items of the
shuffled order are the test set, the ``n_validation`` before them the validation set, and
the rest (still in shuffled order) the training set. Each loader documents its exact sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..errors import TinygenError

SPLIT_SEED = 0

#: (validation, test) sizes of the seeded splits, per dataset; 0 where the source defines
#: the test set itself. Documented with each loader; change them only knowingly.
SPLIT_SIZES: dict[str, tuple[int, int]] = {
    "digits": (180, 360),
    "mnist5k": (500, 1000),
    "mnist10k": (1000, 1000),
    "fashion-mnist": (5000, 0),
    "peoples-daily": (1000, 1000),
    "sentiment": (1000, 1000),
    "msra-ner": (2000, 0),
    "tang": (2000, 2000),
    "brown": (2000, 2000),
}


class Splits(NamedTuple):
    """A dataset's three disjoint parts; unpack it as ``train, validation, test = ...``."""

    train: Any
    validation: Any
    test: Any


def split_indices(n: int, n_validation: int, n_test: int,
                  seed: int = SPLIT_SEED) -> Splits:
    """Index arrays (int64) of the train, validation and test parts of ``n`` items.

    ``perm = PCG64(seed).permutation(n)``; test = ``perm[n - n_test:]``, validation =
    ``perm[n - n_test - n_validation : n - n_test]``, train = the rest, in that order.
    """
    if n_validation < 0 or n_test < 0 or n_validation + n_test > n:
        raise TinygenError(f"split_indices: cannot take {n_validation} validation and "
                           f"{n_test} test items out of {n}")
    perm = np.random.Generator(np.random.PCG64(seed)).permutation(n).astype(np.int64)
    cut_val, cut_test = n - n_test - n_validation, n - n_test
    return Splits(perm[:cut_val], perm[cut_val:cut_test], perm[cut_test:])


def split_arrays(arrays: Sequence[np.ndarray], n_validation: int, n_test: int,
                 seed: int = SPLIT_SEED) -> Splits:
    """Each part as a tuple of the ``arrays`` indexed alike (e.g. ``(images, labels)``)."""
    idx = split_indices(len(arrays[0]), n_validation, n_test, seed)
    return Splits(*(tuple(a[i] for a in arrays) for i in idx))


def split_list(items: Sequence, n_validation: int, n_test: int,
               seed: int = SPLIT_SEED) -> Splits:
    """Each part as a list of ``items`` (sentences, pairs, ...)."""
    idx = split_indices(len(items), n_validation, n_test, seed)
    return Splits(*([items[j] for j in i] for i in idx))
