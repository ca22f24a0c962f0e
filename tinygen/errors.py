"""Errors a student can act on: each names the op, what it got and what it expected."""


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
