"""Tests that run the CUDA kernels in Numba's CUDA simulator.

The simulator must be switched on (``NUMBA_ENABLE_CUDASIM=1``) before Numba is imported, so
these tests run in a process of their own: ``tests/kernels/test_cuda_simulator.py`` starts
``python -m pytest tests/cuda_sim`` with the variable set. In any other run this directory
is not collected at all.
"""

from tinygen.backend import cuda_simulator_active

if not cuda_simulator_active():
    collect_ignore_glob = ["test_*.py"]
