"""Errors a student can act on: each names the op, what it got and what it expected.

A TinygenError that reaches the top of the ``tinygen`` command or of a lesson script is
printed as one line, ``PROG: error: MESSAGE``, not as a traceback; ``TINYGEN_DEBUG=1`` (or the
command's ``--debug``) shows the traceback again.
"""

import os
import sys

DEBUG_ENV = "TINYGEN_DEBUG"


class TinygenError(Exception):
    """Base class of every error tinygen raises on purpose."""


class ShapeError(TinygenError, ValueError):
    """Shapes that do not fit the op, e.g. ``matmul: shapes (3, 4) and (5, 2) do not line up``."""


class DTypeError(TinygenError, TypeError):
    """A dtype the op cannot take, e.g. an integer tensor asked to require gradients."""


class ArgumentError(TinygenError, ValueError):
    """An argument value the op does not take, e.g. ``reduction='avg'`` or a non-bool flag."""


class DeviceError(TinygenError, RuntimeError):
    """Arrays on different devices in one op, or a device that is not available."""


class AnomalyError(TinygenError, FloatingPointError):
    """Raised under ``detect_anomaly()`` by the first op whose forward or backward gave NaN/Inf."""


class IndexOutOfRange(ShapeError, IndexError):
    """An index outside a tensor's extent (also stops iteration over a tensor)."""


def debug_enabled() -> bool:
    """Whether ``$TINYGEN_DEBUG`` asks for full tracebacks (set and not "0")."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def install_excepthook(prog: str) -> None:
    """Print an uncaught TinygenError as ``prog: error: message`` (exit status 1) instead of a
    traceback, unless :func:`debug_enabled`; every other exception keeps its traceback."""
    previous = getattr(sys.excepthook, "tinygen_previous", sys.excepthook)

    def hook(kind, value, traceback) -> None:
        if issubclass(kind, TinygenError) and not debug_enabled():
            print(f"{prog}: error: {value}", file=sys.stderr)
        else:
            previous(kind, value, traceback)

    hook.tinygen_previous = previous
    sys.excepthook = hook
