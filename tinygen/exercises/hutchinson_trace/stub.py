"""Exercise hutchinson_trace: estimate tr(A) from matrix-vector products only.

If v is a random vector with E[v] = 0 and E[v vᵀ] = I, then E[vᵀ A v] = tr(A). So the
average over m independent probes

    tr(A) ≈ (1/m) Σ_{i=1..m} v_iᵀ A v_i

is an unbiased estimate. Probes with entries ±1 at random (Rademacher) have the smallest
variance; standard normal entries work too. This is how a flow's log-determinant is
estimated when A is only available through products Av (the i-ResNet's power series).

    hutchinson_trace(A, m, rng) -> float

A is a square NumPy array; draw the probes from ``rng`` (a np.random.Generator, e.g.
``rng.choice([-1.0, 1.0], size=(m, n))`` or ``rng.standard_normal((m, n))``). The checker is
statistical: with m = 4000 probes your estimate must lie within six standard errors of the
exact trace, for random A and for an A with only off-diagonal entries.
"""

import numpy as np


def hutchinson_trace(A: np.ndarray, m: int, rng: np.random.Generator) -> float:
    raise NotImplementedError
