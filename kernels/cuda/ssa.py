"""Many independent Gillespie trajectories (the direct method), one per CUDA thread, on CuPy
arrays.

The thread's loop is :func:`tinygen.kernels.ssa_core.run` compiled into the kernel, with the
same counter-based stream as the CPU kernel and the pure-Python twin (a SplitMix64 hash of
seed, trajectory and draw index, kept in registers) rather than ``numba.cuda.random``'s
xoroshiro states, so trajectory i is the same on every device. The integer stream is
identical everywhere; the logarithm is the GPU's own, so on a real GPU a waiting time can
differ from the twin's in its last bit (and, rarely, a grid sample that lands within that
bit of an event). Under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) the host function
takes and returns NumPy arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from . import array_module, import_numba_cuda
from .. import ssa_core
from ..ssa_args import check_network

THREADS = 64  # threads per block (the simulator tests use 4, to cross block edges cheaply)

# ``numba.cuda``, bound on first use (a module global: the simulator swaps it while a kernel
# of this module runs, to supply the thread and block indices)
cuda = None


def _build() -> Callable:
    """The kernel as a plain Python function (one thread, one trajectory)."""
    global cuda
    cuda = import_numba_cuda()
    run = ssa_core.run

    def simulate(seed, first, x, times, stoich, reactants, rates, max_events, out, events):
        n = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if n < x.shape[0]:
            events[n] = run(seed, first + np.uint64(n), x[n], times, stoich, reactants, rates,
                            max_events, out[n])

    return simulate


def kernel_signatures() -> list[tuple[str, Callable, tuple]]:
    """(name, Python function, Numba signature) of the kernel, for compiling ahead of time
    (``numba.cuda.compile_ptx``), as the PTX test does."""
    from numba import float64, int64, uint64

    i2, i3 = int64[:, ::1], int64[:, :, ::1]
    sig = (uint64, uint64, i2, float64[::1], i2, i2, float64[::1], int64, i3, int64[::1])
    return [("ssa_simulate", _build(), sig)]


@functools.cache
def _kernel():
    return import_numba_cuda().jit(_build())


def simulate(stoich, reactants, rates, initial, times, seed: int, first: int = 0,
             max_events: int = 10**8):
    """States (N, T, S) at the grid ``times`` of trajectories ``first`` … ``first + N − 1``
    started from ``initial`` (N, S), and their event counts (N,) (−1 where a trajectory needed
    more than ``max_events`` events; its states are then incomplete)."""
    xp = array_module(times if hasattr(times, "shape") else np.asarray(times))
    stoich, reactants, rates, x, times = check_network(stoich, reactants, rates, initial, times,
                                                       seed, first, xp)
    out = xp.zeros((x.shape[0], times.shape[0], x.shape[1]), xp.int64)
    events = xp.zeros(x.shape[0], xp.int64)
    if x.shape[0] == 0:
        return out, events
    kernel = _kernel()
    blocks = (x.shape[0] + THREADS - 1) // THREADS
    args = (np.uint64(seed), np.uint64(first), x, times, stoich, reactants, rates,
            np.int64(max_events), out, events)
    if xp is np:
        kernel[blocks, THREADS](*args)
    else:
        stream = cuda.external_stream(xp.cuda.get_current_stream().ptr)
        kernel[blocks, THREADS, stream](*[cuda.as_cuda_array(a) if hasattr(
            a, "__cuda_array_interface__") else a for a in args])
    return out, events
