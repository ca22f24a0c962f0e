"""Boolean masks must have the shape of the dimensions they index (NumPy's rule)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygen as tg
from tinygen.errors import IndexOutOfRange


@pytest.mark.parametrize("key", [
    np.array([True, False, True, False]),            # too long
    np.array([True, False]),                         # too short
    (Ellipsis, np.array([True, False, True])),       # wrong length for the last axis
    (0, np.ones((3, 5), dtype=bool)),                # wrong 2-d shape
])
def test_a_mask_of_the_wrong_shape_is_refused(key):
    """A too-long mask with no True past the end used to be accepted (via nonzero)."""
    x = tg.ones((3, 3, 4)) if isinstance(key, tuple) else tg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(IndexOutOfRange, match="boolean mask of shape"):
        x[key]
    with pytest.raises(IndexError):  # NumPy refuses it too
        x.numpy()[key]


@pytest.mark.parametrize("key", [
    np.array([True, False, True]),
    (Ellipsis, np.array([True, False, True, True])),
    (0, np.ones((3, 4), dtype=bool)),
    (None, 1, Ellipsis, np.array([False, True, True, False])),
    (slice(None), np.array([True, False, True]), 0),
])
def test_masks_of_the_right_shape_match_numpy(key):
    a = np.arange(36.0).reshape(3, 3, 4) if isinstance(key, tuple) else np.arange(3.0)
    np.testing.assert_array_equal(tg.tensor(a)[key].numpy(), a[key])
