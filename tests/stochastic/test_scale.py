"""Chunked and distributed SSA ensembles: the chunks, run one after another or as tasks on a
two-process ``dask.distributed`` LocalCluster, give the local run's array bit for bit; the
errors (no dask, not a client, bad chunk) name what is wrong."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tinygen.errors import ArgumentError
from tinygen.stochastic import scale, ssa

GENE = ssa.ReactionNetwork.build({"m": 0, "n": 0}, [({}, {"m": 1}, 20.0),
                                                    ({"m": 1}, {"m": 1, "n": 1}, 2.5),
                                                    ({"m": 1}, {}, 1.0), ({"n": 1}, {}, 1.0)])
GRID = np.linspace(0.0, 2.0, 6)


def test_chunks_cover_the_trajectories_in_order():
    assert scale.chunks(7, 3, first=10) == [(10, 3), (13, 3), (16, 1)]
    assert scale.chunks(0, 3) == []


def test_per_trajectory_initial_counts_follow_their_chunks():
    start = np.arange(20).reshape(10, 2)
    whole = ssa.simulate_many(GENE, GRID, 10, seed=1, initial=start)
    np.testing.assert_array_equal(whole[:, 0], start)  # the state at t = 0
    np.testing.assert_array_equal(ssa.simulate_many(GENE, GRID, 10, seed=1, initial=start,
                                                    chunk=3), whole)


def test_local_chunks_equal_one_call():
    whole = ssa.simulate_many(GENE, GRID, 23, seed=5, first=4)
    np.testing.assert_array_equal(ssa.simulate_many(GENE, GRID, 23, seed=5, first=4, chunk=6),
                                  whole)
    assert len({w.tobytes() for w in whole}) > 20  # distinct trajectories: a test of something


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed", reason="needs dask[distributed] (the "
                                      "test extra)")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, worker_dashboard_address=None) as c, \
            distributed.Client(c) as cl:
        yield cl


def test_dask_chunks_equal_the_local_run(client):
    from distributed import get_task_stream

    local = ssa.simulate_many(GENE, GRID, 50, seed=2**63 + 1, first=7)
    with get_task_stream(client) as tasks:
        remote = ssa.simulate_many(GENE, GRID, 50, seed=2**63 + 1, first=7, chunk=8,
                                   client=client)
    assert remote.dtype == local.dtype and remote.shape == local.shape
    np.testing.assert_array_equal(remote, local)
    ran = [t for t in tasks.data if "simulate_chunk" in t["key"]]
    assert len(ran) == 7 and len({t["worker"] for t in ran}) == 2  # 7 chunks, both workers
    default = ssa.simulate_many(GENE, GRID, 9, seed=3, client=client)  # 2 chunks per thread
    np.testing.assert_array_equal(default, ssa.simulate_many(GENE, GRID, 9, seed=3))


def test_an_error_on_a_worker_reaches_the_caller(client):
    with pytest.raises(ArgumentError, match="max_events=5"):
        ssa.simulate_many(GENE, GRID, 4, seed=0, max_events=5, chunk=2, client=client)


def test_missing_dask_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(ArgumentError, match=r"tinygen\[dask\]"):
        ssa.simulate_many(GENE, GRID, 4, seed=0, client=object())


@pytest.mark.parametrize("kwargs, match", [
    (dict(chunk=0), "chunk must be an integer ≥ 1"),
    (dict(chunk=2.5), "chunk must be an integer ≥ 1"),
    (dict(initial=np.zeros((3, 2), np.int64)), r"initial must be \(n, S\) = \(4, 2\)"),
    (dict(client="tcp://127.0.0.1:8786", xp=object()), "pass xp=numpy"),
])
def test_chunk_errors(kwargs, match):
    with pytest.raises(ArgumentError, match=match):
        ssa.simulate_many(GENE, GRID, 4, seed=0, **kwargs)


def test_not_a_client():
    pytest.importorskip("distributed")
    with pytest.raises(ArgumentError, match="must be a dask.distributed.Client, got str"):
        ssa.simulate_many(GENE, GRID, 4, seed=0, client="tcp://127.0.0.1:8786")
