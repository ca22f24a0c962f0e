"""Never normalises u and v: σ = uᵀWv grows with every iteration.

Expect: normalise u and v
"""


def spectral_norm(W, u0, n_iter):
    u = u0
    for _ in range(n_iter):
        v = W.T @ u
        u = W @ v
    return float(u @ W @ v)
