"""Exercise gradient_penalty: WGAN-GP's penalty, differentiable twice, in tinygen.

WGAN-GP keeps the critic D close to 1-Lipschitz by penalising its gradient norm at points
between the real and the fake samples:

    x̂ = ε·x_r + (1 − ε)·x_f                (ε: one number per sample, shape (B, 1))
    penalty = mean_b ( ‖∇ₓ D(x̂)_b‖₂ − 1 )²

The penalty is part of the critic's loss, so it must be differentiated again, w.r.t. the
critic's weights: compute ∇ₓ D(x̂) with ``tg.grad(outputs, x_hat, create_graph=True)``, which
returns a gradient that is itself a differentiable Tensor. x̂ needs ``requires_grad=True``:
build it as ``tg.tensor(values, requires_grad=True)`` from the detached mixture (its
``.data``). Σ_b D(x̂)_b has ∇ₓ of row b equal to ∇ of D(x̂)_b, since samples do not mix.

    gradient_penalty(critic, real, fake, eps) -> Tensor (a scalar)

critic maps a (B, d) Tensor to a (B,) Tensor; real, fake: (B, d) Tensors; eps: (B, 1).
Useful: tg.sum, tg.sqrt, tg.mean, tg.grad. The checker compares the value with the
reference and differentiates your penalty w.r.t. the critic's weights.
"""

import tinygen as tg


def gradient_penalty(critic, real: tg.Tensor, fake: tg.Tensor, eps: tg.Tensor) -> tg.Tensor:
    raise NotImplementedError
