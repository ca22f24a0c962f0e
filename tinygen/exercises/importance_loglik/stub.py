"""Exercise importance_loglik: how good is a VAE, not just its bound?

Draw k codes z_1 … z_k from the encoder's q(z | x). Each gets an importance weight
p(x | z_i)·p(z_i) / q(z_i | x), and the mean of the weights is an unbiased estimate of
p(x) = ∫ p(x | z) p(z) dz. Its log,

    log p(x) ≈ log (1/k) Σ_{i=1..k} exp(log p(x|z_i) + log p(z_i) − log q(z_i|x)),

rises with k from the ELBO (k = 1, on average) to log p(x) (Burda et al. 2016).

    importance_log_likelihood(log_px_z, log_pz, log_qz) -> np.ndarray

Each argument is a NumPy array of shape (k, N): row i, column n holds the log-density for
sample z_i of image n. Return shape (N,). Careful: a 28 × 28 image has log p(x | z) near
−100 to −2000 nats, and exp of that is 0 in float64 — compute the log of a mean of
exponentials without ever exponentiating a large negative number.
"""

import numpy as np


def importance_log_likelihood(log_px_z: np.ndarray, log_pz: np.ndarray,
                              log_qz: np.ndarray) -> np.ndarray:
    raise NotImplementedError
