"""Checker for gillespie_step: which reaction fires, and after how long."""

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, close, floats, prop, show, st

TITLE = "One Gillespie direct-method step"
TOPIC = "probability"
DIFFICULTY = 1
LESSON = "36_gillespie"
FUNCTIONS = ["gillespie_step"]

propensities = arrays(st.integers(1, 5).map(lambda r: (r,)), 0.0, 5.0).filter(
    lambda a: a.sum() > 0.01)
uniforms = floats(1e-6, 1.0 - 1e-6)


def _step(module, a, u1, u2):
    out = module.gillespie_step(a, u1, u2)
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise Mismatch("gillespie_step must return (reaction index, waiting time)")
    return int(out[0]), float(out[1])


@prop("reaction j fires when Σ_{i<j} a_i ≤ u₂·a₀ < Σ_{i≤j} a_i (j counts from 0)", "",
      a=propensities, u1=uniforms, u2=uniforms)
def reaction(student, ref, a, u1, u2):
    got, want = _step(student, a, u1, u2)[0], ref.gillespie_step(a, u1, u2)[0]
    if got != want:
        raise Mismatch(f"for\n  a = {show(a)}\n  u1 = {u1!r}\n  u2 = {u2!r}\nreaction {got} "
                       f"fired; expected reaction {want} (cumulative sums {show(np.cumsum(a))}"
                       f", u2·a0 = {u2 * a.sum():.4g})")


@prop("a reaction with zero propensity never fires",
      "pick the first j whose cumulative sum is strictly greater than u₂·a₀",
      a=propensities, u1=uniforms, zero_at=st.integers(0, 4))
def zero_never(student, ref, a, u1, zero_at):
    a = a.copy()
    a[zero_at % len(a)] = 0.0
    if a.sum() <= 0:
        return
    cum = np.cumsum(a)
    boundaries = cum[:-1] / cum[-1]                  # where u₂·a₀ lands on an interval's edge
    for u2 in np.concatenate([[0.0], boundaries[boundaries < 1.0]]):
        j = _step(student, a, u1, float(u2))[0]
        if not (0 <= j < len(a)) or a[j] == 0:
            raise Mismatch(f"for\n  a = {show(a)}\n  u2 = {float(u2)!r}\nreaction {j} fired, "
                           "but its propensity is 0 (or it does not exist)")


@prop("the waiting time is τ = ln(1/u₁)/a₀ (exponential with mean 1/a₀)",
      "τ = −ln(u₁)/a₀: positive, and shorter when the total propensity a₀ is larger",
      a=propensities, u1=uniforms, u2=uniforms)
def waiting_time(student, ref, a, u1, u2):
    close(_step(student, a, u1, u2)[1], ref.gillespie_step(a, u1, u2)[1], "the waiting time",
          a=a, u1=u1, u2=u2)
