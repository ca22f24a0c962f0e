r"""The Discrete Stochastic Models Test Suite (DSMTS): reaction networks with the exact mean
and standard deviation of every species at every time, for validating a stochastic simulator.

The cases ship in the sdist of smfsb 1.2.2 (source ``dsmts`` in
:mod:`tinygen.data.sources`), as ``dsmts/stochastic/NNNNN/dsmts-MMM-VV.mod`` (SBML shorthand)
with ``-mean.csv`` and ``-sd.csv`` tables. :func:`load_dsmts` reads one case into a
:class:`DsmtsModel`: a :class:`~tinygen.stochastic.ssa.ReactionNetwork` whose kinetic laws
must be mass action, k·∏_s C(x_s, ν_s) (``Lambda*X``, ``k1*P*(P-1)/2``, ``Alpha``), each
turned into its rate constant k so the kernels can run it, plus what the kernels do not do
and :func:`simulate` adds around them:

* **assignment rules** (``@rules``, ``y = 2*X``): the species is computed from the others at
  every output time;
* **events at fixed times** (``@events``, ``reset= t>=25 : P=100; P2=0``): the simulation
  stops at the time, the assignments update each trajectory's state, and it restarts;
* **concentrations** (a species without flag ``s``): as the suite's SBML files have it, the
  number is the initial count, and the symbol means count / compartment size in laws
  (``Lambda*X`` in a compartment of size 2 is the rate 0.05 per molecule) and rules.

Not supported, and refused with a message: events triggered by the state (``P2>30``, case
003-04: it needs a check after every reaction inside the kernels) and kinetic laws that are
not mass action in the species they consume (003-05 to 003-07 write the dimerisation with P
eliminated through P = 100 − 2·P2, a propensity quadratic in P2 for a reaction with no
reactant). A boundary species (flag ``b``) keeps its initial count: reactions neither use
nor change it. The suite's pass rule, per species and time, with n simulations:
Z = √n (X̄ − μ)/σ ∈ (−3, 3) and Y = √(n/2)(S²/σ² − 1) ∈ (−5, 5)
(:func:`tinygen.stochastic.ssa.moment_scores`).
"""

from __future__ import annotations

import ast
import io
import math
import operator
import re
from dataclasses import dataclass

import numpy as np

from ..data.archives import iter_members, read_members
from ..data.sources import SOURCES, fetch
from ..errors import ArgumentError
from .ssa import _GOLDEN, _M, ReactionNetwork, _mix, moment_scores

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.Pow: operator.pow, ast.USub: operator.neg,
        ast.UAdd: operator.pos}


@dataclass(frozen=True, eq=False)  # array fields: compared by identity
class DsmtsCase:
    """One case: its model, the output times (T,), and the exact ``mean`` and ``sd`` (T, K)
    of the K species named in ``columns``."""

    name: str
    model: DsmtsModel
    times: np.ndarray
    columns: tuple[str, ...]
    mean: np.ndarray
    sd: np.ndarray

    @property
    def network(self) -> ReactionNetwork:
        """The model's reaction network."""
        return self.model.network

    def select(self, states: np.ndarray) -> np.ndarray:
        """The case's columns (..., K) of states (..., S) from :func:`simulate`."""
        names = list(self.network.species)
        return states[..., [names.index(c) for c in self.columns]]


