"""A Keras-style fit loop: live progress bar, running metrics, extra losses, callbacks.

One step is the whole of training, written out::

    outputs = model(x)
    total = loss(outputs, y) + Σ model.pop_losses()      # extra losses the model added
    optimizer.zero_grad(); total.backward(); optimizer.step()

Everything else — EMA of weights, checkpoints, early stopping, learning-rate schedules — is a
:class:`Callback` hooked in at the begin/end of training, epochs, steps and validation.
Ctrl-C stops cleanly: callbacks get ``on_interrupt`` (a :class:`Checkpoint` writes one) and
``fit`` returns the history so far with ``interrupted=True``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from . import backend
from .autograd import Tensor, no_grad
from .creation import tensor
from .metrics import Metric, as_metric


@dataclass
class History:
    """Per-epoch logs (``history["loss"][epoch]``), the per-step training loss, and whether
    training was interrupted."""

    history: dict[str, list[float]] = field(default_factory=dict)
    step_loss: list[float] = field(default_factory=list)
    interrupted: bool = False

    def log(self, logs: dict[str, float]) -> None:
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)


@dataclass
class TrainState:
    """What callbacks see and may change (``stop`` ends training after the current step)."""

    model: object
    optimizer: object
    step: int = 0
    epoch: int = 0
    stop: bool = False
    logs: dict[str, float] = field(default_factory=dict)


class Callback:
    """Hooks called by :func:`fit`; override the ones you need."""

    def on_train_begin(self, state: TrainState) -> None: ...
    def on_epoch_begin(self, state: TrainState) -> None: ...
    def on_step_end(self, state: TrainState) -> None: ...
    def on_validation_begin(self, state: TrainState) -> None: ...
    def on_validation_end(self, state: TrainState) -> None: ...
    def on_epoch_end(self, state: TrainState) -> None: ...
    def on_interrupt(self, state: TrainState) -> None: ...
    def on_train_end(self, state: TrainState) -> None: ...


def _split(batch) -> tuple:
    """(inputs, targets) from a batch: a pair, or a single array (no targets)."""
    if isinstance(batch, tuple | list) and len(batch) == 2:
        return batch[0], batch[1]
    return batch, None


def _on(device: str | None, value):
    """Arrays become Tensors (on ``device`` when given); anything else passes through."""
    if hasattr(value, "shape") and not isinstance(value, Tensor):
        value = tensor(value)
    if device is not None and isinstance(value, Tensor):
        value = value.to(device)
    return value


def _model_inputs(device, x) -> list:
    return [_on(device, v) for v in x] if isinstance(x, tuple | list) else [_on(device, x)]


def _extra_losses(model) -> list[Tensor]:
    pop = getattr(model, "pop_losses", None)
    return list(pop()) if pop is not None else []


def _set_mode(model, training: bool) -> None:
    """``model.train(training)`` for modules; plain callables have no mode."""
    if hasattr(model, "train"):
        model.train(training)


def evaluate(model, data: Iterable, loss: Callable | None = None,
             metrics: Sequence = (), device: str | None = None) -> dict[str, float]:
    """Average loss and metrics over ``data`` in eval mode, without recording a graph."""
    ms = [as_metric(m) for m in metrics]
    for m in ms:
        m.reset()
    total, count = 0.0, 0
    _set_mode(model, False)
    with no_grad():
        for batch in data:
            x, y = _split(batch)
            out = model(*_model_inputs(device, x))
            y = _on(device, y)
            _extra_losses(model)  # discarded: evaluation reports the main loss
            if loss is not None:
                n = int(y.shape[0]) if hasattr(y, "shape") and len(y.shape) else 1
                total += float(loss(out, y).item()) * n
                count += n
            for m in ms:
                m.update(out, y)
    logs = {"loss": total / count} if count else {}
    logs.update({m.name: m.result() for m in ms})
    return logs


def fit(model, data: Iterable, loss: Callable, optimizer, *, epochs: int | None = None,
        steps: int | None = None, metrics: Sequence[Metric | Callable | str] = (),
        validation: Iterable | None = None, callbacks: Sequence[Callback] = (),
        device: str | None = None, verbose: bool = True) -> History:
    """Train ``model`` on ``data`` (re-iterable batches of (inputs, targets)).

    ``loss(outputs, targets)`` gives a scalar Tensor; extra losses the model adds with
    ``add_loss`` during forward are added to it. Stops after ``epochs`` passes or ``steps``
    optimizer steps (whichever comes first; at least one must be given). Metrics (Metric
    objects, functions, or "accuracy") are shown live in a progress bar and logged per epoch;
    ``validation`` data is evaluated after each epoch into ``val_*`` logs.
    """
    if epochs is None and steps is None:
        raise ValueError("fit: give epochs= or steps= (or both)")
    if device is not None:
        backend.check_device(device)
    ms = [as_metric(m) for m in metrics]
    names = [m.name for m in ms]
    if len(set(names)) != len(names):
        raise ValueError(f"fit: metric names must be unique, got {names}")
    state = TrainState(model, optimizer)
    history = History()
    call = lambda hook: [getattr(cb, hook)(state) for cb in callbacks]  # noqa: E731
    call("on_train_begin")
    try:
        while not state.stop and (epochs is None or state.epoch < epochs) \
                and (steps is None or state.step < steps):
            batches = _run_epoch(model, data, loss, optimizer, ms, state, steps, call, history,
                                 device, verbose)
            logs = {"loss": _mean(history.step_loss[-batches:] if batches else [])}
            logs.update({m.name: m.result() for m in ms})
            if validation is not None:
                call("on_validation_begin")
                val = evaluate(model, validation, loss, ms, device)  # resets the metrics
                logs.update({f"val_{k}": v for k, v in val.items()})
                call("on_validation_end")
            state.logs = logs
            state.epoch += 1
            call("on_epoch_end")  # callbacks may add logs (e.g. the learning rate)
            history.log(state.logs)
    except KeyboardInterrupt:
        history.interrupted = True
        call("on_interrupt")
        if verbose:
            print(f"\ninterrupted at step {state.step}; stopped cleanly")
    call("on_train_end")
    return history


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _run_epoch(model, data, loss, optimizer, ms, state, steps, call, history, device,
               verbose) -> int:
    """One pass over ``data`` (or until ``steps``); returns the number of batches done."""
    from tqdm.auto import tqdm

    for m in ms:
        m.reset()
    call("on_epoch_begin")
    _set_mode(model, True)
    total = len(data) if hasattr(data, "__len__") else None
    bar = tqdm(data, total=total, disable=not verbose, leave=True, dynamic_ncols=True,
               desc=f"epoch {state.epoch + 1}")
    batches = 0
    try:
        for batch in bar:
            x, y = _split(batch)
            out = model(*_model_inputs(device, x))
            y = _on(device, y)
            value = loss(out, y)
            for extra in _extra_losses(model):
                value = value + extra
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            state.step += 1
            batches += 1
            history.step_loss.append(float(value.item()))
            with no_grad():
                for m in ms:
                    m.update(out.detach() if isinstance(out, Tensor) else out, y)
            running = {"loss": _mean(history.step_loss[-batches:])}
            running.update({m.name: m.result() for m in ms})
            state.logs = dict(running)
            bar.set_postfix({k: f"{v:.4f}" for k, v in running.items()}, refresh=False)
            call("on_step_end")
            if state.stop or (steps is not None and state.step >= steps):
                break
    finally:
        bar.close()
    return batches


# -- callbacks ------------------------------------------------------------------------------

class EarlyStopping(Callback):
    """Stop when ``monitor`` (an epoch log such as "val_loss") has not improved by more than
    ``min_delta`` for ``patience`` epochs; optionally put the best weights back at the end."""

    def __init__(self, monitor: str = "val_loss", patience: int = 3, mode: str = "min",
                 min_delta: float = 0.0, restore_best: bool = False):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.min_delta, self.restore_best = min_delta, restore_best
        self.best, self.wait, self.best_state = None, 0, None

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return (value < self.best - self.min_delta if self.mode == "min"
                else value > self.best + self.min_delta)

    def on_epoch_end(self, state: TrainState) -> None:
        if self.monitor not in state.logs:
            raise KeyError(f"EarlyStopping: no log named {self.monitor!r}; "
                           f"available: {sorted(state.logs)}")
        value = state.logs[self.monitor]
        if self._better(value):
            self.best, self.wait = value, 0
            if self.restore_best:
                self.best_state = state.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                state.stop = True

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best and self.best_state is not None:
            state.model.load_state_dict(self.best_state)


class EMAUpdate(Callback):
    """Update an :class:`~tinygen.optim.EMA` after every optimizer step and, if ``swap``,
    evaluate validation data with the averaged weights (swapped back afterwards)."""

    def __init__(self, ema, swap: bool = True):
        self.ema, self.swap = ema, swap

    def on_step_end(self, state: TrainState) -> None:
        self.ema.update()

    def on_validation_begin(self, state: TrainState) -> None:
        if self.swap:
            self.ema.apply()

    def on_validation_end(self, state: TrainState) -> None:
        if self.swap:
            self.ema.restore()


class LRSchedule(Callback):
    """Advance a learning-rate scheduler every step or every epoch; logs ``lr``."""

    def __init__(self, scheduler, per: str = "epoch"):
        if per not in ("step", "epoch"):
            raise ValueError(f"LRSchedule: per must be 'step' or 'epoch', got {per!r}")
        self.scheduler, self.per = scheduler, per

    def on_step_end(self, state: TrainState) -> None:
        if self.per == "step":
            self.scheduler.step()

    def on_epoch_end(self, state: TrainState) -> None:
        state.logs["lr"] = self.scheduler.get_last_lr()[0]
        if self.per == "epoch":
            self.scheduler.step()


class Checkpoint(Callback):
    """Write a checkpoint every ``every`` steps (and on Ctrl-C and at the end), and resume
    from the latest one under ``root`` when training starts, if there is one.

    Everything needed for an exact resume goes in: model, optimizer, EMA, scheduler, the
    random generators and the data loader's position (anything with ``state_dict``).
    """

    def __init__(self, root, every: int = 100, ema=None, scheduler=None,
                 generators: dict | None = None, loader=None, keep_last: int | None = 3,
                 resume: bool = True):
        if every < 1:
            raise ValueError(f"Checkpoint: every must be >= 1, got {every}")
        self.root, self.every, self.ema, self.scheduler = root, every, ema, scheduler
        self.generators, self.loader = generators, loader
        self.keep_last, self.resume = keep_last, resume
        self.last_saved: int | None = None

    def _save(self, state: TrainState) -> None:
        from .checkpoint import save_checkpoint
        extra = {"loader": self.loader.state_dict()} if self.loader is not None else {}
        save_checkpoint(self.root, state.step, state.model, state.optimizer, self.ema,
                        self.generators, extra, epoch=state.epoch, scheduler=self.scheduler,
                        keep_last=self.keep_last)
        self.last_saved = state.step

    def on_train_begin(self, state: TrainState) -> None:
        from .checkpoint import latest_checkpoint, load_checkpoint
        if not self.resume or latest_checkpoint(self.root) is None:
            return
        info = load_checkpoint(self.root, state.model, state.optimizer, self.ema,
                               self.generators, scheduler=self.scheduler)
        state.step, state.epoch = info["step"], info["epoch"] or 0
        if self.loader is not None and "loader" in info["extra"]:
            self.loader.load_state_dict(info["extra"]["loader"])
        self.last_saved = state.step

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self._save(state)

    def on_interrupt(self, state: TrainState) -> None:
        if self.last_saved != state.step:
            self._save(state)

    def on_train_end(self, state: TrainState) -> None:
        if self.last_saved != state.step:
            self._save(state)
