r"""Gillespie's stochastic simulation algorithm (SSA) on a reaction network.

From the post "python简单实现gillespie模拟" (a simple Python Gillespie simulation). A network
has species with initial counts x and reactions r with rate constants k_r, reactant counts
ν_rs and product counts ν'_rs; firing r adds the stoichiometry row ν'_r − ν_r to x. Under
mass action its propensity (probability per unit time) is::

    a_r(x) = k_r ∏_s C(x_s, ν_rs)           (C the binomial coefficient: distinct molecule sets)

**Direct method** (the post's): with a₀ = Σ_r a_r, wait τ = −ln(u₁)/a₀ (exponential with rate
a₀), then fire the first r with Σ_{j≤r} a_j > u₂·a₀. **First-reaction method** (a cross-check
with the same law): draw τ_r = −ln(u_r)/a_r for every reaction and fire the earliest.

:func:`path` is the pure-Python twin (one trajectory, the event list); :func:`simulate` samples
it on a time grid (the state *at* each grid time, not the events up to it), and
:func:`simulate_many` runs many trajectories in the Numba kernels
(:mod:`tinygen.kernels.cpu.ssa`). The uniforms come from a counter-based stream,
u_k = hash(seed, trajectory, k) (the formula is in :mod:`tinygen.kernels.ssa_core`), so the same
(seed, trajectory) gives the same trajectory in the twin and in every kernel, whatever the
number of threads.

**Histograms must weigh time.** The post histograms the state at every event; but the chain
leaves state x at rate a₀(x), so counting events weighs each state by a₀(x) and over-counts
busy states (for birth–death, ∅ → X at λ, X → ∅ at μ·x, the event count at x is ∝
π(x)(λ + μx), not the stationary π(x) = Poisson(λ/μ)). :func:`time_weighted_histogram` weighs
each state by the time spent in it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..backend import kernels
from ..errors import ArgumentError

_M = 2**64 - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(z: int) -> int:
    """SplitMix64's finaliser on a 64-bit integer."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M
    return z ^ (z >> 31)


def stream_uniform(seed: int, trajectory: int, k: int) -> float:
    """The k-th uniform in (0, 1) of a trajectory's counter-based stream:
    u_k = (⌊mix(key + (k + 1)·G) / 2¹¹⌋ + ½)·2⁻⁵³ with key = mix(seed·G + trajectory)."""
    key = _mix((seed * _GOLDEN + trajectory) & _M)
    return ((_mix((key + (k + 1) * _GOLDEN) & _M) >> 11) + 0.5) * 2.0 ** -53


@dataclass(frozen=True, eq=False)  # array fields: compared by identity
class ReactionNetwork:
    """Species with initial counts and reactions with mass-action rates.

    ``reactants``/``products`` are (R, S) counts ν, ν'; ``stoichiometry`` is ν' − ν. A custom
    ``propensity(x) -> R values ≥ 0`` (x the (S,) counts) replaces mass action in the
    Python simulators (:func:`path`, :func:`simulate`); the kernels take mass action only.
    """

    species: tuple[str, ...]
    initial: np.ndarray
    reactants: np.ndarray
    products: np.ndarray
    rates: np.ndarray
    propensity: Callable[[np.ndarray], Sequence[float]] | None = None

    @classmethod
    def build(cls, initial: Mapping[str, int],
              reactions: Sequence[tuple[Mapping[str, int], Mapping[str, int], float]],
              propensity: Callable[[np.ndarray], Sequence[float]] | None = None
              ) -> ReactionNetwork:
        """From ``{species: count}`` and ``[(reactants, products, rate), ...]`` with
        ``{species: count}`` sides, e.g. m → m + n at 2.5 is ``({"m": 1}, {"m": 1, "n": 1},
        2.5)`` and ∅ → m at 20 is ``({}, {"m": 1}, 20.0)``."""
        species = tuple(initial)
        index = {s: i for i, s in enumerate(species)}
        nu = np.zeros((len(reactions), len(species)), np.int64)
        nu2 = np.zeros_like(nu)
        rates = np.zeros(len(reactions))
        for r, (left, right, rate) in enumerate(reactions):
            for side, table in ((left, nu), (right, nu2)):
                for s, c in side.items():
                    if s not in index:
                        raise ArgumentError(f"ReactionNetwork: reaction {r} names species {s!r}"
                                            f", not one of {species}")
                    if int(c) != c or c < 0:
                        raise ArgumentError(f"ReactionNetwork: reaction {r} has count {c!r} "
                                            f"of {s!r}; counts are integers ≥ 0")
                    table[r, index[s]] = c
            if not rate >= 0:
                raise ArgumentError(f"ReactionNetwork: reaction {r} has rate {rate!r}; rates "
                                    "are ≥ 0")
            rates[r] = rate
        x0 = np.array([initial[s] for s in species], np.int64)
        if (x0 < 0).any():
            raise ArgumentError(f"ReactionNetwork: initial counts must be ≥ 0, got {dict(initial)}")
        return cls(species, x0, nu, nu2, rates, propensity)

    @property
    def stoichiometry(self) -> np.ndarray:
        """(R, S): how reaction r changes each count, ν'_r − ν_r."""
        return self.products - self.reactants

    def propensities(self, x: Sequence[int]) -> list[float]:
        """a_r(x) for every reaction: the custom ``propensity`` or k_r ∏_s C(x_s, ν_rs)."""
        if self.propensity is not None:
            return [float(a) for a in self.propensity(np.asarray(x))]
        out = []
        for r in range(len(self.rates)):
            a = float(self.rates[r])
            for s in range(len(x)):
                for i in range(int(self.reactants[r, s])):
                    a = a * (int(x[s]) - i) / (i + 1)
            out.append(a)
        return out


