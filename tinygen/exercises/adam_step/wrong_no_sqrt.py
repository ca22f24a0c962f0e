"""Divides by v̂ instead of √v̂: the step then scales like 1/g.

Expect: scaling the gradient
"""


def adam_step(param, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g * g
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    return param - lr * m_hat / (v_hat + eps), m, v
