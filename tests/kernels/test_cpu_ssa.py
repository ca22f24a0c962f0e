"""The Numba CPU SSA kernel against the pure-Python twin (tinygen.stochastic.ssa.path):
the same random stream and, on hypothesis-drawn networks, the same trajectories bit for bit;
and every argument check."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygen.kernels.cpu import ssa as K
from tinygen.stochastic import ssa


@given(seed=st.integers(0, 2**64 - 1), traj=st.integers(0, 2**40), k=st.integers(0, 2**40))
def test_stream_matches_the_twin(seed, traj, k):
    u = K.uniform(_key(seed, traj), k)
    assert u == ssa.stream_uniform(seed, traj, k) and 0 < u < 1


def _key(seed, traj):
    """The stream key, as the kernel computes it (mix(seed·G + trajectory) mod 2⁶⁴)."""
    return np.uint64(ssa._mix((seed * ssa._GOLDEN + traj) & ssa._M))


@st.composite
def networks(draw):
    s = draw(st.integers(1, 3))
    r = draw(st.integers(1, 4))
    side = st.lists(st.lists(st.integers(0, 2), min_size=s, max_size=s), min_size=r,
                    max_size=r)
    reactants, products = np.array(draw(side)), np.array(draw(side))
    rates = np.array(draw(st.lists(st.floats(0.0, 5.0), min_size=r, max_size=r)))
    initial = draw(st.lists(st.integers(0, 6), min_size=s, max_size=s))
    names = [f"s{i}" for i in range(s)]
    reactions = [({n: int(c) for n, c in zip(names, a) if c},
                  {n: int(c) for n, c in zip(names, b) if c}, float(k))
                 for a, b, k in zip(reactants, products, rates)]
    return ssa.ReactionNetwork.build(dict(zip(names, initial)), reactions)


@given(net=networks(), seed=st.integers(0, 2**63), first=st.integers(0, 1000),
       t_end=st.floats(0.0, 3.0))
def test_kernel_matches_the_twin_bit_for_bit(net, seed, first, t_end):
    grid = np.linspace(0.0, t_end, 7)
    out, events = K.simulate(net.stoichiometry, net.reactants, net.rates,
                             np.tile(net.initial, (3, 1)), grid, seed, first, max_events=300)
    for n in range(3):
        try:
            times, states = ssa.path(net, t_end, seed, first + n, max_events=300)
        except ssa.ArgumentError:
            assert events[n] == -1  # both ran out of events
            continue
        assert events[n] == len(times) - 1
        np.testing.assert_array_equal(out[n], ssa.on_grid(times, states, grid))
        assert (states >= 0).all()  # a reaction without its reactants never fires
    assume((events > 0).any())


def test_kernel_does_not_move_its_inputs():
    x0 = np.array([[3, 0]])
    st_ = np.array([[-1, 1]])
    K.simulate(st_, np.array([[1, 0]]), np.array([1.0]), x0, np.array([0.0, 5.0]), 1)
    assert x0.tolist() == [[3, 0]]


BAD = {
    "stoich and reactants must both be (R, S)": dict(stoich=np.zeros(3, int)),
    "must both be (R, S), got (1, 1) and (2, 2)": dict(reactants=np.zeros((2, 2), int)),
    "rates must be (1,)": dict(rates=np.ones(2)),
    "initial must be (N, 1)": dict(initial=np.zeros((2, 2), int)),
    "times must be 1-D": dict(times=np.zeros((2, 2))),
    "reactants must be ≥ 0": dict(reactants=np.array([[-1]])),
    "rates must be ≥ 0": dict(rates=np.array([-1.0])),
    "initial must be ≥ 0": dict(initial=np.array([[-1]])),
    "times must be ≥ 0": dict(times=np.array([-1.0, 1.0])),
    "non-decreasing": dict(times=np.array([2.0, 1.0])),
    "seed must be an integer": dict(seed=-1),
    "first must be an integer": dict(first=0.5),
}


@pytest.mark.parametrize("match", sorted(BAD))
def test_kernel_argument_errors(match):
    args = dict(stoich=np.array([[1]]), reactants=np.array([[0]]), rates=np.array([1.0]),
                initial=np.array([[0]]), times=np.array([0.0, 1.0]), seed=0, first=0)
    args.update(BAD[match])
    with pytest.raises(ValueError, match=re.escape(match)):
        K.simulate(**args)


def test_result_does_not_depend_on_the_thread_count():
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba was started with one thread")
    args = (np.array([[1], [-1]]), np.array([[0], [1]]), np.array([30.0, 1.0]),
            np.zeros((64, 1), int), np.linspace(0, 5, 11), 42)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = K.simulate(*args)[0]
        numba.set_num_threads(2)
        two = K.simulate(*args)[0]
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
