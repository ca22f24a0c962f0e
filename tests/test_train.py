"""The fit loop: losses and metrics, extra losses, callbacks, Ctrl-C and exact resume."""

import numpy as np
import pytest

import tinygen as tg
from tinygen import F, nn
from tinygen.data import DataLoader
from tinygen.metrics import Accuracy, MeanMetric, as_metric
from tinygen.optim import EMA, SGD, StepLR
from tinygen.train import (Callback, Checkpoint, EarlyStopping, EMAUpdate, LRSchedule,
                           evaluate, fit)


def blobs(n=256, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    x = centres[y] + 0.5 * rng.standard_normal((n, 2))
    return x.astype(np.float64), y


class Net(nn.Module):
    def __init__(self, penalty=0.0):
        super().__init__()
        self.hidden = nn.Linear(2, 16)
        self.out = nn.Linear(16, 3)
        self.penalty = penalty

    def forward(self, x):
        h = tg.tanh(self.hidden(x))
        if self.penalty:
            self.add_loss(self.penalty * (h * h).mean())
        return self.out(h)


def setup(seed=0, penalty=0.0):
    tg.manual_seed(seed)
    tg.set_default_dtype("float64")
    try:
        model = Net(penalty)
    finally:
        tg.set_default_dtype("float32")
    x, y = blobs()
    train = DataLoader((x[:192], y[:192]), batch_size=32, seed=seed)
    val = DataLoader((x[192:], y[192:]), batch_size=64, shuffle=False)
    return model, train, val


def test_fit_learns_and_logs_metrics():
    model, train, val = setup()
    opt = SGD(model.parameters(), lr=0.2, momentum=0.9)
    hist = fit(model, train, F.cross_entropy, opt, epochs=5, validation=val,
               metrics=["accuracy", MeanMetric(lambda o, y: F.cross_entropy(o, y), "ce")],
               verbose=False)
    h = hist.history
    assert set(h) == {"loss", "accuracy", "ce", "val_loss", "val_accuracy", "val_ce"}
    assert len(h["loss"]) == 5 and len(hist.step_loss) == 5 * len(train)
    assert h["loss"][-1] < h["loss"][0] and h["val_accuracy"][-1] > 0.95
    np.testing.assert_allclose(h["val_loss"], h["val_ce"], rtol=1e-12)
    again = evaluate(model, val, F.cross_entropy, [Accuracy()])
    assert again["accuracy"] == h["val_accuracy"][-1]


def test_extra_losses_are_added_and_cleared():
    model, train, _ = setup(penalty=5.0)
    opt = SGD(model.parameters(), lr=0.0)
    hist = fit(model, train, F.cross_entropy, opt, steps=1, verbose=False)
    x, y = next(iter(DataLoader(tuple(a[:192] for a in blobs()), batch_size=32, seed=0)))
    out = model(tg.tensor(x))
    expected = F.cross_entropy(out, y).item() + sum(t.item() for t in model.pop_losses())
    assert hist.step_loss[0] == pytest.approx(expected, rel=1e-12)
    assert model.pop_losses() == []


def test_steps_limit_and_argument_errors():
    model, train, _ = setup()
    hist = fit(model, train, F.cross_entropy, SGD(model.parameters(), lr=0.1), steps=7,
               verbose=False)
    assert len(hist.step_loss) == 7
    with pytest.raises(ValueError, match="fit: give epochs= or steps="):
        fit(model, train, F.cross_entropy, SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="metric names must be unique"):
        fit(model, train, F.cross_entropy, SGD(model.parameters(), lr=0.1), steps=1,
            metrics=["accuracy", "accuracy"], verbose=False)
    with pytest.raises(ValueError, match="as_metric"):
        as_metric(3)


def test_early_stopping_restores_best():
    model, train, val = setup()
    opt = SGD(model.parameters(), lr=0.0)  # nothing improves after the first epoch
    stop = EarlyStopping("val_loss", patience=2, restore_best=True)
    hist = fit(model, train, F.cross_entropy, opt, epochs=10, validation=val, callbacks=[stop],
               verbose=False)
    assert len(hist.history["loss"]) == 3
    with pytest.raises(KeyError, match="EarlyStopping: no log named 'val_nope'"):
        fit(model, train, F.cross_entropy, opt, epochs=1, callbacks=[EarlyStopping("val_nope")],
            verbose=False)


def test_ema_swap_during_validation_and_lr_schedule():
    model, train, val = setup()
    opt = SGD(model.parameters(), lr=0.2)
    ema = EMA(model, alpha=0.9)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    hist = fit(model, train, F.cross_entropy, opt, epochs=2, validation=val,
               callbacks=[EMAUpdate(ema), LRSchedule(sched)], verbose=False)
    raw = evaluate(model, val, F.cross_entropy)["loss"]
    with ema.averaged():
        averaged = evaluate(model, val, F.cross_entropy)["loss"]
    assert hist.history["val_loss"][-1] == pytest.approx(averaged, rel=1e-12)
    assert raw != averaged
    assert hist.history["lr"] == [0.2, 0.1] and opt.param_groups[0]["lr"] == 0.05


class Interrupt(Callback):
    def __init__(self, at):
        self.at = at

    def on_step_end(self, state):
        if state.step == self.at:
            raise KeyboardInterrupt


def test_ctrl_c_writes_a_checkpoint_and_resume_is_exact(tmp_path):
    def run(root, callbacks_extra=()):
        model, train, _ = setup(seed=3)
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        ema = EMA(model, alpha=0.95)
        ckpt = Checkpoint(root, every=5, ema=ema, loader=train,
                          generators={"cpu": tg.default_generator("cpu")})
        hist = fit(model, train, F.cross_entropy, opt, steps=23,
                   callbacks=[EMAUpdate(ema), ckpt, *callbacks_extra], verbose=False)
        return model, ema, hist

    straight, straight_ema, _ = run(tmp_path / "a")
    _, _, hist = run(tmp_path / "b", [Interrupt(at=13)])
    assert hist.interrupted
    resumed, resumed_ema, _ = run(tmp_path / "b")
    for (name, p), q in zip(straight.named_parameters(), resumed.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
    with straight_ema.averaged(), resumed_ema.averaged():
        for p, q in zip(straight.parameters(), resumed.parameters()):
            np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_progress_bar_shows_running_loss_and_metrics(capsys):
    model, train, _ = setup()
    fit(model, train, F.cross_entropy, SGD(model.parameters(), lr=0.1), epochs=1,
        metrics=["accuracy"], verbose=True)
    err = capsys.readouterr().err
    assert "epoch 1" in err and "loss=" in err and "accuracy=" in err


SIGINT_SCRIPT = """
import signal, sys, time
import numpy as np
import tinygen as tg
from tinygen import F, nn
from tinygen.data import DataLoader
from tinygen.optim import SGD
from tinygen.train import Callback, Checkpoint, fit

class Announce(Callback):
    def on_step_end(self, state):
        print(f"step {state.step}", flush=True)
        time.sleep(0.05)

# A launcher may start us with SIGINT ignored (a background job of a non-interactive shell,
# e.g. `bash .ci/run &`), and then Python installs no KeyboardInterrupt handler: restore it.
signal.signal(signal.SIGINT, signal.default_int_handler)
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 2)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64)
model = nn.Linear(2, 2)
loader = DataLoader((x, y), batch_size=8, seed=0)
hist = fit(model, loader, F.cross_entropy, SGD(model.parameters(), lr=0.1), epochs=1000,
           callbacks=[Announce(), Checkpoint(sys.argv[1], every=1000, loader=loader)],
           verbose=False)
print("interrupted" if hist.interrupted else "finished", flush=True)
"""


def test_ctrl_c_in_a_real_process_stops_cleanly_with_a_checkpoint(tmp_path):
    import signal
    import subprocess
    import sys

    from tinygen.checkpoint import latest_checkpoint, load_checkpoint

    script = tmp_path / "train.py"
    script.write_text(SIGINT_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "ckpt")],
                            stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.strip() == "step 5":
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stdout.read()
    assert proc.wait(timeout=60) == 0
    assert "interrupted" in rest
    path = latest_checkpoint(tmp_path / "ckpt")
    assert path is not None
    step = load_checkpoint(path, nn.Linear(2, 2))["step"]
    assert 5 <= step < 1000
