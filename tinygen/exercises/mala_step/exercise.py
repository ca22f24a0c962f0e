"""Checker for mala_step: one Metropolis-adjusted Langevin step, checked statistically."""

import math

import numpy as np

from tinygen.exercises.check import Mismatch, floats, prop, rngs

TITLE = "One MALA step: Langevin with a Metropolis–Hastings correction"
TOPIC = "GANs"
DIFFICULTY = 2
LESSON = "30_energy_sampling"
FUNCTIONS = ["mala_step"]

N = 20000


def _gauss(x):
    return 0.5 * np.sum(x * x, axis=1)


def _gauss_grad(x):
    return x


def _expected_acceptance(eps):
    """E[min(1, α)] for one step on N(0, 1) from x ~ N(0, 1) (Gauss–Hermite quadrature)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(120)
    weights = weights / weights.sum()
    x, n = np.meshgrid(nodes, nodes, indexing="ij")
    c = 1 - eps / 2
    y = c * x + math.sqrt(eps) * n
    log_alpha = (x**2 - y**2) / 2 + ((y - c * x) ** 2 - (x - c * y) ** 2) / (2 * eps)
    return float(np.sum(np.outer(weights, weights) * np.exp(np.minimum(0.0, log_alpha))))


def _step(student, x, eps, rng):
    out = student.mala_step(_gauss, _gauss_grad, x, eps, rng)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise Mismatch("mala_step must return a pair (new x, accepted)")
    new, accepted = np.asarray(out[0], float), np.asarray(out[1])
    if new.shape != x.shape or accepted.shape != (len(x),):
        raise Mismatch(f"for x of shape {x.shape}: got new x of shape {new.shape} and accepted "
                       f"of shape {accepted.shape}; expected {x.shape} and ({len(x)},)")
    return new, accepted.astype(bool)


@prop("the fraction of accepted moves is the exact E[min(1, α)] (N(0, 1) target, x ~ N(0, 1), "
      "20,000 chains, within 5 standard errors)",
      "accept with probability min(1, exp(U(x) − U(x')) · q(x|x') / q(x'|x)) with "
      "log q(b|a) = −‖b − a + (ε/2)∇U(a)‖²/(2ε): the proposal ratio matters because the drift "
      "makes q asymmetric, and accepting everything is ULA (biased)",
      eps=floats(0.8, 3.0), rng=rngs(), examples=8)
def acceptance(student, ref, eps, rng):
    x = rng.standard_normal((N, 1))
    _, accepted = _step(student, x, eps, rng)
    rate, exact = accepted.mean(), _expected_acceptance(eps)
    tol = 5 * math.sqrt(exact * (1 - exact) / N) + 1e-3
    if abs(rate - exact) > tol:
        raise Mismatch(f"with ε = {eps:.3f}: {rate:.4f} of the moves were accepted, but MALA "
                       f"accepts {exact:.4f} of them on average (allowed ± {tol:.4f})")


@prop("a rejected chain stays where it was, an accepted one moves", "keep x where the "
      "uniform is ≥ the acceptance probability, take the proposal elsewhere (row by row)",
      eps=floats(0.5, 3.0), rng=rngs(), examples=5)
def rejections_stay(student, ref, eps, rng):
    x = rng.standard_normal((500, 2))
    new, accepted = _step(student, x, eps, rng)
    moved = np.any(new != x, axis=1)
    if not np.array_equal(moved, accepted):
        raise Mismatch(f"{int(np.sum(moved != accepted))} of 500 chains moved when they were "
                       "rejected or stayed when accepted")


@prop("N(0, 1) stays invariant: from exact draws, 5 steps of ε = 1.5 keep the variance at 1 "
      "(within 5 standard errors)", "a step that leaves the target invariant needs the exact "
      "Metropolis–Hastings ratio, including the proposal ratio q(x|x')/q(x'|x)",
      rng=rngs(), examples=4)
def invariance(student, ref, rng):
    x = rng.standard_normal((N, 1))
    for _ in range(5):
        x, _ = _step(student, x, 1.5, rng)
    tol = 5 * math.sqrt(2.0 / N)
    if abs(x.var() - 1.0) > tol:
        raise Mismatch(f"after 5 steps the variance is {x.var():.4f}, not 1 (± {tol:.4f})")
