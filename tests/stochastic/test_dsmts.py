"""The DSMTS loader: .mod parsing (mass-action laws turned into rate constants, everything
else refused), a small sdist in the real layout run end to end against the suite's Z/Y rule
(and a wrong rate that fails it), and the real smfsb 1.2.2 archive when it is at hand."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from tests.data.conftest import make_tar_gz
from tinygen.data import sources
from tinygen.errors import ArgumentError
from tinygen.stochastic import dsmts, ssa

BIRTH_DEATH = """@model:3.1.1=BirthDeath01 "Birth-death model (001), variant 01"
 s=item,t=second,v=litre
@compartments
 Cell
@species
 Cell:X=100 s
@parameters
 Lambda=0.1
 Mu=0.11
@reactions
@r=Birth
 X ->  2X
 Lambda*X
@r=Death
 X ->
 Mu*X
"""

DIMER = """@model:3.1.1=Dimerisation01
@species
 Cell:P=100 s
 Cell:P2=0 s
@parameters
 k1=0.001
 k2=0.01
@reactions
@r=Dimerisation
 2P ->  P2
 k1*P*(P-1)/2
@r=Disassociation
 P2 -> 2P
 k2*P2
"""


def test_parse_birth_death_and_dimerisation():
    net = dsmts.parse_mod(BIRTH_DEATH).network
    assert net.species == ("X",) and net.initial.tolist() == [100]
    assert net.stoichiometry.tolist() == [[1], [-1]]
    np.testing.assert_allclose(net.rates, [0.1, 0.11], rtol=1e-12)
    net = dsmts.parse_mod(DIMER).network
    assert net.reactants.tolist() == [[2, 0], [0, 1]] and net.products.tolist() == [[0, 1],
                                                                                  [2, 0]]
    np.testing.assert_allclose(net.rates, [0.001, 0.01], rtol=1e-12)  # k1·C(P, 2): k = k1


def test_parse_local_parameters_compartment_sizes_and_boundary_species():
    text = (BIRTH_DEATH.replace("@compartments\n Cell", "@compartments\n Cell=2")
            .replace(" Cell:X=100 s", " Cell:X=100 s\n Cell:Sink=7 sb")
            .replace(" X ->\n Mu*X", " X -> Sink\n Cell*k*X : k=0.25"))
    net = dsmts.parse_mod(text).network
    assert net.species == ("X", "Sink") and net.initial.tolist() == [100, 7]
    assert net.stoichiometry.tolist() == [[1, 0], [-1, 0]]  # the sink's count never moves
    np.testing.assert_allclose(net.rates, [0.1, 0.5], rtol=1e-12)


def test_a_concentration_stands_for_count_over_volume():
    """As DSMTS 001-11 has it: X=100 (no flag s) in a compartment of size 2 starts at 100
    molecules, and the law Lambda*X means Lambda·x/2 per unit time."""
    text = BIRTH_DEATH.replace("@compartments\n Cell", "@compartments\n Cell=2").replace(
        "X=100 s", "X=100")
    model = dsmts.parse_mod(text)
    assert model.network.initial.tolist() == [100]
    np.testing.assert_allclose(model.network.rates, [0.05, 0.055], rtol=1e-12)
    np.testing.assert_allclose(dsmts.parse_mod(BIRTH_DEATH.replace("X=100 s", "X=100"))
                               .network.rates, [0.1, 0.11], rtol=1e-12)  # size 1: the same


RULE = BIRTH_DEATH.replace(" Cell:X=100 s", " Cell:X=100 s\n Cell:y=0 s").replace(
    "@reactions", "@rules\n y = 2*X\n@reactions")
EVENT = BIRTH_DEATH + "@events\n reset= t>=2.5 : X=X+7\n"


def test_rules_and_fixed_time_events():
    model = dsmts.parse_mod(RULE)
    assert model.rules == (("y", "2*X"),)
    x = dsmts.simulate(model, [0.0, 1.0, 4.0], 50, seed=3)
    np.testing.assert_array_equal(x[..., 1], 2 * x[..., 0])
    assert x[:, 0, 1].tolist() == [200] * 50
    model = dsmts.parse_mod(EVENT)
    assert model.events == (dsmts.Event(2.5, (("X", "X+7"),)),)
    times = np.array([0.0, 1.0, 2.5, 3.0])
    with_event = dsmts.simulate(model, times, 200, seed=4)
    plain = dsmts.simulate(dsmts.parse_mod(BIRTH_DEATH), np.append(times[:2], 2.5), 200, seed=4)
    np.testing.assert_array_equal(with_event[:, :2], plain[:, :2])  # the same stream up to it
    np.testing.assert_array_equal(with_event[:, 2, 0], plain[:, 2, 0] + 7)  # the state after
    assert not np.array_equal(with_event[:, 3], with_event[:, 2])  # and it goes on from there


def test_an_event_restarts_each_trajectory_from_its_own_state():
    """The immigration–death reset of DSMTS 002-09 at a smaller scale: X = 0, immigration
    1, death 0.1, X set to 50 at t = 5. After the reset X is 50·e^{−0.1s} plus an independent
    Poisson((1 − e^{−0.1s})/0.1): mean and variance are known, and the Z/Y rule applies."""
    text = """@species\n Cell:X=0 s\n@parameters\n Alpha=1\n Mu=0.1\n@reactions
