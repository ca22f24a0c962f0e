"""Keep freed memory inside the process, so that a training loop stops paying for fresh pages.

A training step allocates and frees the same large temporaries (logits, their softmax, the
gradients) every step. glibc's ``malloc`` gives blocks from 128 KiB up (a threshold that it
raises as it sees bigger blocks freed, to at most 32 MiB) back to the kernel when they are
freed, and trims the top of its heap once more than twice that threshold is free there; the
next step's arrays then page-fault fresh, kernel-zeroed pages in again. Measured on lesson
09's step (logits (64, 7, 1000) in float32, one thread, CPU time in one process):
softmax cross-entropy with its Linear layer, forward and backward, 10.5 → 4.8 ms, the whole
step 16.7 → 11.7 ms, and a third of the process's CPU time had been system time.

:func:`keep_freed_memory` fixes both thresholds at glibc's own ceiling (blocks below
32 MiB come from the heap; up to 64 MiB of free heap top is kept), which also stops the
dynamic adjustment. The price is memory the process keeps after a peak (at most the trim
threshold beyond what it uses), which a lesson can afford. Elsewhere than glibc (macOS, musl)
it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
MMAP_THRESHOLD = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # glibc's own rule for the dynamic trim threshold


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks below 32 MiB in the process (see the module
    docstring). Returns True if the settings took effect, False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


__all__ = ["keep_freed_memory"]
