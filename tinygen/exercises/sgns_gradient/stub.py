"""Exercise sgns_gradient: the loss of one skip-gram negative-sampling example and its
gradients, the step the word2vec kernel takes millions of times.

v is the input word's vector (d,), u_target the output vector of the word that really
occurred nearby (d,), u_negatives the output vectors of k sampled words (k, d). With
z_t = u_target·v and z_n = u_negatives[n]·v,

    loss = −log σ(z_t) − Σ_n log σ(−z_n)

    sgns_gradient(v, u_target, u_negatives) -> (loss, grad_v, grad_target, grad_negatives)

with gradients of the loss of shapes (d,), (d,) and (k, d). Use σ'(z) = σ(z)(1 − σ(z)), so
d/dz[−log σ(z)] = σ(z) − 1 and d/dz[−log σ(−z)] = σ(z). Dot products may reach ±400: compute
−log σ(z) as np.logaddexp(0, −z). The checker compares with the reference, checks that each
negative is pushed away from v, and tries large vectors.
"""

import numpy as np


def sgns_gradient(v: np.ndarray, u_target: np.ndarray, u_negatives: np.ndarray
                  ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    raise NotImplementedError
