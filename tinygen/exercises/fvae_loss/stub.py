"""Exercise fvae_loss: the loss of an f-VAE (lesson 17), one number per image.

The encoder gives z = σ₁·u + E(x) with u ~ N(0, I) (d numbers, σ₁ one scalar); a flow F
maps z to F(z), which should look N(0, I); the decoder is N(x; G(z), σ₂²) on D pixels. The
post's loss is

    ‖G − x‖²/(2σ₂²) + ½‖F(z)‖² − log|det ∂F(z)/∂u|,

and the full one-sample −ELBO (what you return) adds the terms that make it a proper
−log p(x | z) − log p(z) + log q(z | x):

    fvae_loss = ‖G − x‖²/(2σ₂²) + (D/2)·log(2π·σ₂²)          −log N(x; G, σ₂²)
              + ½‖F‖² + (d/2)·log 2π − log|det ∂F/∂z|        −log p(z), the flow prior
              − ½‖u‖² − (d/2)·log 2π − d·log σ₁              +log q(z | x)

(the two (d/2)·log 2π cancel). Since z = σ₁u + E(x), log|det ∂F/∂u| = d·log σ₁ +
log|det ∂F/∂z|. Inputs: x, g (B, D); log_var2 = log σ₂² (a float); f = F(z) (B, d);
logdet_f = log|det ∂F/∂z| (B,); log_var1 = log σ₁² (a float); u (B, d). Return shape (B,).
"""

import numpy as np


def fvae_loss(x: np.ndarray, g: np.ndarray, log_var2: float, f: np.ndarray,
              logdet_f: np.ndarray, log_var1: float, u: np.ndarray) -> np.ndarray:
    raise NotImplementedError
