"""Averages the log-weights: that is the ELBO estimate, not the likelihood.

Expect: per column
"""


def importance_log_likelihood(log_px_z, log_pz, log_qz):
    return (log_px_z + log_pz - log_qz).mean(axis=0)
