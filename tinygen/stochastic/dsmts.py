r"""The Discrete Stochastic Models Test Suite (DSMTS): reaction networks with the exact mean
and standard deviation of every species at every time, for validating a stochastic simulator.

The cases ship in the sdist of smfsb 1.2.2 (source ``dsmts`` in
:mod:`tinygen.data.sources`), as ``dsmts/stochastic/NNNNN/dsmts-MMM-VV.mod`` (SBML shorthand)
with ``-mean.csv`` and ``-sd.csv`` tables. :func:`load_dsmts` reads one case into a
:class:`~tinygen.stochastic.ssa.ReactionNetwork`; each kinetic law must be mass action,
k·∏_s C(x_s, ν_s) (``Lambda*X``, ``k1*P*(P-1)/2``, ``Alpha``), and is turned into its rate
constant k, so the kernels can run it. Cases with ``@rules`` or ``@events`` are not
supported; a boundary species (flag ``b``) keeps its initial count: reactions neither use
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

from ..data.archives import read_members
from ..data.sources import SOURCES, fetch
from ..errors import ArgumentError
from .ssa import ReactionNetwork

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.Pow: operator.pow, ast.USub: operator.neg,
        ast.UAdd: operator.pos}


@dataclass(frozen=True, eq=False)  # array fields: compared by identity
class DsmtsCase:
    """One case: its network, the output times (T,), and the exact ``mean`` and ``sd`` (T, K)
    of the K species named in ``columns``."""

    name: str
    network: ReactionNetwork
    times: np.ndarray
    columns: tuple[str, ...]
    mean: np.ndarray
    sd: np.ndarray


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


def _mass_action_rate(law: str, left: dict[str, int], species: dict[str, int],
                      params: dict[str, float]) -> float:
    """k when ``law`` equals k·∏ C(x_s, ν_s) at several states (it must), else an error."""
    law, _, local = law.partition(":")  # "Lambda*X : Lambda=0.1": parameters of this law
    for item in filter(None, (t.strip() for t in re.split(r"[,;]", local))):
        name, _, value = item.partition("=")
        params = {**params, name.strip(): float(value)}
    try:
        tree = ast.parse(law.strip(), mode="eval")
    except SyntaxError:
        raise ArgumentError(f"dsmts: cannot read the kinetic law {law!r}") from None
    ratios = []
    for shift in (0, 3, 11, 40):
        x = {s: float(left.get(s, 0) + shift + 2 * i) for i, s in enumerate(species)}
        c = math.prod(math.comb(int(x[s]), n) for s, n in left.items())
        ratios.append(_evaluate(tree, {**params, **x}, law) / c)
    if not all(math.isclose(r, ratios[0], rel_tol=1e-9) for r in ratios):
        raise ArgumentError(f"dsmts: the kinetic law {law!r} is not mass action "
                            f"k·∏ C(x_s, ν_s) over the reactants {left}")
    return ratios[0]


def parse_mod(text: str) -> ReactionNetwork:
    """A reaction network from a DSMTS ``.mod`` file (SBML shorthand)."""
    section, species, params, reactions = "", {}, {}, []
    boundary: set[str] = set()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("@"):
            section = line[1:].split("=")[0].split(":")[0]
            if section in ("rules", "events"):
                raise ArgumentError(f"dsmts: @{section} are not supported (cases with rules or "
                                    "events cannot be run as a plain reaction network)")
            if section == "r":
                if i + 2 >= len(lines) or "->" not in lines[i + 1]:
                    raise ArgumentError(f"dsmts: reaction {line!r} needs an equation line and "
                                        "a kinetic-law line")
                left, right = lines[i + 1].split("->")
                nu = _side(left, species, boundary, lines[i + 1])
                rate = _mass_action_rate(lines[i + 2], nu, species, params)
                reactions.append((nu, _side(right, species, boundary, lines[i + 1]), rate))
                i += 3
                continue
        elif section == "compartments" and "=" in line:  # "Cell=1": a size laws may use
            name, value = line.split("=")
            params[name.strip()] = float(value)
        elif section == "species":  # "Cell:X=100 s"; flag b: a boundary species, constant
            name, value = line.split(":")[-1].split("=")
            count, *flags = value.split()
            if "s" not in "".join(flags):
                raise ArgumentError(f"dsmts: species {line!r} is a concentration; only amounts "
                                    "(flag s) are supported")
            species[name.strip()] = int(float(count))
            if "b" in "".join(flags):
                boundary.add(name.strip())
        elif section == "parameters":
            name, value = line.split("=")
            params[name.strip()] = float(value)
        i += 1
    return ReactionNetwork.build(species, reactions)


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
    return DsmtsCase(case, parse_mod(by_end[".mod"].decode("utf-8")), mean[:, 0],
                     columns[1:], mean[:, 1:], sd[:, 1:])
