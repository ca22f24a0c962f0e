"""Checker for hutchinson_trace: an unbiased trace estimate, checked statistically."""

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, floats, prop, rngs, st, show

TITLE = "The Hutchinson trace estimator"
TOPIC = "probability"
DIFFICULTY = 2
LESSON = "15_invertible_resnet"
FUNCTIONS = ["hutchinson_trace"]

M = 4000


def _within(student, a, rng, what):
    """The estimate from M probes lies within 6 standard errors of tr(A) (Gaussian probes
    have the larger variance, 2‖A‖²_F; Rademacher ones 2 Σ_{i≠j} A_ij² for symmetric A)."""
    est = float(student.hutchinson_trace(a, M, rng))
    sym = (a + a.T) / 2
    tol = 6.0 * np.sqrt(2.0 * np.sum(sym * sym) / M) + 1e-9
    if not abs(est - np.trace(a)) <= tol:
        raise Mismatch(f"for\n  A = {show(a)}\n{what}: hutchinson_trace(A, m={M}) = {est:.4g}, "
                       f"but tr(A) = {np.trace(a):.4g} (allowed: ± {tol:.3g}, six standard "
                       "errors)")


@prop("an unbiased estimate: with m = 4000 probes, within 6 standard errors of tr(A)",
      "average vᵀAv over the m probes (a mean, not a sum), with probes of mean 0 and "
      "covariance I (Rademacher ±1 or standard normal)",
      a=arrays(st.integers(1, 4).map(lambda n: (n, n)), -3, 3), rng=rngs(), examples=10)
def unbiased(student, ref, a, rng):
    _within(student, a, rng, "a random A")


@prop("probes uncorrelated across coordinates: an A with only off-diagonal entries has "
      "trace 0, and so must the estimate (E[v_i v_j] = 0 for i ≠ j)",
      "probes need mean 0: with uniform(0, 1) entries E[v_i v_j] = 1/4, not 0",
      c=floats(0.5, 3.0), rng=rngs(), examples=10)
def off_diagonal(student, ref, c, rng):
    _within(student, np.array([[0.0, c], [c, 0.0]]), rng, "an off-diagonal A")
