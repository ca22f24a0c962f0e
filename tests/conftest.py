"""Hypothesis profiles (pick one with HYPOTHESIS_PROFILE) and the device parameter."""

import os

import pytest
from hypothesis import HealthCheck, settings

import tinygen as tg

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                     HealthCheck.differing_executors])
settings.register_profile("dev", max_examples=20, **_common)
settings.register_profile("ci", max_examples=25, derandomize=True, print_blob=True, **_common)
settings.register_profile("intense", max_examples=500, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not tg.cuda_available(), reason="no CUDA GPU with CuPy"))]


@pytest.fixture(params=DEVICES)
def device(request):
    """Runs a test on the CPU and, when a GPU with CuPy is present, on CUDA."""
    return request.param
