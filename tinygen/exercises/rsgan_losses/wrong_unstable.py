"""−log σ(z) written directly: σ underflows to 0 and the log to −inf.

Expect: overflow
"""

import numpy as np


def critic_loss(d_real, d_fake):
    return float(np.mean(-np.log(1.0 / (1.0 + np.exp(-(d_real - d_fake))))))


def generator_loss(d_real, d_fake):
    return critic_loss(d_fake, d_real)
