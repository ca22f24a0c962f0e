"""Hand-written Numba kernels, installed as ``tinygen.kernels``.

``cpu/`` holds ``numba.njit`` kernels that take NumPy arrays; ``cuda/`` holds ``numba.cuda``
kernels that take CuPy arrays. Callers dispatch on the array type: a NumPy array goes to
``cpu/``, a CuPy array to ``cuda/``.
Kernels never import the engine: they see arrays, not Tensors. Each kernel has a composed
twin made of ordinary differentiable ops that the tests hold it against.
"""
