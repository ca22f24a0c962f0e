"""Exercise unbroadcast: sum a gradient back to the shape of the input it belongs to.

When x of shape (3,) is added to y of shape (2, 3), NumPy broadcasts x: it is used twice,
once per row. So x's gradient is the upstream gradient g (shape (2, 3)) summed over the
rows. In general, for an input of ``shape`` broadcast to ``g.shape``:

1. g has extra *leading* axes the input did not have: sum them away;
2. where the input had size 1 and g has size n, sum over that axis keeping it (size 1).

    unbroadcast(g, shape) -> array of exactly ``shape``

e.g. unbroadcast(ones((4, 2, 3)), (2, 1)) == full((2, 1), 12.0).

Every backward rule of a broadcasting op (add, mul, matmul's batch axes ...) ends with this
step. The checker tests leading axes, size-1 axes and random broadcasts against the
reference.
"""

import numpy as np


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    raise NotImplementedError
