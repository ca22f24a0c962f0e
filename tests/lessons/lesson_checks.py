"""A lesson's ``checks(metrics, quick)`` function, read from its script without running it,
so that a test can feed it the broken variants a run measured and see the checks fail."""

import ast
from pathlib import Path

from tests.lessons.helpers import ROOT


def lesson_function(name: str, function: str = "checks"):
    """The function ``function`` defined at the top level of lessons/NAME.py (it may use only
    builtins)."""
    path = ROOT / "lessons" / f"{name}.py"
    tree = ast.parse(path.read_text())
    (node,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
    namespace: dict = {}
    exec(compile(ast.Module([node], []), str(Path("lessons") / path.name), "exec"), namespace)
    return namespace[function]