def _evaluate(node: ast.AST, names: dict[str, float], law: str) -> float:
    """An arithmetic expression of numbers and names (+ − × ÷ and powers), without eval."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, names, law)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.left, names, law),
                                   _evaluate(node.right, names, law))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.operand, names, law))
    raise ArgumentError(f"dsmts: cannot read {ast.dump(node)} in the kinetic law {law!r} "
                        "(numbers, parameter and species names, + - * / ** only)")


def _side(text: str, species: dict[str, int], boundary: set[str], line: str
          ) -> dict[str, int]:
    """``2P + X`` → {"P": 2, "X": 1}; boundary species (held constant) are not counted."""
    out: dict[str, int] = {}
    for term in filter(None, (t.strip() for t in text.split("+"))):
        m = re.fullmatch(r"(\d*)\s*([A-Za-z_]\w*)", term)
        if not m or m.group(2) not in species:
            raise ArgumentError(f"dsmts: cannot read {term!r} in the reaction {line!r}")
        if m.group(2) not in boundary:
            out[m.group(2)] = out.get(m.group(2), 0) + int(m.group(1) or 1)
    return out


def _parse(text: str, law: str) -> ast.Expression:
    try:
        return ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ArgumentError(f"dsmts: cannot read the {law} {text.strip()!r}") from None


def _mass_action_rate(law: str, left: dict[str, int], species: dict[str, int],
                      params: dict[str, float], volume: dict[str, float]) -> float:
    """k when ``law`` equals k·∏ C(x_s, ν_s) at several states (it must), else an error. A
    species given as a concentration (``volume[s]`` its compartment's size) stands for
    x_s / V in the law."""
    law, _, local = law.partition(":")  # "Lambda*X : Lambda=0.1": parameters of this law
    for item in filter(None, (t.strip() for t in re.split(r"[,;]", local))):
        name, _, value = item.partition("=")
        params = {**params, name.strip(): float(value)}
    tree = _parse(law, "kinetic law")
    ratios = []
    for shift in (0, 3, 11, 40):
        x = {s: float(left.get(s, 0) + shift + 2 * i) for i, s in enumerate(species)}
        c = math.prod(math.comb(int(x[s]), n) for s, n in left.items())
        names = {**params, **{s: v / volume.get(s, 1.0) for s, v in x.items()}}
        ratios.append(_evaluate(tree, names, law) / c)
    if not all(math.isclose(r, ratios[0], rel_tol=1e-9) for r in ratios):
        raise ArgumentError(f"dsmts: the kinetic law {law!r} is not mass action "
                            f"k·∏ C(x_s, ν_s) over the reactants {left}")
    return ratios[0]


@dataclass(frozen=True)
class Event:
    """At ``time`` (a trigger ``t >= time``, fired once), set each species of ``assign`` to
    its expression, evaluated on the state just before."""

    time: float
    assign: tuple[tuple[str, str], ...]


@dataclass(frozen=True, eq=False)
class DsmtsModel:
    """A parsed ``.mod`` file: the reaction network (rates in molecule counts), the
    assignment ``rules`` (species = expression, at every time), the ``events`` at fixed
    times, and what each name means in an expression: the parameters, and per species the
    divisor of its count (its compartment size for a concentration, else 1)."""

    network: ReactionNetwork
    rules: tuple[tuple[str, str], ...] = ()
    events: tuple[Event, ...] = ()
    params: tuple[tuple[str, float], ...] = ()
    divisors: tuple[float, ...] = ()

    def evaluate(self, expression: str, states: np.ndarray) -> np.ndarray:
        """``expression`` on states (..., S): numbers, parameters and species."""
        names = dict(self.params)
        for i, s in enumerate(self.network.species):
            names[s] = states[..., i] / (self.divisors[i] if self.divisors else 1.0)
        return np.asarray(_evaluate(_parse(expression, "expression"), names, expression))


_EVENT = re.compile(r"\s*t\s*>=?\s*([0-9.eE+-]+)\s*")


def _event(line: str, species: dict[str, int]) -> Event:
    """``reset= t>=25 : P=100; P2=0``; only triggers on time, t >= T (or t > T: the same in
    continuous time), are supported."""
    _, _, body = line.partition("=")
    trigger, _, assignments = body.partition(":")
    m = _EVENT.fullmatch(trigger)
    if not m:
        raise ArgumentError(f"dsmts: the event {line!r} has the trigger {trigger.strip()!r}; "
                            "only fixed times, t >= T, are supported (a trigger on the state "
                            "would need a check after every reaction in the kernels)")
    assign = []
    for item in filter(None, (a.strip() for a in assignments.split(";"))):
        name, _, expression = item.partition("=")
        if name.strip() not in species:
            raise ArgumentError(f"dsmts: the event {line!r} assigns {name.strip()!r}, which is "
                                "not a species")
        assign.append((name.strip(), expression.strip()))
    return Event(float(m.group(1)), tuple(assign))


def parse_mod(text: str) -> DsmtsModel:
    """The model in a DSMTS ``.mod`` file (SBML shorthand): its reaction network, assignment
    rules and events at fixed times."""
    section, species, params, reactions = "", {}, {}, []
    boundary: set[str] = set()
    compartments: dict[str, float] = {}
    volume: dict[str, float] = {}  # concentration species: their compartment's size
    rules: list[tuple[str, str]] = []
    events: list[Event] = []
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("@"):
            section = line[1:].split("=")[0].split(":")[0]
            if section == "r":
                if i + 2 >= len(lines) or "->" not in lines[i + 1]:
                    raise ArgumentError(f"dsmts: reaction {line!r} needs an equation line and "
                                        "a kinetic-law line")
                if rules:  # a law may not read a rule's target (its count is not kept)
                    targets = {t for t, _ in rules}
                    used = {n.id for n in ast.walk(_parse(lines[i + 2].split(":")[0],
                                                          "kinetic law"))
                            if isinstance(n, ast.Name)}
                    if used & targets:
                        raise ArgumentError(f"dsmts: the kinetic law {lines[i + 2]!r} reads "
                                            f"{sorted(used & targets)}, set by a rule; not "
                                            "supported")
                left, right = lines[i + 1].split("->")
                nu = _side(left, species, boundary, lines[i + 1])
                rate = _mass_action_rate(lines[i + 2], nu, species, params, volume)
                reactions.append((nu, _side(right, species, boundary, lines[i + 1]), rate))
                i += 3
                continue
        elif section == "compartments":  # "Cell=2" (a size laws may use) or "Cell" (1)
            name, _, value = line.partition("=")
            compartments[name.strip()] = float(value) if value.strip() else 1.0
            if value.strip():
                params[name.strip()] = float(value)
        elif section == "species":  # "Cell:X=100 s"; flag b: a boundary species, constant
            where, _, rest = line.rpartition(":")
            name, value = rest.split("=")
            count, *flags = value.split()
            species[name.strip()] = int(float(count))
            if "s" not in "".join(flags):
                # a concentration: the suite's SBML gives the count as the initial amount,
                # and the symbol stands for count / size in laws and rules
                volume[name.strip()] = compartments.get(where.strip(), 1.0)
            if "b" in "".join(flags):
                boundary.add(name.strip())
        elif section == "parameters":
            name, value = line.split("=")
            params[name.strip()] = float(value)
        elif section == "rules":  # "y = 2*X": an assignment rule
            name, _, expression = line.partition("=")
            if name.strip() not in species:
                raise ArgumentError(f"dsmts: the rule {line!r} sets {name.strip()!r}, which is "
                                    "not a species")
            _parse(expression, "rule")
            rules.append((name.strip(), expression.strip()))
        elif section == "events":
            events.append(_event(line, species))
        i += 1
    net = ReactionNetwork.build(species, reactions)
    return DsmtsModel(net, tuple(rules), tuple(sorted(events, key=lambda e: e.time)),
                      tuple(params.items()),
                      tuple(volume.get(s, 1.0) for s in net.species))


def _derived_seed(seed: int, segment: int) -> int:
    """The seed of the trajectories' streams after the ``segment``-th event (0: ``seed``)."""
    return seed if segment == 0 else _mix((seed + segment * _GOLDEN) & _M)


def simulate(model: DsmtsModel, times, n: int, seed: int, **kwargs) -> np.ndarray:
    """n trajectories (the direct method, in the kernels) sampled at ``times``: (n, T, S)
    counts, with each event applied at its time (a state sampled at the event time is the
    state after it) and each rule's species set from its expression.

    Between events the kernel runs as usual; at an event the state just before it is
    updated and every trajectory restarts from its own new state (the chain is Markov: the
    waiting times need no memory) with a fresh stream, seed derived from (seed, segment).
    ``kwargs`` go to :func:`~tinygen.stochastic.ssa.simulate_many` (``chunk``, ``client``,
    ``max_events``)."""
    from .ssa import simulate_many
    net = model.network
    times = np.asarray(times, float)
    out = np.zeros((int(n), len(times), len(net.species)), np.int64)
    x = np.broadcast_to(net.initial, out[:, 0].shape)
    start = 0.0
    ends = [e.time for e in model.events] + [math.inf]
    for k, end in enumerate(ends):
        sel = (times >= start) & (times < end)
        grid = np.append(times[sel], end) if math.isfinite(end) else times[sel]
        if len(grid):
            part = simulate_many(net, grid - start, n, _derived_seed(seed, k),
                                 initial=x, **kwargs)
            out[:, sel] = part[:, :sel.sum()]
        if math.isfinite(end):
            x = (part[:, -1] if len(grid) else x).copy()
            before = x.copy()
            for name, expression in model.events[k].assign:
                value = np.broadcast_to(model.evaluate(expression, before), (int(n),))
                if not (np.all(value >= 0) and np.all(value == np.round(value))):
                    raise ArgumentError(f"dsmts: the event sets {name} to {expression!r}, "
                                        "which is not a count (an integer ≥ 0)")
                x[:, net.species.index(name)] = np.round(value).astype(np.int64)
            start = end
    for name, expression in model.rules:
        out[..., net.species.index(name)] = np.round(model.evaluate(expression, out))
    return out


def _table(data: bytes) -> tuple[tuple[str, ...], np.ndarray]:
    text = data.decode("utf-8")
    header = text.splitlines()[0].split(",")
    return tuple(h.strip() for h in header), np.loadtxt(io.StringIO(text), delimiter=",",
                                                        skiprows=1, ndmin=2)


def load_dsmts(case: str) -> DsmtsCase:
    """DSMTS case ``case`` (e.g. ``"001-01"``, birth–death) from the smfsb 1.2.2 sdist."""
    if not re.fullmatch(r"\d{3}-\d{2}", case):
        raise ArgumentError(f"load_dsmts: case must look like '001-01', got {case!r}")
    src = SOURCES["dsmts"]
    stem = f"smfsb-1.2.2/dsmts/stochastic/*/dsmts-{case}"
    try:
        members = read_members(fetch(src), [stem + e for e in (".mod", "-mean.csv", "-sd.csv")])
    except Exception as e:
        if "no member matches" in str(e):
            raise ArgumentError(f"load_dsmts: there is no DSMTS case {case!r}") from None
        raise
    by_end = {e: next(v for k, v in members.items() if k.endswith(e))
              for e in (".mod", "-mean.csv", "-sd.csv")}
    columns, mean = _table(by_end["-mean.csv"])
    _, sd = _table(by_end["-sd.csv"])
    model = parse_mod(by_end[".mod"].decode("utf-8"))
    columns = tuple(c.strip('"') for c in columns)
    missing = [c for c in columns[1:] if c not in model.network.species]
    if missing:
        raise ArgumentError(f"load_dsmts: case {case} reports {missing}, which are not species "
                            "of its model")
    return DsmtsCase(case, model, mean[:, 0], columns[1:], mean[:, 1:], sd[:, 1:])


def case_names() -> list[str]:
    """Every case in the smfsb 1.2.2 sdist (``"001-01"`` … ``"004-03"``), sorted."""
    names = (re.search(r"/dsmts-(\d{3}-\d{2})\.mod$", name)
             for name, _ in iter_members(fetch(SOURCES["dsmts"])))
    return sorted({m.group(1) for m in names if m})


Z_LIMIT, Y_LIMIT = 3.0, 5.0


def _two_sided(a) -> np.ndarray:
    """P(|N(0, 1)| ≥ a)."""
    return np.vectorize(lambda v: math.erfc(v / math.sqrt(2)))(a)


def score_case(case: DsmtsCase, n: int, seed: int, model: DsmtsModel | None = None) -> dict:
    """The suite's rule on one case, n runs: the live points (exact SD > 0), how many fail Z
    and Y, and how many failures a correct simulator shows by chance — for Z, P(|Z| ≥ 3) =
    0.27% a point; Y is about normal with variance (κ − 1)/2 (κ the kurtosis of X at that
    time, from the sample), so its chance failures pile up where X is heavy-tailed (near
    extinction). Points with SD 0 (t = 0, right after a reset) must have every run on the
    mean (``fixed_ok``). ``model`` replaces the case's own (e.g. a deliberately wrong one)."""
    x = case.select(simulate(model or case.model, case.times, n, seed)).astype(float)
    live = case.sd > 0
    z, y = moment_scores(x, case.mean, np.where(live, case.sd, 1.0))
    centred = x - x.mean(0)
    var = (centred**2).mean(0)
    kurt = np.where(var > 0, (centred**4).mean(0) / np.where(var > 0, var, 1.0) ** 2, 3.0)
    y_sd = np.sqrt(np.maximum(kurt - 1, 1e-12) / 2)
    out = {"points": int(live.sum()),
           "z_fail": int((np.abs(z[live]) >= Z_LIMIT).sum()),
           "y_fail": int((np.abs(y[live]) >= Y_LIMIT).sum()),
           "z_expected": float(live.sum() * _two_sided(Z_LIMIT)),
           "y_expected": float(_two_sided(Y_LIMIT / y_sd[live]).sum()),
           "y_expected_gaussian": float(live.sum() * _two_sided(Y_LIMIT)),
           "max_z": float(np.abs(z[live]).max()), "max_y": float(np.abs(y[live]).max()),
           "max_kurtosis": float(kurt[live].max()),
           "fixed_ok": bool((x[:, ~live] == case.mean[~live]).all())}
    out["passed"] = out["z_fail"] == 0 and out["y_fail"] == 0 and out["fixed_ok"]
    return out


def run_suite(n: int = 10_000, seed: int = 7, cases: list[str] | None = None) -> dict:
    """:func:`score_case` on every case (or ``cases``): ``{"n", "seed", "cases": {name:
    scores and "cpu_s"}, "refused": {name: why}}`` (refused: features the loader lacks)."""
    import time
    out: dict = {"n": n, "seed": seed, "cases": {}, "refused": {}}
    for name in cases or case_names():
        try:
            case = load_dsmts(name)
        except ArgumentError as e:
            out["refused"][name] = str(e)
            continue
        t0 = time.process_time()
        out["cases"][name] = score_case(case, n, seed)
        out["cases"][name]["cpu_s"] = time.process_time() - t0
    return out
