"""keep_freed_memory: after it, a step that allocates and frees the same large arrays again
and again stops page-faulting fresh memory in (counted, not timed: the process's minor page
faults, in a fresh interpreter so that the setting of this one does not matter)."""

import subprocess
import sys

import pytest

from tinygen.allocator import keep_freed_memory

STEP = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from tinygen.allocator import keep_freed_memory
    assert keep_freed_memory()

def step():  # three 2 MiB arrays alive at once, freed together, like a training step's
    a = np.ones(1 << 18)
    b = a + 1.0
    c = b * 2.0
    return float(c[0])

step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def faults_per_step(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", STEP, mode], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.split()[-1])


glibc = pytest.mark.skipif(not keep_freed_memory(), reason="needs glibc's mallopt")


@glibc
def test_kept_memory_is_reused_without_page_faults():
    # default glibc trims the freed 6 MiB (over twice its 2 MiB threshold) and faults ~1,500
    # pages back in per step; kept, the pages are reused
    assert faults_per_step("default") > 500
    assert faults_per_step("keep") < 50


@glibc
def test_keeping_is_idempotent():
    assert keep_freed_memory() and keep_freed_memory()
