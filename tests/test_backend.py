"""The NumPy/CuPy seam and GPU detection."""

import os
import subprocess
import sys

import numpy as np
import pytest

import tinygen as tg
from tinygen import backend


def test_device_comes_from_the_array():
    x = tg.tensor([1.0])
    assert x.device == "cpu" and x.xp is np
    assert backend.xp_of(np.ones(2), np.ones(3)) is np
    assert backend.device_of(np.float32(1.0)) == "cpu"


def test_detection_is_not_fooled_by_numba_cuda_simulator():
    code = ("import numba.cuda, tinygen, sys\n"
            "sim = numba.cuda.is_available()\n"
            "print(sim, tinygen.cuda_available(), tinygen.backend.cuda_simulator_active())\n")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "True", "the simulator should claim CUDA is available"
    assert out[2] == "True"
    real_gpu = subprocess.run([sys.executable, "-c", "import tinygen; "
                               "print(tinygen.cuda_available())"], capture_output=True,
                              text=True, check=True).stdout.strip()
    assert out[1] == real_gpu, "tinygen's answer must not change under the simulator"


@pytest.mark.skipif(not tg.cuda_available(), reason="no CUDA GPU with CuPy")
def test_round_trip_to_gpu_is_differentiable():
    x = tg.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda"
    g = tg.grad((tg.exp(y) * 2.0).sum(), x)
    assert g.device == "cpu"
    np.testing.assert_allclose(g.numpy(), 2 * np.exp([1.0, 2.0]))
