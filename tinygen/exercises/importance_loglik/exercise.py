"""Checker for importance_loglik: the importance-sampled log-likelihood of a VAE."""

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, close, floats, prop, show, st

TITLE = "The importance-sampled log-likelihood"
TOPIC = "probability"
DIFFICULTY = 2
LESSON = "18_vae"
FUNCTIONS = ["importance_log_likelihood"]

shapes = st.tuples(st.integers(1, 6), st.integers(1, 3))


@prop("log (1/k) Σ_i p(x|z_i)·p(z_i)/q(z_i|x) per column, for modest log-densities",
      "the weight is p(x|z)·p(z)/q(z|x): add the first two log terms, subtract log q; "
      "then average the weights (not their logs) over the k rows",
      shape=shapes, data=st.data())
def matches(student, ref, shape, data):
    a, b, c = (data.draw(arrays(shape, -4, 4)) for _ in range(3))
    close(student.importance_log_likelihood(a, b, c), ref.importance_log_likelihood(a, b, c),
          "importance_log_likelihood(log_px_z, log_pz, log_qz)", log_px_z=a, log_pz=b,
          log_qz=c)


@prop("stays finite for an image's log-densities (about −2000 nats): np.exp would give 0",
      "subtract the largest log-weight of each column before exponentiating, add it back "
      "after the log (log-sum-exp)", shift=floats(-3000, -800), shape=shapes, data=st.data())
def stable(student, ref, shift, shape, data):
    a = data.draw(arrays(shape, -4, 4)) + shift
    b, c = data.draw(arrays(shape, -4, 4)), data.draw(arrays(shape, -4, 4))
    got = np.asarray(student.importance_log_likelihood(a, b, c), dtype=float)
    if not np.all(np.isfinite(got)):
        raise Mismatch(f"for log_px_z = {show(a)}\nimportance_log_likelihood returned "
                       f"{show(got)}: exp(−2000) underflows to 0 and log(0) = −inf")
    close(got, ref.importance_log_likelihood(a, b, c), "importance_log_likelihood",
          log_px_z=a, log_pz=b, log_qz=c)


@prop("at least the average log-weight (the ELBO estimate): Jensen's inequality",
      "log of the mean ≥ mean of the log; averaging the log-weights gives the ELBO, not the "
      "likelihood", shape=st.tuples(st.integers(2, 6), st.integers(1, 3)), data=st.data())
def above_elbo(student, ref, shape, data):
    a = data.draw(arrays(shape, -4, 4))
    a[0] += 3.0  # unequal weights, so the inequality is strict
    z = np.zeros(shape)
    got = np.asarray(student.importance_log_likelihood(a, z, z), dtype=float)
    elbo = a.mean(axis=0)
    if not np.all(got > elbo + 1e-9):
        raise Mismatch(f"for log-weights {show(a)}\nimportance_log_likelihood gave {show(got)}"
                       f", not above their mean {show(elbo)} (the ELBO)")
