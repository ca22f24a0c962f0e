"""Adds log q instead of subtracting it: the weight is p(x, z)/q(z|x).

Expect: per column
"""

import numpy as np


def importance_log_likelihood(log_px_z, log_pz, log_qz):
    w = log_px_z + log_pz + log_qz
    m = w.max(axis=0)
    return m + np.log(np.mean(np.exp(w - m), axis=0))
