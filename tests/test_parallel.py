"""tinygen.parallel.map_jobs and run_jobs: the results of jobs run in spawned workers, in
order, from other processes with one BLAS thread each; a flat script that uses them runs once
(not again in every worker); a job's error reaches the caller; bad arguments are refused by
name."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tinygen.errors import ArgumentError, ShapeError
from tinygen.parallel import blas_threads, map_jobs, run_jobs

ROOT = Path(__file__).resolve().parents[1]


def square_job(n: int, fail: bool = False) -> dict:
    """A job for the workers: plain values in, arrays and numbers out."""
    if fail:
        raise ValueError(f"job {n} failed on purpose")
    import scipy.linalg.cython_blas  # noqa: F401 - the BLAS that Numba's np.dot calls
    from threadpoolctl import threadpool_info

    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return {"squares": np.arange(n) ** 2, "pid": os.getpid(), "blas_threads": blas}


def test_jobs_run_in_two_other_processes_and_come_back_in_order(monkeypatch):
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(variable, "2")  # what the workers would start with, unlimited
    jobs = [{"n": n} for n in (5, 1, 3, 8)]
    results = map_jobs(square_job, jobs, processes=2)
    assert [r["squares"].tolist() for r in results] == [
        [k * k for k in range(job["n"])] for job in jobs]
    pids = {r["pid"] for r in results}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert all(r["blas_threads"] and set(r["blas_threads"]) == {1} for r in results)


def test_one_process_or_one_job_runs_here():
    assert {r["pid"] for r in map_jobs(square_job, [{"n": 2}, {"n": 3}], 1)} == {os.getpid()}
    assert map_jobs(square_job, [{"n": 2}], 4)[0]["pid"] == os.getpid()
    assert map_jobs(square_job, [], 2) == []
    # in this process a lambda is fine: nothing has to be imported by name
    assert map_jobs(lambda n: n + 1, [{"n": 1}, {"n": 2}], 1) == [2, 3]


def test_a_script_runs_once_and_sees_its_jobs_errors(tmp_path):
    """A flat script (like a lesson) that maps jobs over two workers: its top level must not
    run again in the workers (Python's spawn would re-run the main script), and a failing
    job's exception is raised in the script."""
    marker = tmp_path / "runs.txt"
    script = tmp_path / "flat_script.py"
    script.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from tests.test_parallel import square_job
        from tinygen.parallel import map_jobs

        with open({str(marker)!r}, "a") as f:
            f.write("ran\\n")
        print(sum(r["squares"].sum() for r in map_jobs(square_job, [{{"n": 4}}, {{"n": 3}}])))
        try:
            map_jobs(square_job, [{{"n": 1}}, {{"n": 2, "fail": True}}])
        except ValueError as e:
            print("raised:", e)
    """))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["19", "raised: job 2 failed on purpose"]
    assert marker.read_text() == "ran\n"


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ShapeError, match="map_jobs: processes must be positive, got 0"):
        map_jobs(square_job, [{"n": 1}], 0)
    with pytest.raises(ShapeError, match="map_jobs: processes must be an int"):
        map_jobs(square_job, [{"n": 1}], 2.0)
    with pytest.raises(ArgumentError, match=r"map_jobs: every job must be a dict .* position 1"):
        map_jobs(square_job, [{"n": 1}, (2,)], 2)
    with pytest.raises(ArgumentError, match="map_jobs: the workers import each function by name"):
        map_jobs(lambda n: n, [{"n": 1}, {"n": 2}], 2)


def cube_job(n: int) -> int:
    return n ** 3


def test_jobs_of_different_functions_share_the_workers():
    results = run_jobs([(square_job, {"n": 3}), (cube_job, {"n": 2}), (square_job, {"n": 1})])
    assert [results[0]["squares"].tolist(), results[1], results[2]["squares"].tolist()] == [
        [0, 1, 4], 8, [0]]
    assert results[0]["pid"] != os.getpid()
    assert run_jobs([(cube_job, {"n": 3})], 2) == [27]


def test_run_jobs_refuses_bad_jobs_by_name():
    with pytest.raises(ArgumentError, match=r"run_jobs: every job must be a \(function, dict"
                                            r".* position 1"):
        run_jobs([(cube_job, {"n": 1}), {"n": 2}])
    with pytest.raises(ArgumentError, match=r"run_jobs: every job .* position 0"):
        run_jobs([(cube_job, 2)])
    with pytest.raises(ShapeError, match="run_jobs: processes must be positive, got 0"):
        run_jobs([(cube_job, {"n": 1})], 0)
    with pytest.raises(ArgumentError, match="run_jobs: the workers import each function"):
        run_jobs([(cube_job, {"n": 1}), (lambda n: n, {"n": 2})], 2)


def test_blas_threads_limits_scipys_blas_too():
    """Numba's np.dot calls SciPy's own OpenBLAS; the limit must reach it even when it was
    not loaded before (the workers' initializer and lesson 10 rely on this)."""
    from threadpoolctl import threadpool_info

    def counts():
        return {p["filepath"]: p["num_threads"] for p in threadpool_info()
                if p["user_api"] == "blas"}

    before = counts()
    with blas_threads(1):
        inside = counts()
    assert any("scipy.libs" in path for path in inside), inside  # SciPy's own, not NumPy's
    assert set(inside.values()) == {1}
    assert {k: v for k, v in counts().items() if k in before} == before
