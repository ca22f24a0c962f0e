"""Exponentiates the log-weights directly: fine for small numbers, −inf for an image.

Expect: underflows
"""

import numpy as np


def importance_log_likelihood(log_px_z, log_pz, log_qz):
    with np.errstate(divide="ignore"):
        return np.log(np.mean(np.exp(log_px_z + log_pz - log_qz), axis=0))
