"""Checker for reparam_kl: the VAE's sampling step and its KL term."""

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, close, prop, st

TITLE = "The reparameterisation trick and a Gaussian KL"
TOPIC = "probability"
DIFFICULTY = 1
LESSON = "18_vae"
FUNCTIONS = ["reparameterize", "gaussian_kl"]

shapes = st.tuples(st.integers(1, 3), st.integers(1, 3))


@prop("reparameterize = μ + exp(½·log σ²)·ε", "σ = exp(log σ² / 2): the half matters",
      shape=shapes, data=st.data())
def sample(student, ref, shape, data):
    mu, lv, eps = (data.draw(arrays(shape, -3, 3)) for _ in range(3))
    close(student.reparameterize(mu, lv, eps), ref.reparameterize(mu, lv, eps),
          "reparameterize(mu, log_var, eps)", mu=mu, log_var=lv, eps=eps)


@prop("KL(N(0, 1) ‖ N(0, 1)) = 0", "each dimension contributes ½(σ² + μ² − 1 − log σ²)",
      shape=shapes)
def zero(student, ref, shape):
    z = np.zeros(shape)
    close(student.gaussian_kl(z, z), np.zeros(shape[:-1]), "gaussian_kl(0, 0)", shape=shape)


@prop("gaussian_kl = ½ Σ (σ² + μ² − 1 − log σ²) over the last axis, and ≥ 0", "",
      shape=shapes, data=st.data())
def kl(student, ref, shape, data):
    mu, lv = data.draw(arrays(shape, -3, 3)), data.draw(arrays(shape, -3, 3))
    got = np.asarray(student.gaussian_kl(mu, lv))
    close(got, ref.gaussian_kl(mu, lv), "gaussian_kl(mu, log_var)", mu=mu, log_var=lv)
    if (got < -1e-9).any():
        raise Mismatch(f"gaussian_kl gave a negative KL {got}")
