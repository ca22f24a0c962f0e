"""Independent jobs in worker processes: a lesson that trains several models that do not
depend on each other (the variants of an ablation, one model per dataset) runs them two at a
time on a two-core machine, about twice as fast as one after another.

Workers are *spawned*: each is a fresh interpreter that inherits nothing from the parent (no
threads, no BLAS state, no open figures), so ``fn`` must be importable by name — defined at
the top level of a module of the package, not in a lesson or a notebook — and its keyword
arguments and results plain values (numbers, strings, NumPy arrays, dicts and lists of them),
which travel between the processes through multiprocessing's pipes; nothing is read from
files. Each worker keeps to one BLAS thread: two workers of two threads each on two cores run
slower than one thread each.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .errors import ArgumentError
from .ops.args import describe, integer

__all__ = ["blas_threads", "map_jobs", "run_jobs"]

T = TypeVar("T")


def map_jobs(fn: Callable[..., T], jobs: Iterable[dict[str, Any]], processes: int = 2
             ) -> list[T]:
    """``[fn(**job) for job in jobs]``, computed in up to ``processes`` worker processes
    (``processes=1``, or a single job: in this process, one after another). Jobs are handed
    out in the given order to whichever worker is free, so put the longest first; the results
    come back in the order of ``jobs``, and a job's exception is raised here."""
    jobs = list(jobs)
    bad = [i for i, job in enumerate(jobs) if not isinstance(job, dict)]
    if bad:
        raise ArgumentError(f"map_jobs: every job must be a dict of keyword arguments, got "
                            f"{describe(jobs[bad[0]])} at position {bad[0]}")
    return _run("map_jobs", [(fn, job) for job in jobs], processes)


def run_jobs(calls: Iterable[tuple[Callable[..., Any], dict[str, Any]]], processes: int = 2
             ) -> list[Any]:
    """``[fn(**kwargs) for fn, kwargs in calls]``, like :func:`map_jobs` but each job names
    its own function: a lesson's models and its baselines then share the two workers instead
    of waiting for each other."""
    calls = list(calls)
    for i, call in enumerate(calls):
        if not (isinstance(call, tuple) and len(call) == 2 and callable(call[0])
                and isinstance(call[1], dict)):
            raise ArgumentError(f"run_jobs: every job must be a (function, dict of keyword "
                                f"arguments) pair, got {describe(call)} at position {i}")
    return _run("run_jobs", calls, processes)


def _run(op: str, calls: list[tuple[Callable[..., Any], dict[str, Any]]], processes: int
         ) -> list[Any]:
    processes = integer(op, processes, "processes", minimum=1)
    workers = min(processes, len(calls))
    if workers <= 1:
        return [fn(**kwargs) for fn, kwargs in calls]
    for fn, _ in calls:
        if not _importable(fn):
            raise ArgumentError(
                f"{op}: the workers import each function by name, so it must be defined at "
                f"the top level of a module of the package; got {describe(fn)} from "
                f"{getattr(fn, '__module__', None)!r} (with processes=1 any function will do)")
    context = multiprocessing.get_context("spawn")
    with _without_main_script():  # the workers start here, in the constructor
        pool = context.Pool(workers, initializer=_one_blas_thread)
    try:
        results = pool.starmap(_call, calls, chunksize=1)
    except BaseException:
        pool.terminate()
        raise
    pool.close()
    pool.join()
    return results


def _importable(fn) -> bool:
    """fn is found by its module and name in a module other than the main script."""
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    if module is None or module.__name__ == "__main__":
        return False
    found = module
    for part in getattr(fn, "__qualname__", "<>").split("."):
        found = getattr(found, part, None)
    return found is fn


def _call(fn: Callable[..., T], job: dict[str, Any]) -> T:
    return fn(**job)


def _one_blas_thread() -> None:
    """Each worker's start: one BLAS thread for the rest of its life."""
    blas_threads(1).__enter__()  # never left: the limit lasts as long as the worker


def blas_threads(n: int | None):
    """A context that keeps every BLAS library to ``n`` threads (None: leave them as they
    are). It loads SciPy's BLAS first: Numba's ``np.dot`` (the fused penalty and log-det
    kernels) calls that second OpenBLAS, which is otherwise loaded at the first such call,
    after the limit was set, and then runs two threads in each worker; measured on lesson 10's
    quick run, 105 CPU seconds instead of 28."""
    from threadpoolctl import threadpool_limits

    with contextlib.suppress(ImportError):
        import scipy.linalg.cython_blas  # noqa: F401
    return threadpool_limits(limits=n, user_api="blas")


@contextlib.contextmanager
def _without_main_script() -> Iterator[None]:
    """Start processes without the parent's main module. A spawned child normally re-runs the
    parent's main script first (so that functions defined there can be found; that is why
    scripts guard their body with ``if __name__ == "__main__"``); a lesson is a flat script,
    which would then run again, whole, in every worker. ``fn`` lives in a package module, so
    the workers need no main module at all: hide its file and spec while they start."""
    main = sys.modules.get("__main__")
    saved = {key: main.__dict__[key] for key in ("__file__", "__spec__")
             if main is not None and key in main.__dict__}
    for key in saved:
        if key == "__file__":
            del main.__file__
        else:
            main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.update(saved)
