r"""Ensembles of SSA trajectories split into chunks, run here or on a ``dask.distributed``
cluster.

Trajectory i's random stream is a hash of (seed, i) (:mod:`tinygen.kernels.ssa_core`), so a
chunk of trajectories ``first`` … ``first + m − 1`` needs nothing from any other chunk: no
generator state to hand on, no jump-ahead, no per-worker seed. Splitting n trajectories
into chunks and concatenating the chunks' results is therefore the same array, bit for bit,
whether the chunks run in one call, one after the other, or on different machines.

With a ``client`` (a ``dask.distributed.Client``) each chunk becomes one task,
``client.submit(simulate_chunk, ...)``, on whichever worker is free; the network and grid are
sent to the workers once (``client.scatter``). Workers need tinygen installed (same version)
and run the CPU kernel with their own Numba threads. Dask is imported only here, only when a
client is given (the ``dask`` extra: ``pip install "tinygen[dask]"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ArgumentError

if TYPE_CHECKING:  # for the annotations only; never imported at run time
    from .ssa import ReactionNetwork

DASK_HINT = ('install the dask extra (pip install "tinygen[dask]", which brings '
             'dask[distributed])')


def chunks(n: int, size: int, first: int = 0) -> list[tuple[int, int]]:
    """(first trajectory, count) of each chunk of at most ``size`` covering
    ``first`` … ``first + n − 1`` in order."""
    if int(n) != n or n < 0:
        raise ArgumentError(f"ssa.simulate_many: n must be an integer ≥ 0, got {n!r}")
    if int(size) != size or size < 1:
        raise ArgumentError(f"ssa.simulate_many: chunk must be an integer ≥ 1, got {size!r}")
    return [(first + s, min(size, n - s)) for s in range(0, int(n), int(size))]


def simulate_chunk(net: ReactionNetwork, grid: np.ndarray, count: int, seed: int, first: int,
                   max_events: int, initial: np.ndarray | None = None) -> np.ndarray:
    """One chunk on the CPU kernel (what a Dask worker runs): (count, T, S) counts."""
    from .ssa import simulate_many
    return simulate_many(net, grid, count, seed, first=first, max_events=max_events,
                         initial=initial)


def _require_client(client: Any) -> None:
    try:
        import distributed
    except ImportError:
        raise ArgumentError(f"ssa.simulate_many: client= needs dask.distributed, which is not "
                            f"installed; {DASK_HINT}") from None
    if not isinstance(client, distributed.Client):
        raise ArgumentError(f"ssa.simulate_many: client must be a dask.distributed.Client, got "
                            f"{type(client).__name__}")


def simulate_on(client: Any, net: ReactionNetwork, grid: np.ndarray, n: int, seed: int,
                first: int, max_events: int, chunk: int, initial: np.ndarray | None = None
                ) -> np.ndarray:
    """The chunks as Dask tasks on ``client``'s workers, gathered in order: (n, T, S)."""
    _require_client(client)
    parts = chunks(n, chunk, first)
    if not parts:
        return np.zeros((0, len(grid), len(net.species)), np.int64)
    # hash=False: a fresh key per call (a key reused from an earlier call can be released
    # by that call's clean-up while this one still needs it)
    net_f, grid_f = client.scatter([net, grid], broadcast=True, hash=False)
    futures = [client.submit(simulate_chunk, net_f, grid_f, count, seed, start, max_events,
                             None if initial is None else
                             initial[start - first:start - first + count], pure=False)
               for start, count in parts]
    return np.concatenate(client.gather(futures))
