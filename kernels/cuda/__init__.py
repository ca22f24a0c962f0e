"""Numba CUDA kernels on CuPy arrays; tested in the CUDA simulator and on real GPUs."""

import numpy as np


def array_module(array):
    """NumPy for NumPy arrays (the CUDA simulator runs kernels on host arrays), else CuPy."""
    if isinstance(array, np.ndarray):
        return np
    import cupy
    return cupy


def import_numba_cuda():
    """``numba.cuda``, or an ImportError that says what to do when it cannot be imported.

    A numba-cuda release older than the installed NumPy fails inside its own import (seen on
    NumPy 2.5: ``module 'numpy' has no attribute 'row_stack'``); the message says so.
    """
    try:
        from numba import cuda
    except Exception as e:  # noqa: BLE001 - any failure inside numba-cuda's import
        raise ImportError(
            f"tinygen's CUDA kernels need numba-cuda, and importing it failed "
            f"({type(e).__name__}: {e}). With NumPy {np.__version__} this usually means the "
            "installed numba-cuda is older than NumPy: upgrade numba-cuda, or install a NumPy "
            "release it supports") from e
    return cuda
