"""Exercise rsgan_losses: the losses of the relativistic standard GAN (RSGAN).

RSGAN's critic judges pairs: σ(D(x_r) − D(x_f)) is the probability that the real sample is
more realistic than the fake one. With softplus(z) = log(1 + eᶻ) = −log σ(−z), for critic
scores d_real, d_fake of shape (B,):

    critic_loss    = mean softplus(d_fake − d_real)       (= −E log σ(d_real − d_fake))
    generator_loss = mean softplus(d_real − d_fake)       (the same with real and fake swapped)

    critic_loss(d_real, d_fake) -> float
    generator_loss(d_real, d_fake) -> float

Scores may differ by up to 2000: compute softplus stably,
softplus(z) = max(z, 0) + log(1 + exp(−|z|)) (np.logaddexp(0, z) does this too). The
checker compares both with the reference, also for large scores.
"""

import numpy as np


def critic_loss(d_real: np.ndarray, d_fake: np.ndarray) -> float:
    raise NotImplementedError


def generator_loss(d_real: np.ndarray, d_fake: np.ndarray) -> float:
    raise NotImplementedError
