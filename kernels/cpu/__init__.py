"""Numba CPU kernels (``njit``, ``cache=True``) on NumPy arrays."""
