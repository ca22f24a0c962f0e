"""Drops (D/2)·log σ₂² (fine for a fixed σ₂, wrong for a learned one: the loss then pushes
σ₂ up without limit).

Expect: the learned σ₂ needs its log σ₂ term
"""

import numpy as np


def fvae_loss(x, g, log_var2, f, logdet_f, log_var1, u):
    d_pixels, d_latent = x.shape[-1], u.shape[-1]
    rec = 0.5 * (((x - g) ** 2).sum(-1) / np.exp(log_var2) + d_pixels * np.log(2 * np.pi))
    return rec + 0.5 * (f ** 2).sum(-1) - logdet_f - 0.5 * (u ** 2).sum(-1) \
        - 0.5 * d_latent * log_var1
