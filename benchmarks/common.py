"""What every benchmark script shares: an optional PyTorch, a thread limit for BLAS and
PyTorch, GPU synchronisation and a timer. Each script puts this folder on ``sys.path`` and
imports it, so the scripts also load by file path (as the tests load them)."""

from __future__ import annotations

import contextlib
import time
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
    """Limit every loaded BLAS (NumPy's, and SciPy's that Numba's ``np.dot`` calls) and
    PyTorch to ``n`` threads inside the block (None: the defaults). Call a kernel once before,
    so that SciPy's BLAS is loaded when the limit is set."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits
    torch = optional_torch()
    old = None if torch is None else torch.get_num_threads()
    with threadpool_limits(limits=n, user_api="blas"):
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


def times_ms(fn: Callable, repeats: int, warmup: int = 1, device: str = "cpu") -> list[float]:
    """Milliseconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        out.append((time.perf_counter() - t0) * 1e3)
    return out
