"""The CUDA SSA kernel, run by Numba's CUDA simulator on NumPy arrays, against the CPU kernel
and the pure-Python twin: the same trajectories bit for bit, with 4-thread blocks crossed by
9 trajectories."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.backend import cuda_simulator_active
from tinygen.kernels.cpu import ssa as cpu
from tinygen.kernels.cuda import ssa as gpu
from tinygen.stochastic import ssa

pytestmark = pytest.mark.skipif(not cuda_simulator_active(), reason="needs NUMBA_ENABLE_CUDASIM=1")

NETWORKS = {
    "birth-death": ({"X": 3}, [({}, {"X": 1}, 4.0), ({"X": 1}, {}, 1.0)]),
    "gene": ({"m": 0, "n": 0}, [({}, {"m": 1}, 20.0), ({"m": 1}, {"m": 1, "n": 1}, 2.5),
                                ({"m": 1}, {}, 1.0), ({"n": 1}, {}, 1.0)]),
    "dimer": ({"A": 12, "B": 0}, [({"A": 2}, {"B": 1}, 0.3), ({"B": 1}, {"A": 2}, 0.5)]),
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.filterwarnings("ignore:overflow encountered")  # uint64 arithmetic wraps on purpose
def test_cuda_ssa_matches_cpu_kernel_and_twin(name, monkeypatch):
    monkeypatch.setattr(gpu, "THREADS", 4)
    net = ssa.ReactionNetwork.build(*NETWORKS[name])
    grid = np.linspace(0.0, 1.5, 5)
    args = (net.stoichiometry, net.reactants, net.rates, np.tile(net.initial, (9, 1)), grid,
            2**63 + 17, 3)
    got, got_events = gpu.simulate(*args)
    want, want_events = cpu.simulate(*args)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_events, want_events)
    np.testing.assert_array_equal(got[8], ssa.simulate(net, grid, 2**63 + 17, trajectory=11))
    assert got_events.sum() > 20 and len({g.tobytes() for g in got}) > 1  # a test of something


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_cuda_ssa_reports_running_out_of_events(monkeypatch):
    monkeypatch.setattr(gpu, "THREADS", 4)
    out, events = gpu.simulate([[1]], [[0]], [5.0], [[0], [0]], [0.0, 100.0], 1, 0,
                               max_events=10)
    assert events.tolist() == [-1, -1]
