"""Takes log|det ∂F/∂z| for log|det ∂F/∂u|, forgetting the d·log σ₁ of z = σ₁u + E(x).

Expect: ∂F/∂u = σ₁·∂F/∂z
"""

import numpy as np


def fvae_loss(x, g, log_var2, f, logdet_f, log_var1, u):
    d_pixels = x.shape[-1]
    rec = 0.5 * (((x - g) ** 2).sum(-1) / np.exp(log_var2)
                 + d_pixels * (log_var2 + np.log(2 * np.pi)))
    return rec + 0.5 * (f ** 2).sum(-1) - logdet_f - 0.5 * (u ** 2).sum(-1)
