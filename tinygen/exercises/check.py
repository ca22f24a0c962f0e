"""What an exercise's ``exercise.py`` uses to state its properties, and how they are run.

A property is a function ``(student, reference, **drawn)`` decorated with :func:`prop`: it
calls the student's functions on the drawn inputs and raises :class:`Mismatch` (usually
through :func:`close`) with the inputs, what came back and what was expected. Hypothesis
draws the inputs under a fixed seed and shrinks a failure to a minimal counterexample.
Only the checker's subprocess imports this module (it needs hypothesis).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.internal.conjecture import engine

# Hypothesis leaves this module constant for monkeypatching: stop shrinking a failure after a
# second, so a wrong answer is reported in a few seconds with a small (if not the smallest)
# counterexample.
engine.MAX_SHRINKING_SECONDS = 1

__all__ = ["Mismatch", "arrays", "close", "floats", "prop", "rngs", "show", "st"]


class Mismatch(AssertionError):
    """A property failed: the message says for which inputs, what came back, what was due."""


@dataclass(frozen=True)
class Property:
    name: str
    description: str
    advice: str
    examples: int
    strategies: dict
    fn: Callable


def prop(description: str, advice: str = "", examples: int = 20, **strategies):
    """Mark ``fn(student, reference, **drawn)`` as a property; ``advice`` is printed when it
    fails (the usual mistake behind such a failure)."""
    def mark(fn: Callable) -> Callable:
        fn.exercise_property = Property(fn.__name__, description, advice, examples,
                                        strategies, fn)
        return fn
    return mark


def floats(lo: float = -5.0, hi: float = 5.0) -> st.SearchStrategy:
    """Finite float64 values in [lo, hi]."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def arrays(shape, lo: float = -5.0, hi: float = 5.0) -> st.SearchStrategy:
    """float64 arrays of ``shape`` (a tuple or a strategy of tuples) with values in [lo, hi]."""
    return hnp.arrays(np.float64, shape, elements=floats(lo, hi))


def rngs() -> st.SearchStrategy:
    """NumPy generators from drawn seeds (so a failure replays exactly)."""
    return st.integers(0, 2**32 - 1).map(np.random.default_rng)


def show(value) -> str:
    """A short, readable rendering of an input or a result."""
    if isinstance(value, np.random.Generator):
        return "np.random.Generator(...)"
    if hasattr(value, "data") and hasattr(value, "requires_grad"):   # a tinygen Tensor
        value = value.data
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=4, suppress_small=True, threshold=40,
                               separator=", ")
        return text.replace("\n", " ") if value.ndim <= 1 else text
    return repr(value)


def _inputs(inputs: dict) -> str:
    return "\n".join(f"  {k} = {show(v)}".replace("\n", "\n      ") for k, v in inputs.items())


def close(got, expected, what: str, rtol: float = 1e-6, atol: float = 1e-8, **inputs) -> None:
    """Raise :class:`Mismatch` unless ``got`` equals ``expected`` to the tolerance; the
    message names ``what`` (e.g. "tanh_vjp(x, g)"), the inputs, both values and, for a
    wrong shape, None or an inf/nan, what that usually means."""
    if hasattr(got, "data") and hasattr(got, "requires_grad"):
        got = got.data
    if hasattr(expected, "data") and hasattr(expected, "requires_grad"):
        expected = expected.data
    head = f"for\n{_inputs(inputs)}\n" if inputs else ""
    if got is None:
        raise Mismatch(f"{head}{what} returned None (a missing `return`?)")
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise Mismatch(f"{head}{what} returned {got!r}, not numbers ({exc})") from None
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        raise Mismatch(f"{head}{what} has shape {g.shape} but should have shape {e.shape}\n"
                       f"  got      {show(g)}\n  expected {show(e)}")
    if np.isfinite(e).all() and not np.isfinite(g).all():
        raise Mismatch(f"{head}{what} gave inf or nan where the answer is finite — an "
                       f"overflow (exp of a large number?) or a division by zero\n"
                       f"  got      {show(g)}\n  expected {show(e)}")
    if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        raise Mismatch(f"{head}{what} is wrong\n  got      {show(g)}\n  expected {show(e)}")


def properties(module) -> list[Property]:
    """The properties of an ``exercise.py`` module in the order they are written."""
    found = [v.exercise_property for v in vars(module).values()
             if hasattr(v, "exercise_property")]
    return sorted(found, key=lambda p: p.fn.__code__.co_firstlineno)


def _student_frames(exc: BaseException, student_path: str) -> str:
    """Where in the student's file ``exc`` came from: the frames of that file only."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == student_path]
    return "".join(f"\n  line {f.lineno} in {f.name}: {f.line}" for f in frames[-3:])


def describe_exception(exc: BaseException, student_path: str) -> str:
    """A student-facing account of an exception raised by their code (no tinygen frames)."""
    where = _student_frames(exc, student_path)
    if isinstance(exc, NotImplementedError):
        text = ("not implemented yet: your function still raises NotImplementedError — "
                "replace that line with your code")
    else:
        text = f"your code raised {type(exc).__name__}: {exc}"
    inputs = getattr(exc, "exercise_inputs", None)
    example = f"\nfor\n{_inputs(inputs)}" if inputs else ""
    return f"{text}{where}{example}"


class _Unfinished(BaseException):
    """Carries a stub's NotImplementedError past hypothesis at once (nothing to shrink)."""


def run_property(p: Property, student, reference, seed: int, student_path: str) -> dict:
    """Run one property under ``seed``; a dict with ``passed`` and, on failure, ``message``."""
    @hypothesis_seed(seed)
    @settings(max_examples=p.examples, deadline=None, database=None, derandomize=False,
              report_multiple_bugs=False, suppress_health_check=list(HealthCheck),
              verbosity=Verbosity.quiet, print_blob=False)
    @given(**p.strategies)
    def test(**drawn):
        try:
            p.fn(student, reference, **drawn)
        except NotImplementedError as exc:
            raise _Unfinished() from exc
        except Exception as exc:   # remember the (finally: minimal) inputs that raised
            exc.exercise_inputs = {k: v for k, v in drawn.items()
                                   if type(v).__name__ != "DataObject"}
            raise

    result = {"name": p.name, "description": p.description, "passed": True}
    try:
        test()
    except _Unfinished as exc:
        result.update(passed=False, message=describe_exception(exc.__cause__, student_path))
    except Mismatch as exc:
        result.update(passed=False, message=str(exc), advice=p.advice)
    except Exception as exc:   # the student's code raised: report it as theirs
        result.update(passed=False, message=describe_exception(exc, student_path),
                      advice=p.advice)
    return result
