"""Reference for reparam_kl."""

import numpy as np


def reparameterize(mu, log_var, eps):
    return mu + np.exp(0.5 * log_var) * eps


def gaussian_kl(mu, log_var):
    return 0.5 * np.sum(np.exp(log_var) + mu * mu - 1.0 - log_var, axis=-1)
