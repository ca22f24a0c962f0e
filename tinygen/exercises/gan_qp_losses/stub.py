"""Exercise gan_qp_losses: the two losses of GAN-QP (a GAN with a quadratic potential).

GAN-QP replaces WGAN's Lipschitz constraint by a quadratic term in the critic's objective.
For a batch of real samples x_r and fake ones x_f (arrays of shape (B, ...)), critic
scores T(x_r), T(x_f) (shape (B,)) and a per-sample distance

    d(x_r, x_f) = mean over the non-batch axes of |x_r − x_f|     (shape (B,))

with ΔT = T(x_r) − T(x_f), the two losses (both to be minimised) are

    critic_loss    = mean_b [ −ΔT + ΔT² / (2λ·d) ]
    generator_loss = mean_b [ ΔT ]            (no quadratic term)

    critic_loss(t_real, t_fake, x_real, x_fake, lam=10.0) -> float
    generator_loss(t_real, t_fake) -> float

The checker compares with the reference on random batches, checks that the critic's loss
falls as ΔT grows from 0, and that the generator's loss has no quadratic term.
"""

import numpy as np


def critic_loss(t_real: np.ndarray, t_fake: np.ndarray, x_real: np.ndarray,
                x_fake: np.ndarray, lam: float = 10.0) -> float:
    raise NotImplementedError


def generator_loss(t_real: np.ndarray, t_fake: np.ndarray) -> float:
    raise NotImplementedError
