"""Many independent Gillespie trajectories per call (the direct method), one per ``prange``
iteration, on NumPy arrays.

The loop is :func:`tinygen.kernels.ssa_core.run` compiled with ``numba.njit``; its
counter-based random stream (one per trajectory) makes the result independent of the
number of threads and equal, trajectory by trajectory, to the pure-Python twin's.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import ssa_core
from ..ssa_args import check_network

_run = ssa_core.run
uniform = njit(ssa_core.uniform)  # the stream on its own, for the tests


@njit(parallel=True)  # not cached: Numba's cache would miss edits to ssa_core.run
def _simulate(seed, first, x, times, stoich, reactants, rates, max_events, out, events):
    for n in prange(x.shape[0]):
        events[n] = _run(seed, first + np.uint64(n), x[n], times, stoich, reactants, rates,
                         max_events, out[n])


def simulate(stoich: np.ndarray, reactants: np.ndarray, rates: np.ndarray,
             initial: np.ndarray, times: np.ndarray, seed: int, first: int = 0,
             max_events: int = 10**8) -> tuple[np.ndarray, np.ndarray]:
    """States (N, T, S) at the grid ``times`` of trajectories ``first`` … ``first + N − 1``
    started from ``initial`` (N, S), and their event counts (N,) (−1 where a trajectory needed
    more than ``max_events`` events; its states are then incomplete)."""
    stoich, reactants, rates, x, times = check_network(stoich, reactants, rates, initial, times,
                                                       seed, first, np)
    out = np.zeros((x.shape[0], times.shape[0], x.shape[1]), np.int64)
    events = np.zeros(x.shape[0], np.int64)
    _simulate(np.uint64(seed), np.uint64(first), x, times, stoich, reactants, rates,
              int(max_events), out, events)
    return out, events
