r"""One Gillespie trajectory (the direct method) written once as plain functions, compiled
into whichever kernel calls them: ``numba.njit`` in :mod:`tinygen.kernels.cpu.ssa`,
``numba.cuda.jit`` in :mod:`tinygen.kernels.cuda.ssa` and plain Python in the CUDA simulator
(minitorch's one-helper-compiled-several-ways idea, through Numba's ``register_jitable``).
The pure-Python twin (:mod:`tinygen.stochastic.ssa`) is an independent implementation of
the same arithmetic.

**The random stream** is counter-based, so a trajectory's numbers depend only on
(seed, trajectory, draw index) and never on which thread runs it. With SplitMix64's
finaliser ``mix`` (all arithmetic mod 2⁶⁴) and the golden-ratio increment G::

    key = mix(seed·G + trajectory)
    u_k = (⌊mix(key + (k + 1)·G) / 2¹¹⌋ + ½) · 2⁻⁵³        ∈ (0, 1), never 0 or 1

**One step** of the direct method draws u_{2e}, u_{2e+1} at event e: with mass-action
propensities a_r = k_r ∏_s C(x_s, ν_rs) and a₀ = Σ_r a_r, the waiting time is
τ = −ln(u_{2e})/a₀ and the reaction is the first r with Σ_{j≤r} a_j > u_{2e+1}·a₀. The state
at each grid time is the state after every event at or before it.
"""

from __future__ import annotations

import math

import numpy as np
from numba.extending import register_jitable

GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB


@register_jitable
def mix(z):
    """SplitMix64's finaliser of a uint64."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
    return z ^ (z >> np.uint64(31))


@register_jitable
def uniform(key, k):
    """u_k of the stream with this key, in (0, 1)."""
    h = mix(key + (np.uint64(k) + np.uint64(1)) * np.uint64(GOLDEN))
    return (float(h >> np.uint64(11)) + 0.5) * 2.0 ** -53


@register_jitable
def propensity(r, x, reactants, rates):
    """a_r(x) = k_r ∏_s C(x_s, ν_rs)."""
    a = rates[r]
    for s in range(x.shape[0]):
        for i in range(reactants[r, s]):
            a = a * (x[s] - i) / (i + 1)
    return a


@register_jitable
def run(seed, traj, x, times, stoich, reactants, rates, max_events, out):
    """Fill out[g, :] with the state at times[g]; return the number of events, or −1
    when more than ``max_events`` would be needed (out is then incomplete)."""
    key = mix(np.uint64(seed) * np.uint64(GOLDEN) + np.uint64(traj))
    n_reactions = rates.shape[0]
    t = 0.0
    g = 0
    e = 0
    while g < times.shape[0]:
        a0 = 0.0
        for r in range(n_reactions):
            a0 += propensity(r, x, reactants, rates)
        t_next = math.inf
        if a0 > 0:
            if e == max_events:
                return -1
            t_next = t - math.log(uniform(key, 2 * e)) / a0
        while g < times.shape[0] and times[g] < t_next:
            for s in range(x.shape[0]):
                out[g, s] = x[s]
            g += 1
        if g == times.shape[0]:
            break
        target = uniform(key, 2 * e + 1) * a0
        cum = 0.0
        fired = -1
        for r in range(n_reactions):
            a = propensity(r, x, reactants, rates)
            cum += a
            if a > 0:
                fired = r  # rounding may leave cum ≤ target: the last live reaction
                if cum > target:
                    break
        for s in range(x.shape[0]):
            x[s] += stoich[fired, s]
        t = t_next
        e += 1
    return e
