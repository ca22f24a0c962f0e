"""Numba CUDA kernels on CuPy arrays; tested in the CUDA simulator and on real GPUs."""
