"""The generator minimises minus the critic's loss (the saturating minimax form).

Expect: swap the arguments
"""

import numpy as np


def critic_loss(d_real, d_fake):
    return float(np.mean(np.logaddexp(0.0, d_fake - d_real)))


def generator_loss(d_real, d_fake):
    return -critic_loss(d_real, d_fake)
