"""Checker for frechet_distance: the closed form between two Gaussians, against the exact
1-D case, general covariances and singular ones."""

import numpy as np

from tinygen.exercises.check import Mismatch, close, floats, prop, rngs, st


TITLE = "The Fréchet distance between two Gaussians (FID's formula)"
TOPIC = "GANs"
DIFFICULTY = 2
LESSON = "21_dcgan_cgan"
FUNCTIONS = ["frechet_distance"]


def _cov(rng, d, rank):
    a = rng.standard_normal((d, rank))
    return a @ a.T


@prop("in one dimension: (μ_a − μ_b)² + (σ_a − σ_b)² for variances σ_a², σ_b²",
      "the last term is −2·tr((Σ_a^½ Σ_b Σ_a^½)^½): in 1-D that is −2σ_aσ_b",
      m=st.tuples(floats(), floats()), v=st.tuples(floats(0.01, 9.0), floats(0.01, 9.0)))
def one_dimension(student, ref, m, v):
    got = student.frechet_distance(np.array([m[0]]), np.array([[v[0]]]), np.array([m[1]]),
                                   np.array([[v[1]]]))
    close(got, (m[0] - m[1]) ** 2 + (np.sqrt(v[0]) - np.sqrt(v[1])) ** 2,
          "frechet_distance in 1-D", mean_a=m[0], var_a=v[0], mean_b=m[1], var_b=v[1])


@prop("full covariances that do not commute: equal to the closed form",
      "take a matrix square root (eigendecomposition Σ = V diag(λ) Vᵀ → V diag(√λ) Vᵀ), "
      "not the square root of each entry, and keep the order Σ_a^½ Σ_b Σ_a^½",
      rng=rngs(), d=st.integers(2, 5))
def general(student, ref, rng, d):
    s_a, s_b = _cov(rng, d, d) + 0.1 * np.eye(d), _cov(rng, d, d) + 0.1 * np.eye(d)
    mu_a, mu_b = rng.standard_normal(d), rng.standard_normal(d)
    close(student.frechet_distance(mu_a, s_a, mu_b, s_b),
          ref.frechet_distance(mu_a, s_a, mu_b, s_b),
          "frechet_distance", rtol=1e-6, atol=1e-6, mean_a=mu_a, cov_a=s_a, mean_b=mu_b,
          cov_b=s_b)


@prop("singular covariances (fewer samples than dimensions): a real number ≥ 0, and 0 "
      "between a Gaussian and itself",
      "rounding leaves eigenvalues like −1e-17: clip them at 0 before the square root",
      rng=rngs(), d=st.integers(3, 6), examples=30)
def singular(student, ref, rng, d):
    s = _cov(rng, d, 1) * 1e3
    mu = rng.standard_normal(d)
    got = student.frechet_distance(mu, s, mu, s)
    value = float(np.real(got))
    if not (np.isfinite(value) and np.isreal(got) and abs(value) < 1e-6 * np.trace(s)):
        raise Mismatch(f"for a rank-1 covariance\n  cov = {s}\nfrechet_distance(μ, Σ, μ, Σ) "
                       f"returned {got!r}; expected 0 (a finite real number)")
