"""Exercise gillespie_step: one step of Gillespie's direct method (exact stochastic
simulation of a chemical system).

With reaction propensities a_0 … a_{R−1} ≥ 0 (rates in the current state) and their total
a₀ = Σ_j a_j > 0, the next reaction happens after an exponential waiting time with rate a₀,
and it is reaction j with probability a_j/a₀. From two uniforms u₁, u₂ ∈ (0, 1):

    τ = ln(1/u₁) / a₀
    j = the smallest index with Σ_{i≤j} a_i > u₂·a₀      (indices count from 0)

so a reaction with zero propensity never fires.

    gillespie_step(propensities, u1, u2) -> (j, tau)

The checker compares j and τ with the reference on random propensities (some zero) and
uniforms, and checks that a zero-propensity reaction never fires.
"""

import numpy as np


def gillespie_step(propensities: np.ndarray, u1: float, u2: float) -> tuple[int, float]:
    raise NotImplementedError
