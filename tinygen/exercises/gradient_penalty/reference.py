"""Reference for gradient_penalty."""

import tinygen as tg


def gradient_penalty(critic, real, fake, eps):
    mixed = eps * real + (1.0 - eps) * fake
    x_hat = tg.tensor(mixed.data, requires_grad=True)
    g = tg.grad(tg.sum(critic(x_hat)), x_hat, create_graph=True)
    norm = tg.sqrt(tg.sum(g * g, axis=1) + 1e-12)
    return tg.mean((norm - 1.0) * (norm - 1.0))
