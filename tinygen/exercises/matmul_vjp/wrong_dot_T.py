"""Transposes with .T, which reverses every axis of a 3-D array.

Expect: swapaxes
"""



def _unbroadcast(g, shape):
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    ones = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    return g.sum(axis=ones, keepdims=True)


def matmul_vjp(a, b, g):
    return _unbroadcast(g @ b.T, a.shape), _unbroadcast(a.T @ g, b.shape)
