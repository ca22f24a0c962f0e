"""Metrics for the fit loop, stateful like Keras' Progbar: ``reset``, ``update``, ``result``.

A plain function ``fn(outputs, targets) -> number`` becomes a :class:`MeanMetric` (its
batch values averaged, weighted by batch size), so a custom metric is one line.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .autograd import Tensor


def _number(value) -> float:
    return float(value.item() if isinstance(value, Tensor) else value)


def _batch_size(targets) -> int:
    shape = getattr(targets, "shape", ())
    return int(shape[0]) if len(shape) else 1


class Metric:
    """A running statistic over the batches of an epoch."""

    name = "metric"

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, outputs, targets) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError


class MeanMetric(Metric):
    """The batch-size-weighted mean of ``fn(outputs, targets)`` over the batches seen."""

    def __init__(self, fn: Callable, name: str | None = None):
        self.fn, self.name = fn, name or getattr(fn, "__name__", "metric")
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, outputs, targets) -> None:
        n = _batch_size(targets)
        self.total += _number(self.fn(outputs, targets)) * n
        self.count += n

    def result(self) -> float:
        return self.total / self.count if self.count else float("nan")


class Accuracy(Metric):
    """Fraction of samples whose highest-scoring class (last axis) is the integer target."""

    name = "accuracy"

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.correct, self.count = 0, 0

    def update(self, outputs, targets) -> None:
        scores = outputs.numpy() if isinstance(outputs, Tensor) else np.asarray(outputs)
        labels = targets.numpy() if isinstance(targets, Tensor) else np.asarray(targets)
        self.correct += int((scores.argmax(-1) == labels).sum())
        self.count += int(labels.size)

    def result(self) -> float:
        return self.correct / self.count if self.count else float("nan")


def as_metric(metric: Metric | Callable | str) -> Metric:
    """A Metric from a Metric, a function, or the name ``"accuracy"`` (a fresh instance)."""
    if isinstance(metric, Metric):
        return metric
    if metric == "accuracy":
        return Accuracy()
    if callable(metric):
        return MeanMetric(metric)
    raise ValueError(f"as_metric: expected a Metric, a function or 'accuracy', got {metric!r}")
