"""What every benchmark script shares: an optional PyTorch, a thread limit for BLAS and
PyTorch, GPU synchronisation, a timer and a peak-memory probe. Each script puts this folder
on ``sys.path`` and imports it, so the scripts also load by file path (as the tests load
them)."""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from collections.abc import Callable, Iterator


def optional_torch():
    """PyTorch if it imports, else None (not installed, or a broken install)."""
    try:
        import torch
    except Exception:  # noqa: BLE001 - any failure means "no reference"
        return None
    return torch


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Limit every BLAS (NumPy's, and SciPy's that Numba's ``np.dot`` calls, which
    :func:`tinygen.parallel.blas_threads` loads first) and PyTorch to ``n`` threads inside
    the block (None: the defaults)."""
    if n is None:
        yield
        return
    from tinygen.parallel import blas_threads
    torch = optional_torch()
    old = None if torch is None else torch.get_num_threads()
    with blas_threads(n):
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(old)


def synchronize(device: str) -> None:
    """Wait for queued GPU work (CuPy's and PyTorch's) so that a timer sees it finish."""
    if device == "cuda":
        import cupy
        cupy.cuda.Device().synchronize()
        torch = optional_torch()
        if torch is not None and torch.cuda.is_available():
            torch.cuda.synchronize()


def clock(threads: int | None, device: str = "cpu") -> str:
    """The clock a benchmark should read: "cpu" (this process's CPU time) for one thread on
    the CPU, where wall time would also count whatever else runs on the shared cores; "wall"
    otherwise (several threads, or a GPU)."""
    return "cpu" if threads == 1 and device == "cpu" else "wall"


def times_ms(fn: Callable, repeats: int, warmup: int = 1, device: str = "cpu",
             clock: str = "wall") -> list[float]:
    """Milliseconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones, by
    the wall clock or by this process's CPU time (``clock="cpu"``: steady on a busy machine,
    and equal to wall time for single-threaded work on an idle one)."""
    if clock not in ("wall", "cpu"):
        raise ValueError(f"times_ms: clock must be 'wall' or 'cpu', got {clock!r}")
    now = time.process_time if clock == "cpu" else time.perf_counter
    for _ in range(warmup):
        fn()
    synchronize(device)
    out = []
    for _ in range(repeats):
        t0 = now()
        fn()
        synchronize(device)
        out.append((now() - t0) * 1e3)
    return out


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _return_freed_memory() -> None:
    """Make glibc give every freed block of 64 KiB or more back to the system (a fixed
    ``M_MMAP_THRESHOLD``; by default it grows, and freed arrays stay resident) and release
    what is free now, so that the resident set follows the arrays alive. Does nothing off
    glibc."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 64 * 1024)  # -3: M_MMAP_THRESHOLD
        libc.malloc_trim(0)  # and what is free now leaves the resident set
    except (OSError, AttributeError):
        pass


def peak_memory_mib(fn: Callable) -> dict[str, float | None]:
    """Peak memory of one call of ``fn`` (call it once before, so that nothing is compiled or
    cached inside), in MiB above what was in use before the call:

    * ``rss``: the resident-set high-water mark (Linux ``VmHWM``, reset through
      ``/proc/self/clear_refs``) minus the resident set before: any library's memory,
      PyTorch's too (blocks under 64 KiB that the C allocator keeps are not seen); None off
      Linux;
    * ``traced``: the peak of :mod:`tracemalloc` (NumPy reports its arrays to it; PyTorch
      does not, so this is for NumPy-based code only).
    """
    rss = None
    _return_freed_memory()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = _status_kib("VmRSS")
    except OSError:
        before = None
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        traced = (tracemalloc.get_traced_memory()[1] - start) / 2**20
    finally:
        tracemalloc.stop()
    peak = _status_kib("VmHWM")
    if before is not None and peak is not None:
        rss = max(0, peak - before) / 2**10
    return {"rss": rss, "traced": traced}
