"""Numba CUDA kernels on CuPy arrays; tested in the CUDA simulator and on real GPUs."""

import numpy as np


def array_module(array):
    """NumPy for NumPy arrays (the CUDA simulator runs kernels on host arrays), else CuPy."""
    if isinstance(array, np.ndarray):
        return np
    import cupy
    return cupy
