"""Hypothesis profiles (pick one with HYPOTHESIS_PROFILE) and the device parameter."""

import os

# One BLAS thread for the tests and the lesson subprocesses they start (they inherit the
# environment). The tests check results, not speed, and on a 2-core machine OpenBLAS's
# threads spin against Numba's and against any other process: a quick lesson measured 31 s
# with one thread and 295 s with two while another job shared the cores. Must be set before
# NumPy is imported; an explicit setting in the environment wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402 - after the thread settings above
from hypothesis import HealthCheck, settings  # noqa: E402

import tinygen as tg  # noqa: E402

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                     HealthCheck.differing_executors])
settings.register_profile("dev", max_examples=20, print_blob=True, **_common)
# .ci/run's second pass: random draws under a printed seed, more of them than dev.
settings.register_profile("random", max_examples=100, print_blob=True, **_common)
settings.register_profile("ci", max_examples=25, derandomize=True, print_blob=True, **_common)
settings.register_profile("intense", max_examples=500, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not tg.cuda_available(), reason="no CUDA GPU with CuPy"))]


@pytest.fixture(params=DEVICES)
def device(request):
    """Runs a test on the CPU and, when a GPU with CuPy is present, on CUDA."""
    return request.param


@pytest.fixture(autouse=True)
def _seeded_global_generators():
    """Every test starts from the same state of tinygen's global generators, so a test that
    draws from them sees the same numbers whatever ran before it (the order of tests and
    hypothesis's draws in earlier tests no longer decide its inputs)."""
    tg.manual_seed(0)
