"""Penalises ‖∇D‖² − 1 instead of (‖∇D‖ − 1)².

Expect: (‖∇ₓ D(x̂)‖ − 1)²
"""

import tinygen as tg


def gradient_penalty(critic, real, fake, eps):
    mixed = eps * real + (1.0 - eps) * fake
    x_hat = tg.tensor(mixed.data, requires_grad=True)
    g = tg.grad(tg.sum(critic(x_hat)), x_hat, create_graph=True)
    return tg.mean(tg.sum(g * g, axis=1) - 1.0)
