"""Fixed splits: sizes as documented, disjoint, covering, and the same every time."""

import numpy as np
import pytest

from tinygen.data import splits
from tinygen.errors import TinygenError


@pytest.mark.parametrize("n, n_val, n_test", [(5000, 500, 1000), (1797, 180, 360), (10, 0, 0),
                                              (7, 3, 4)])
def test_split_indices_partition(n, n_val, n_test):
    train, val, test = splits.split_indices(n, n_val, n_test)
    assert (len(train), len(val), len(test)) == (n - n_val - n_test, n_val, n_test)
    both = np.concatenate([train, val, test])
    np.testing.assert_array_equal(np.sort(both), np.arange(n))  # disjoint and complete
    again = splits.split_indices(n, n_val, n_test)
    for a, b in zip((train, val, test), again):
        np.testing.assert_array_equal(a, b)


def test_split_is_pinned_across_versions():
    """The permutation is PCG64(0)'s: if NumPy ever changed it, every split would move."""
    train, val, test = splits.split_indices(10, 2, 3)
    np.testing.assert_array_equal(np.concatenate([train, val, test]),
                                  np.random.Generator(np.random.PCG64(0)).permutation(10))
    assert splits.split_indices(10, 2, 3, seed=1).test.tolist() != test.tolist()


def test_split_helpers_and_errors():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    train, val, test = splits.split_arrays((x, y), 2, 3)
    np.testing.assert_array_equal(train[0][:, 0] // 2, train[1])
    assert [len(p) for p in splits.split_list(list("abcdefghij"), 2, 3)] == [5, 2, 3]
    with pytest.raises(TinygenError, match="cannot take 6 validation and 5 test"):
        splits.split_indices(10, 6, 5)