def path(net: ReactionNetwork, t_end: float, seed: int, trajectory: int = 0,
         method: str = "direct", max_events: int = 10**7) -> tuple[np.ndarray, np.ndarray]:
    """One trajectory on [0, t_end]: event times (E + 1,) starting at 0 and states (E + 1, S);
    the state is ``states[i]`` from ``times[i]`` until ``times[i + 1]``.

    ``method`` is ``"direct"`` (uniforms u_{2e}, u_{2e+1} at event e; the kernels' algorithm)
    or ``"first_reaction"`` (uniforms u_{Re+r} for reaction r at event e)."""
    if method not in ("direct", "first_reaction"):
        raise ArgumentError(f"ssa.path: method must be 'direct' or 'first_reaction', got "
                            f"{method!r}")
    x = [int(c) for c in net.initial]
    stoich = net.stoichiometry.tolist()
    n_reactions = len(stoich)
    t, e = 0.0, 0
    times, states = [0.0], [list(x)]
    while True:
        a = net.propensities(x)
        if any(not v >= 0 for v in a):
            raise ArgumentError(f"ssa.path: propensities must be ≥ 0, got {a} at state {x}")
        if e == max_events:
            raise ArgumentError(f"ssa.path: more than max_events={max_events} events before "
                                f"t_end={t_end}; raise max_events or shorten t_end")
        if method == "direct":
            a0 = 0.0
            for v in a:
                a0 += v
            if a0 <= 0:
                break
            t_next = t - math.log(stream_uniform(seed, trajectory, 2 * e)) / a0
            target = stream_uniform(seed, trajectory, 2 * e + 1) * a0
            cum, fired = 0.0, -1
            for r in range(n_reactions):
                cum += a[r]
                if a[r] > 0:
                    fired = r
                    if cum > target:
                        break
        else:
            t_next, fired = math.inf, -1
            for r in range(n_reactions):
                if a[r] > 0:
                    tr = t - math.log(stream_uniform(seed, trajectory, n_reactions * e + r)) / a[r]
                    if tr < t_next:
                        t_next, fired = tr, r
            if fired < 0:
                break
        if t_next > t_end:
            break
        x = [c + d for c, d in zip(x, stoich[fired])]
        t = t_next
        e += 1
        times.append(t)
        states.append(list(x))
    return np.array(times), np.array(states, np.int64)


