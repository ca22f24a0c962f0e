"""Reference for rsgan_losses."""

import numpy as np


def _softplus(z):
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def critic_loss(d_real, d_fake):
    return float(np.mean(_softplus(d_fake - d_real)))


def generator_loss(d_real, d_fake):
    return critic_loss(d_fake, d_real)
