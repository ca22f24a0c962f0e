"""The check of the SSA kernels' arguments, shared by the CPU and CUDA kernels (NumPy and
CuPy arrays alike; the kernels never import the engine)."""

from __future__ import annotations


def check_network(stoich, reactants, rates, initial, times, seed: int, first: int, xp):
    """The arguments as contiguous int64/float64 arrays (``initial`` copied: the kernels move
    it), or a ValueError naming the one that does not fit: stoich and reactants (R, S),
    reactants ≥ 0, rates (R,) ≥ 0, initial (N, S) ≥ 0, times (T,) ≥ 0 and non-decreasing,
    seed and first integers in [0, 2⁶⁴)."""
    stoich = xp.ascontiguousarray(stoich, dtype=xp.int64)
    reactants = xp.ascontiguousarray(reactants, dtype=xp.int64)
    rates = xp.ascontiguousarray(rates, dtype=xp.float64)
    x = xp.array(initial, dtype=xp.int64, order="C")
    times = xp.ascontiguousarray(times, dtype=xp.float64)
    if stoich.ndim != 2 or reactants.shape != stoich.shape:
        raise ValueError(f"ssa kernel: stoich and reactants must both be (R, S), got "
                         f"{stoich.shape} and {reactants.shape}")
    if rates.shape != (stoich.shape[0],):
        raise ValueError(f"ssa kernel: rates must be ({stoich.shape[0]},) (one per reaction), "
                         f"got {rates.shape}")
    if x.ndim != 2 or x.shape[1] != stoich.shape[1]:
        raise ValueError(f"ssa kernel: initial must be (N, {stoich.shape[1]}) (one row of counts "
                         f"per trajectory), got {x.shape}")
    if times.ndim != 1:
        raise ValueError(f"ssa kernel: times must be 1-D, got shape {times.shape}")
    for name, a in (("reactants", reactants), ("rates", rates), ("initial", x),
                    ("times", times)):
        if a.size and bool((a < 0).any()):
            raise ValueError(f"ssa kernel: {name} must be ≥ 0, got a negative entry")
    if times.size > 1 and bool((times[1:] < times[:-1]).any()):
        raise ValueError("ssa kernel: times must be non-decreasing")
    for name, v in (("seed", seed), ("first", first)):
        if int(v) != v or not 0 <= v < 2**64:
            raise ValueError(f"ssa kernel: {name} must be an integer in [0, 2**64), got {v!r}")
    return stoich, reactants, rates, x, times
