"""Reference for fvae_loss."""

import numpy as np


def fvae_loss(x, g, log_var2, f, logdet_f, log_var1, u):
    d_pixels, d_latent = x.shape[-1], u.shape[-1]
    rec = 0.5 * (((x - g) ** 2).sum(-1) / np.exp(log_var2)
                 + d_pixels * (log_var2 + np.log(2 * np.pi)))
    prior = 0.5 * (f ** 2).sum(-1) - logdet_f
    posterior = -0.5 * (u ** 2).sum(-1) - 0.5 * d_latent * log_var1
    return rec + prior + posterior