def on_grid(times: np.ndarray, states: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The states (T, S) at the grid times: after every event at or before each time."""
    return states[np.searchsorted(times, grid, side="right") - 1]


def simulate(net: ReactionNetwork, grid: Sequence[float], seed: int, trajectory: int = 0,
             method: str = "direct") -> np.ndarray:
    """One trajectory in pure Python, sampled on ``grid``: (T, S) counts."""
    grid = np.asarray(grid, float)
    return on_grid(*path(net, float(grid[-1]), seed, trajectory, method), grid)


def simulate_many(net: ReactionNetwork, grid, n: int, seed: int, first: int = 0,
                  max_events: int = 10**8, xp=np, *, initial=None, chunk: int | None = None,
                  client=None) -> np.ndarray:
    """Trajectories ``first`` … ``first + n − 1`` (the direct method) in the Numba kernel of
    ``xp`` (NumPy → CPU, CuPy → CUDA), sampled on ``grid``: (n, T, S) counts. Trajectory i is
    the one :func:`simulate` gives for ``trajectory=i``. ``initial`` (n, S), if given, starts
    each trajectory from its own counts instead of ``net.initial`` (a restart, e.g. after an
    event).

    ``chunk`` splits the trajectories into runs of at most that many, and ``client`` (a
    ``dask.distributed.Client``) runs those chunks on its workers (CPU kernel; by default
    two chunks per worker thread). Each trajectory's stream depends only on (seed, i), so
    the result is the same array bit for bit however it is chunked and wherever the chunks
    run (:mod:`tinygen.stochastic.scale`)."""
    if net.propensity is not None:
        raise ArgumentError("ssa.simulate_many: the kernels take mass-action propensities "
                            "only; use ssa.simulate for a network with a custom propensity")
    if initial is not None:
        initial = xp.asarray(initial)
        if initial.shape != (int(n), len(net.species)):
            raise ArgumentError(f"ssa.simulate_many: initial must be (n, S) = ({n}, "
                                f"{len(net.species)}), got {tuple(initial.shape)}")
    if client is not None:
        from . import scale
        if xp is not np:
            raise ArgumentError("ssa.simulate_many: with a client the chunks run on the "
                                "workers' CPU kernel; pass xp=numpy (the default)")
        scale._require_client(client)
        if chunk is None:
            chunk = max(1, -(-int(n) // (2 * max(1, sum(client.nthreads().values())))))
        return scale.simulate_on(client, net, np.asarray(grid, float), n, seed, first,
                                 max_events, chunk, initial)
    if chunk is not None:
        from . import scale
        parts = [simulate_many(net, grid, count, seed, start, max_events, xp,
                               initial=None if initial is None else
                               initial[start - first:start - first + count])
                 for start, count in scale.chunks(n, chunk, first)]
        return xp.concatenate(parts) if parts else simulate_many(net, grid, 0, seed, first,
                                                                 max_events, xp)
    x0 = (xp.broadcast_to(xp.asarray(net.initial), (int(n), len(net.species)))
          if initial is None else initial)
    out, events = kernels(xp, "ssa").simulate(
        xp.asarray(net.stoichiometry), xp.asarray(net.reactants), xp.asarray(net.rates), x0,
        xp.asarray(grid, dtype=xp.float64), seed, first, max_events)
    if bool((events < 0).any()):
        raise ArgumentError(f"ssa.simulate_many: a trajectory needed more than "
                            f"max_events={max_events} events; raise max_events or shorten the grid")
    return out


def time_weighted_histogram(times: np.ndarray, states: np.ndarray, t_end: float,
                            species: int = 0) -> np.ndarray:
    """p[c] = the fraction of [0, t_end] that a :func:`path` spends with ``species`` at count
    c (the time spent in each state, not the number of events there)."""
    dwell = np.diff(np.append(times, t_end))
    counts = states[:, species]
    return np.bincount(counts, weights=dwell, minlength=counts.max() + 1) / t_end


def moment_scores(samples: np.ndarray, mean: np.ndarray, sd: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The DSMTS scores of n samples (axis 0) against the exact mean μ and standard deviation
    σ: Z = √n (X̄ − μ)/σ (pass: |Z| < 3) and Y = √(n/2)(S²/σ² − 1) (pass: |Y| < 5)."""
    samples = np.asarray(samples, float)
    n = samples.shape[0]
    z = math.sqrt(n) * (samples.mean(0) - mean) / sd
    y = math.sqrt(n / 2) * (samples.var(0, ddof=1) / sd**2 - 1)
    return z, y