@r=Immigration\n -> X\n Alpha\n@r=Death\n X ->\n Mu*X\n@events\n reset= t>=5 : X=50\n"""
    model = dsmts.parse_mod(text)
    t = np.array([5.0, 6.0, 10.0])
    x = dsmts.simulate(model, t, 4000, seed=8)[:, :, 0]
    assert (x[:, 0] == 50).all()
    s = t[1:] - 5
    g = np.exp(-0.1 * s)
    mean = 50 * g + 10 * (1 - g)
    var = 50 * g * (1 - g) + 10 * (1 - g)  # binomial survivors + Poisson newcomers
    z, y = ssa.moment_scores(x[:, 1:], mean, np.sqrt(var))
    assert (np.abs(z) < 3).all() and (np.abs(y) < 5).all(), (z, y)


@pytest.mark.parametrize("text, match", [
    (BIRTH_DEATH.replace("Mu*X", "Mu*)"), "cannot read the kinetic law"),
    (BIRTH_DEATH.replace("Mu*X", "Mu*X*X"), "not mass action"),
    (DIMER.replace("k1*P*(P-1)/2", "k1*P*P"), "not mass action"),
    (BIRTH_DEATH.replace("Mu*X", "__import__('os')"), "cannot read"),
    (BIRTH_DEATH.replace(" X ->\n", " X -> Y\n"), "cannot read 'Y'"),
    (BIRTH_DEATH + "@events\n reset= X>30 : X=100\n", "only fixed times"),
    (BIRTH_DEATH + "@events\n reset= t>=2 : Z=1\n", "assigns 'Z', which is not a species"),
    (BIRTH_DEATH.replace("@parameters", "@rules\n z = 2*X\n@parameters"), "sets 'z'"),
    (RULE.replace("Mu*X", "Mu*y"), "reads \\['y'\\], set by a rule"),
    (BIRTH_DEATH.rstrip().rsplit("\n", 1)[0], "kinetic-law line"),
])
def test_parse_errors(text, match):
    with pytest.raises(ArgumentError, match=match):
        dsmts.parse_mod(text)


def _csv(times, values):
    rows = [f"{t:g},{v:.6f}" for t, v in zip(times, values)]
    return ("time,X\n" + "\n".join(rows) + "\n").encode()


@pytest.fixture
def small_sdist(tmp_path, monkeypatch):
    """An sdist in smfsb's layout with case 001-01, its exact mean and SD written from the
    birth–death formulas, installed in an isolated cache as a fetch would leave it."""
    t = np.arange(51.0)
    g = np.exp((0.1 - 0.11) * t)
    mean, sd = 100 * g, np.sqrt(100 * (0.21 / -0.01) * g * (g - 1))
    root = "smfsb-1.2.2/dsmts/stochastic/00001/dsmts-001-01"
    path = make_tar_gz(tmp_path / "smfsb-1.2.2.tar.gz", {
        root + ".mod": BIRTH_DEATH.encode(), root + "-mean.csv": _csv(t, mean),
        root + "-sd.csv": _csv(t, sd)})
    monkeypatch.setenv(sources.DATA_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(sources.OFFLINE_ENV, "1")
    src = dataclasses.replace(sources.SOURCES["dsmts"], sha256=sources.sha256_of(path),
                              size=path.stat().st_size)
    monkeypatch.setitem(sources.SOURCES, "dsmts", src)
    sources.archive_path(src).parent.mkdir(parents=True)
    shutil.copy(path, sources.archive_path(src))


def _passes(case, n=2000, seed=0, network=None):
    """The suite's rule at every live time and species, allowing two chance misses of each
    score (about 50 correlated checks per species at the 0.3% level); where the exact SD is
    0 (t = 0, a reset) every run must sit on the mean."""
    model = case.model if network is None else dataclasses.replace(case.model,
                                                                     network=network)
    x = case.select(dsmts.simulate(model, case.times, n, seed))
    live = case.sd > 0
    z, y = ssa.moment_scores(x, case.mean, np.where(live, case.sd, 1.0))
    fixed = bool((x[:, ~live] == case.mean[~live]).all())
    return fixed and bool((np.abs(z[live]) >= 3).sum() <= 2
                          and (np.abs(y[live]) >= 5).sum() <= 2)


def test_load_and_validate_a_case(small_sdist):
    case = dsmts.load_dsmts("001-01")
    assert case.columns == ("X",) and case.times.shape == (51,) and case.mean.shape == (51, 1)
    assert case.mean[0, 0] == 100 and case.sd[0, 0] == 0
    assert _passes(case)
    wrong = dataclasses.replace(case.network, rates=case.network.rates[::-1].copy())
    assert not _passes(case, network=wrong)  # birth and death swapped: the rule catches it


def test_case_names(small_sdist):
    assert dsmts.case_names() == ["001-01"]


def test_load_errors(small_sdist):
    with pytest.raises(ArgumentError, match="no DSMTS case '002-01'"):
        dsmts.load_dsmts("002-01")
    with pytest.raises(ArgumentError, match="must look like '001-01'"):
        dsmts.load_dsmts("1-1")


# The real suite (a 9 MB sdist, fetched once and cached; lesson 36 reads it too).
@pytest.mark.parametrize("name", ["001-01", "001-06", "001-11", "001-17", "001-19", "002-01",
                                  "002-09", "003-01", "003-03", "004-01"])
def test_real_cases_pass(name):
    assert _passes(dsmts.load_dsmts(name), n=2000, seed=1)
