"""Checkpoints: bitwise round trips, atomic writes under simulated crashes, clear errors for
malformed or mismatched files, and exact resume of a training run killed with SIGKILL."""

import hashlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

import tinygen as tg
from tinygen import checkpoint, optim
from tinygen.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint


class TinyModel:
    """A stand-in for a tinygen.nn Module: ``parameters()``, ``state_dict()`` (copies) and
    ``load_state_dict()`` (in place), with a float32 parameter and an integer buffer too."""

    def __init__(self, seed=0, shape=(3, 2), dtype="float64", extra=False, device="cpu"):
        rng = np.random.default_rng(seed)
        self.tensors = {
            "w": tg.tensor(rng.normal(size=shape), dtype=dtype, device=device,
                           requires_grad=True),
            "b": tg.tensor(rng.normal(size=shape[-1]), dtype=dtype, device=device,
                           requires_grad=True),
            "scale": tg.tensor(np.float32(rng.normal()), device=device, requires_grad=True),
            "count": tg.tensor(np.array([seed, 2 * seed], dtype=np.int64), device=device),
        }
        if extra:
            self.tensors["c"] = tg.tensor(np.zeros(2), requires_grad=True)

    def parameters(self):
        return [t for t in self.tensors.values() if t.requires_grad]

    def state_dict(self):
        return {k: tg.Tensor(t.data.copy()) for k, t in self.tensors.items()}

    def load_state_dict(self, state):
        for k, t in self.tensors.items():
            t.data[...] = state[k].data


def assert_same_model(a, b):
    for k in a.tensors:
        x, y = a.tensors[k].numpy(), b.tensors[k].numpy()
        assert x.dtype == y.dtype and np.array_equal(x, y), k


def train_steps(model, opt, ema, sched, gen, n):
    for _ in range(n):
        for p in model.parameters():
            p.grad = tg.Tensor(gen.normal(*p.shape, dtype=p.dtype).data)
        opt.step()
        sched.step()
        ema.update()


def make_run(seed=0):
    model = TinyModel(seed)
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    ema = optim.EMA(model, alpha=0.9)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, ema, sched, tg.Generator(seed)


def test_round_trip_is_bitwise_and_training_continues_identically(tmp_path):
    model, opt, ema, sched, gen = make_run()
    train_steps(model, opt, ema, sched, gen, 3)
    path = save_checkpoint(tmp_path, 3, model, opt, ema, {"data": gen}, extra={"note": "hi"},
                           epoch=1, scheduler=sched)
    assert path == tmp_path / "ckpt-000003" and latest_checkpoint(tmp_path) == path
    assert sorted(p.name for p in path.iterdir()) == [
        "ema.safetensors", "model.safetensors", "optimizer.safetensors", "state.json"]
    assert (tmp_path / "latest").read_text() == "ckpt-000003"

    model2, opt2, ema2, sched2, gen2 = make_run(seed=5)  # different everything
    info = load_checkpoint(tmp_path, model2, opt2, ema2, {"data": gen2}, scheduler=sched2)
    assert info == {"step": 3, "epoch": 1, "extra": {"note": "hi"}, "path": path}
    assert_same_model(model, model2)
    assert model2.tensors["scale"].dtype == np.float32
    assert model2.tensors["count"].dtype == np.int64
    for a, b in zip(ema.shadow, ema2.shadow):
        assert np.array_equal(a, b)
    train_steps(model, opt, ema, sched, gen, 4)
    train_steps(model2, opt2, ema2, sched2, gen2, 4)
    assert_same_model(model, model2)
    for a, b in zip(ema.shadow, ema2.shadow):
        assert np.array_equal(a, b)
    assert sched.get_last_lr() == sched2.get_last_lr()


def test_round_trip_on_every_device(tmp_path, device):
    model = TinyModel(1, device=device)
    opt = optim.RMSprop(model.parameters(), momentum=0.5, centered=True)
    ema = optim.EMA(model, alpha=0.5)
    for p in model.parameters():
        p.grad = tg.Tensor(p.xp.ones_like(p.data))
    opt.step()
    ema.update()
    save_checkpoint(tmp_path, 1, model, opt, ema)
    for target in (device, "cpu"):
        other = TinyModel(2, device=target)
        opt2 = optim.RMSprop(other.parameters(), momentum=0.5, centered=True)
        ema2 = optim.EMA(other, alpha=0.9)
        load_checkpoint(tmp_path, other, opt2, ema2)
        assert_same_model(model, other)
        assert all(t.device == target for t in other.tensors.values())
        for p, q in zip(model.parameters(), other.parameters()):
            for name, value in opt.state[p].items():
                loaded = opt2.state[q][name]
                if isinstance(value, int):
                    assert loaded == value
                else:
                    assert tg.backend.device_of(loaded) == target
                    assert np.array_equal(tg.backend.to_numpy(loaded),
                                          tg.backend.to_numpy(value))
        for s, t in zip(ema.shadow, ema2.shadow):
            assert np.array_equal(tg.backend.to_numpy(s), tg.backend.to_numpy(t))


def test_model_only_and_loading_never_unpickles(tmp_path, monkeypatch):
    model = TinyModel(1)
    save_checkpoint(tmp_path, 0, model)

    def forbidden(*args, **kwargs):
        raise AssertionError("loading must not unpickle")
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr(np, "load", forbidden)
    other = TinyModel(2)
    assert load_checkpoint(tmp_path / "ckpt-000000", other)["step"] == 0
    assert_same_model(model, other)
    with pytest.raises(tg.TinygenError, match="has no optimizer state"):
        load_checkpoint(tmp_path, other, optimizer=optim.SGD(other.parameters()))


def test_latest_pointer_keep_last_and_resaving_a_step(tmp_path):
    model = TinyModel()
    for step in range(1, 6):
        model.tensors["w"].data[0, 0] = step
        save_checkpoint(tmp_path, step, model, keep_last=2)
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path)] == ["ckpt-000004",
                                                                     "ckpt-000005"]
    other = TinyModel(3)
    assert load_checkpoint(tmp_path, other)["step"] == 5 and other.tensors["w"].data[0, 0] == 5
    model.tensors["w"].data[0, 0] = 50
    save_checkpoint(tmp_path, 5, model)  # the same step again replaces it
    load_checkpoint(tmp_path, other)
    assert other.tensors["w"].data[0, 0] == 50
    (tmp_path / "latest").write_text("garbage")  # a broken pointer: fall back to the newest
    assert latest_checkpoint(tmp_path) == tmp_path / "ckpt-000005"
    (tmp_path / "latest").unlink()
    assert latest_checkpoint(tmp_path) == tmp_path / "ckpt-000005"
    assert latest_checkpoint(tmp_path / "nowhere") is None
    with pytest.raises(tg.TinygenError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nowhere", other)
    assert not list(tmp_path.glob(".tmp-*"))


def count_replace_calls(tmp_path, monkeypatch):
    calls = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda *a: (calls.append(a), real(*a))[1])
    model, opt, ema, sched, gen = make_run()
    save_checkpoint(tmp_path / "probe", 1, model, opt, ema, {"g": gen}, scheduler=sched)
    monkeypatch.setattr(os, "replace", real)
    return len(calls)


def test_a_crash_at_any_rename_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    n_calls = count_replace_calls(tmp_path, monkeypatch)
    assert n_calls == 6  # 4 files, the directory (the commit), the latest pointer
    real = os.replace
    for fail_at in range(n_calls):
        root = tmp_path / f"root{fail_at}"
        model, opt, ema, sched, gen = make_run()
        save_checkpoint(root, 1, model, opt, ema, {"g": gen}, scheduler=sched)
        expected = TinyModel()
        load_checkpoint(root, expected)
        train_steps(model, opt, ema, sched, gen, 2)
        calls = []

        def crashing_replace(src, dst, fail_at=fail_at, calls=calls):
            calls.append(dst)
            if len(calls) - 1 == fail_at:
                raise OSError("simulated crash")
            return real(src, dst)
        monkeypatch.setattr(os, "replace", crashing_replace)
        with pytest.raises(OSError, match="simulated crash"):
            save_checkpoint(root, 2, model, opt, ema, {"g": gen}, scheduler=sched)
        monkeypatch.setattr(os, "replace", real)
        assert (root / "latest").read_text() == "ckpt-000001"
        assert latest_checkpoint(root) == root / "ckpt-000001"
        # the new checkpoint is either absent or complete (the crash hit the pointer update)
        assert not (root / "ckpt-000002").exists() or fail_at == n_calls - 1
        loaded = TinyModel(9)
        assert load_checkpoint(root, loaded, optim.Adam(loaded.parameters(), amsgrad=True),
                               optim.EMA(loaded))["step"] == 1
        assert_same_model(expected, loaded)


def weights(model):
    return {k: t.numpy().copy() for k, t in model.tensors.items()}


def same(a, b) -> bool:
    """Equal nested state dicts (arrays bitwise, on any device)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if hasattr(a, "dtype"):
        x, y = (tg.backend.to_numpy(v.data if isinstance(v, tg.Tensor) else v) for v in (a, b))
        return x.dtype == y.dtype and np.array_equal(x, y)
    return a == b


def test_a_crash_at_any_point_of_a_resave_leaves_the_step_readable(tmp_path, monkeypatch):
    """Re-saving step 2, with a failure before each rename or file write in turn. A copy of
    the root taken at that moment is what a crash (SIGKILL, power cut) would leave: readers
    must find a complete step 2 there (the old or the new one), and in the root the raised
    error left behind; the next save must tidy both up."""
    real_replace, real_write = os.replace, checkpoint.atomic_write
    calls, fail_at = [], [-1]

    def hooked(real):
        def run(*args):
            calls.append(args)
            if len(calls) - 1 == fail_at[0]:
                shutil.copytree(root, tmp_path / f"crash{fail_at[0]}", symlinks=True)
                raise OSError("simulated failure")
            return real(*args)
        return run

    k = 0
    while True:
        root = tmp_path / f"root{k}"
        model, opt, ema, sched, gen = make_run()
        for step in (1, 2):
            train_steps(model, opt, ema, sched, gen, 1)
            save_checkpoint(root, step, model, opt, ema, {"g": gen}, scheduler=sched)
        old = weights(model)
        train_steps(model, opt, ema, sched, gen, 1)
        new = weights(model)
        calls.clear()
        fail_at[0] = k
        monkeypatch.setattr(os, "replace", hooked(real_replace))
        monkeypatch.setattr(checkpoint, "atomic_write", hooked(real_write))
        try:
            save_checkpoint(root, 2, model, opt, ema, {"g": gen}, scheduler=sched)
        except OSError:
            pass
        else:
            break  # no call left to fail: every point has been tried
        finally:
            monkeypatch.setattr(os, "replace", real_replace)
            monkeypatch.setattr(checkpoint, "atomic_write", real_write)
        for where in (tmp_path / f"crash{k}", root):
            assert latest_checkpoint(where).name.startswith("ckpt-000002"), (k, where)
            assert [p.name[:11] for p in checkpoint.list_checkpoints(where)] == [
                "ckpt-000001", "ckpt-000002"], (k, where)
            for path in (where, where / "ckpt-000002"):
                loaded = TinyModel(9)
                info = load_checkpoint(path, loaded, optim.Adam(loaded.parameters(),
                                                                amsgrad=True),
                                       optim.EMA(loaded), {"g": tg.Generator(1)},
                                       scheduler=optim.StepLR(optim.SGD(loaded.parameters()),
                                                              step_size=2))
                assert info["step"] == 2
                assert same(weights(loaded), old) or same(weights(loaded), new), (k, where)
            save_checkpoint(where, 3, model)  # tidies up what the failure left
            assert sorted(p.name for p in where.iterdir()) == [
                "ckpt-000001", "ckpt-000002", "ckpt-000003", "latest"], (k, where)
        k += 1
    assert k >= 8  # 4 files (2 calls each), move aside, commit, the pointer (2), cleanup


@pytest.mark.parametrize("refusing", ["optimizer", "ema", "scheduler", "generator", "model"])
def test_a_failed_load_changes_nothing(saved, monkeypatch, refusing):
    model, opt, ema, sched, gen = make_run(seed=7)
    train_steps(model, opt, ema, sched, gen, 1)
    objects = {"optimizer": opt, "ema": ema, "scheduler": sched, "generator": gen,
               "model": model}
    before = {name: obj.state_dict() for name, obj in objects.items()}
    target = objects[refusing]
    real = target.load_state_dict

    calls = []

    def half_then_refuse(state):  # takes the checkpoint's state, then fails; takes back its own
        real(state)
        calls.append(state)
        if len(calls) == 1:
            raise tg.TinygenError("refused")

    monkeypatch.setattr(target, "load_state_dict", half_then_refuse)
    with pytest.raises(tg.TinygenError, match="refused"):
        load_checkpoint(saved, model, opt, ema, {"g": gen}, scheduler=sched)
    for name, obj in objects.items():
        assert same(obj.state_dict(), before[name]), name
    assert len(calls) == 2  # the checkpoint's state, then its own back


def test_a_load_rejected_for_its_optimizer_leaves_the_model_alone(saved):
    model = TinyModel(7)
    before = weights(model)
    for kind in (optim.SGD(model.parameters()), optim.Adam(model.parameters()[:2])):
        with pytest.raises(tg.TinygenError, match="optimizer.safetensors"):
            load_checkpoint(saved, model, optimizer=kind)
        assert same(weights(model), before)
    with pytest.raises(tg.TinygenError, match="state.json: ExponentialLR.load_state_dict"):
        load_checkpoint(saved, model, scheduler=optim.ExponentialLR(optim.SGD(
            model.parameters()), gamma=0.5))
    assert same(weights(model), before)


def test_a_half_written_directory_is_invisible_and_cleaned_up(tmp_path):
    model = TinyModel()
    save_checkpoint(tmp_path, 1, model)
    partial = tmp_path / ".tmp-ckpt-000002-abcd"  # what a SIGKILL during a save leaves
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"\x10\x00")
    fake = tmp_path / "ckpt-000009"  # a directory without state.json is not a checkpoint
    fake.mkdir()
    assert latest_checkpoint(tmp_path) == tmp_path / "ckpt-000001"
    (tmp_path / "latest").unlink()
    assert latest_checkpoint(tmp_path) == tmp_path / "ckpt-000001"
    # a crash while re-saving step 1 after moving the old ckpt-000001 aside
    aside = tmp_path / "ckpt-000001.old"
    os.replace(tmp_path / "ckpt-000001", aside)
    assert latest_checkpoint(tmp_path) == aside  # readers still find step 1
    save_checkpoint(tmp_path, 2, model)
    assert not partial.exists() and not aside.exists()
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path)] == ["ckpt-000001",
                                                                     "ckpt-000002"]


# -- malformed and mismatched files -------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    model, opt, ema, sched, gen = make_run()
    train_steps(model, opt, ema, sched, gen, 1)
    return save_checkpoint(tmp_path, 1, model, opt, ema, {"g": gen}, scheduler=sched)


def rewrite_model_file(path, arrays):
    """Replace model.safetensors and fix its checksum, as a careless tool would."""
    data = safetensors.numpy.save(arrays)
    (path / "model.safetensors").write_bytes(data)
    state = json.loads((path / "state.json").read_text())
    state["files"]["model"]["sha256"] = hashlib.sha256(data).hexdigest()
    (path / "state.json").write_text(json.dumps(state))


def corrupt(path, how):
    file = path / "model.safetensors"
    data = bytearray(file.read_bytes())
    if how == "truncate":
        file.write_bytes(data[: len(data) - 7])
    elif how == "truncate_header":
        file.write_bytes(data[:5])
    elif how == "flip_header_length":
        data[0] ^= 0xFF
        data[6] = 0x7F
        file.write_bytes(data)
    elif how == "flip_header_json":
        data[8:12] = b"\x00[ ]"
        file.write_bytes(data)
    elif how == "flip_data":
        data[-1] ^= 0x01
        file.write_bytes(data)


@pytest.mark.parametrize("how,message", [
    ("truncate", "model.safetensors: not a valid safetensors file"),
    ("truncate_header", "model.safetensors: not a valid safetensors file"),
    ("flip_header_length", "model.safetensors: not a valid safetensors file"),
    ("flip_header_json", "model.safetensors: not a valid safetensors file"),
    ("flip_data", "model.safetensors: sha256 does not match"),
])
def test_corrupt_safetensors_files_are_rejected(saved, how, message):
    corrupt(saved, how)
    model = TinyModel(4)
    before = model.state_dict()
    with pytest.raises(tg.TinygenError, match=message):
        load_checkpoint(saved, model)
    for k, v in before.items():  # nothing was changed
        assert np.array_equal(v.numpy(), model.tensors[k].numpy())


def test_missing_unexpected_and_mis_shaped_tensors(saved):
    arrays = safetensors.numpy.load_file(saved / "model.safetensors")
    rewrite_model_file(saved, {k: v for k, v in arrays.items() if k != "b"})
    with pytest.raises(tg.TinygenError, match=r"missing tensors \['b'\], unexpected tensors \[\]"):
        load_checkpoint(saved, TinyModel())
    rewrite_model_file(saved, arrays)
    with pytest.raises(tg.TinygenError, match=r"missing tensors \['c'\]"):
        load_checkpoint(saved, TinyModel(extra=True))
    with pytest.raises(tg.TinygenError,
                       match=r"tensor 'w' has shape \(3, 2\) in the checkpoint but \(4, 2\) in "
                             r"the model"):
        load_checkpoint(saved, TinyModel(shape=(4, 2)))
    with pytest.raises(tg.TinygenError,
                       match=r"tensor '\w+' has dtype float64 in the checkpoint but float32"):
        load_checkpoint(saved, TinyModel(dtype="float32"))
    rewrite_model_file(saved, {**arrays, "extra": np.zeros(1)})
    with pytest.raises(tg.TinygenError, match=r"unexpected tensors \['extra'\]"):
        load_checkpoint(saved, TinyModel())


def test_mismatched_optimizer_ema_and_generators(saved):
    model = TinyModel()
    with pytest.raises(tg.TinygenError, match="optimizer.safetensors: .*state is for 'Adam'"):
        load_checkpoint(saved, model, optimizer=optim.SGD(model.parameters()))
    with pytest.raises(tg.TinygenError, match="optimizer.safetensors: .*groups of sizes"):
        load_checkpoint(saved, model, optimizer=optim.Adam(model.parameters()[:2]))
    with pytest.raises(tg.TinygenError, match="no state for generators \\['other'\\]"):
        load_checkpoint(saved, generators={"other": tg.Generator(0)})
    (saved / "ema.safetensors").unlink()
    with pytest.raises(tg.TinygenError, match="ema.safetensors: cannot read"):
        load_checkpoint(saved, ema=optim.EMA(model))


@pytest.mark.parametrize("change,message", [
    (lambda s: "{not json", "state.json: not valid JSON"),
    (lambda s: b"\xff\xfe".decode("latin-1"), "state.json: not valid JSON"),
    (lambda s: json.dumps([1, 2]), "not a tinygen checkpoint state"),
    (lambda s: json.dumps({**s, "version": 2}), "checkpoint version 2 is not supported"),
    (lambda s: json.dumps({k: v for k, v in s.items() if k != "step"}),
     r"wrong schema: missing \['step'\]"),
    (lambda s: json.dumps({**s, "surprise": 1}), r"unexpected \['surprise'\]"),
    (lambda s: json.dumps({**s, "step": "1"}), "wrong schema: 'step' is a str"),
    (lambda s: json.dumps({**s, "files": {"model": {"name": "../x"}}}),
     "bad entry 'model' in 'files'"),
])
def test_malformed_state_json_is_rejected(saved, change, message):
    state = json.loads((saved / "state.json").read_text())
    (saved / "state.json").write_text(change(state))
    with pytest.raises(tg.TinygenError, match=message):
        load_checkpoint(saved, TinyModel())


def test_save_argument_errors(tmp_path):
    with pytest.raises(tg.TinygenError, match="not JSON-serialisable"):
        save_checkpoint(tmp_path, 1, extra={"array": np.ones(2)})
    with pytest.raises(tg.TinygenError, match="step must be an int"):
        save_checkpoint(tmp_path, -1)
    with pytest.raises(tg.TinygenError, match="keep_last"):
        save_checkpoint(tmp_path, 1, keep_last=0)
    assert latest_checkpoint(tmp_path) is None


def test_with_tinygen_nn_if_present(tmp_path):
    nn = pytest.importorskip("tinygen.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("tinygen.nn has no Linear yet")
    model, other = nn.Linear(3, 2), nn.Linear(3, 2)
    opt = optim.Adam(model.parameters())
    ema = optim.EMA(model)
    save_checkpoint(tmp_path, 7, model, opt, ema)
    assert load_checkpoint(tmp_path, other, optim.Adam(other.parameters()),
                           optim.EMA(other))["step"] == 7
    for (name, p), (_, q) in zip(model.named_parameters(), other.named_parameters()):
        assert np.array_equal(p.numpy(), q.numpy()), name


# -- exact resume after SIGKILL ---------------------------------------------------------------

TRAIN = textwrap.dedent('''
    """Train a small MLP (float64, CPU), checkpointing every EVERY steps; resume if possible."""
    import os
    import sys
    import time

    import numpy as np

    import tinygen as tg
    from tinygen import checkpoint, optim

    root, kind, total, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    pause_at = int(os.environ.get("PAUSE_AT", "-1"))          # stop here until killed
    hang_in_save = int(os.environ.get("HANG_IN_SAVE", "-1"))  # hang inside this step's save

    if hang_in_save >= 0:
        real_write = checkpoint.atomic_write

        def slow_write(path, data):
            if path.name == "state.json" and f"ckpt-{hang_in_save:06d}" in path.parent.name:
                print("hanging in save", flush=True)     # model/optimizer/ema files written
                time.sleep(600)
            real_write(path, data)
        checkpoint.atomic_write = slow_write


    class MLP:
        def __init__(self, gen):
            shapes = {"w1": (2, 16), "b1": (16,), "w2": (16, 1), "b2": (1,)}
            self.params = {k: (gen.normal(*s, dtype="float64") * 0.5).requires_grad_()
                           for k, s in shapes.items()}

        def __call__(self, x):
            p = self.params
            return tg.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]

        def parameters(self):
            return list(self.params.values())

        def named_parameters(self):
            return list(self.params.items())

        def state_dict(self):
            return {k: tg.Tensor(v.data.copy()) for k, v in self.params.items()}

        def load_state_dict(self, state):
            for k, v in self.params.items():
                v.data[...] = state[k].data


    data_rng = np.random.default_rng(0)
    X = data_rng.uniform(-2, 2, size=(256, 2))
    Y = np.sin(X[:, :1]) * np.cos(X[:, 1:])
    gen = tg.Generator(1234)
    model = MLP(gen)
    if kind == "sgd":
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                        weight_decay=1e-4)
    else:
        opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    sched = optim.LinearWarmup(opt, 5, after=optim.CosineAnnealingLR(opt, T_max=total))
    ema = optim.EMA(model, alpha=0.9)
    start = 0
    if checkpoint.latest_checkpoint(root) is not None:
        start = checkpoint.load_checkpoint(root, model, opt, ema, {"batches": gen},
                                           scheduler=sched)["step"]
        print(f"resumed from {start}", flush=True)
    for step in range(start + 1, total + 1):
        idx = gen.integers(0, len(X), 32).numpy()
        x, y = tg.tensor(X[idx]), tg.tensor(Y[idx])
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optim.clip_grad_norm(model.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.update()
        if step % every == 0:
            checkpoint.save_checkpoint(root, step, model, opt, ema, {"batches": gen},
                                       scheduler=sched, keep_last=2, extra={"kind": kind})
        print(f"step {step}", flush=True)
        if step == pause_at:
            print("paused", flush=True)
            time.sleep(600)
    print("done", flush=True)
''')
TOTAL, EVERY = 60, 10


def run_training(script, root, kind, **env_extra):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "TINYGEN_DISABLE_CUDA": "1",
           "PYTHONPATH": str(Path(tg.__file__).resolve().parents[1]),
           **{k: str(v) for k, v in env_extra.items()}}
    return subprocess.Popen([sys.executable, str(script), str(root), kind, str(TOTAL),
                             str(EVERY)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)


def finish(proc):
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


def run_until(proc, marker):
    """Read the child's output until ``marker``, then SIGKILL it (30 s watchdog)."""
    watchdog = threading.Timer(30, proc.kill)
    watchdog.start()
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.strip() == marker:
                break
    finally:
        watchdog.cancel()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    assert lines and lines[-1].strip() == marker, "".join(lines)
    assert proc.returncode == -signal.SIGKILL
    return lines


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory):
    """Uninterrupted runs, one per optimizer, started together."""
    base = tmp_path_factory.mktemp("reference")
    script = base / "train.py"
    script.write_text(TRAIN)
    procs = {kind: run_training(script, base / kind, kind) for kind in ("sgd", "adam")}
    for proc in procs.values():
        assert "done" in finish(proc)
    return {kind: base / kind / f"ckpt-{TOTAL:06d}" for kind in procs}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
@pytest.mark.parametrize("kind,how", [("sgd", "between"), ("adam", "between"),
                                      ("adam", "in_save")])
def test_exact_resume_after_sigkill(tmp_path, reference_runs, kind, how):
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    root = tmp_path / "run"
    if how == "between":  # killed after step 35, five steps past the last checkpoint
        run_until(run_training(script, root, kind, PAUSE_AT=35), "paused")
    else:  # killed in the middle of writing the step-40 checkpoint
        run_until(run_training(script, root, kind, HANG_IN_SAVE=40), "hanging in save")
        assert list(root.glob(".tmp-ckpt-000040-*")), "expected a half-written checkpoint"
        assert not (root / "ckpt-000040").exists()
    assert latest_checkpoint(root) == root / "ckpt-000030"

    out = finish(run_training(script, root, kind))
    assert out.startswith("resumed from 30\n") and out.endswith("done\n")
    assert not list(root.glob(".tmp-*"))
    assert [p.name for p in checkpoint.list_checkpoints(root)] == ["ckpt-000050", "ckpt-000060"]
    reference = reference_runs[kind]
    for name in ("model", "ema", "optimizer"):
        got = safetensors.numpy.load_file(root / f"ckpt-{TOTAL:06d}" / f"{name}.safetensors")
        want = safetensors.numpy.load_file(reference / f"{name}.safetensors")
        assert sorted(got) == sorted(want)
        for key in want:
            assert got[key].dtype == np.float64
            assert np.array_equal(got[key], want[key]), f"{name}:{key} differs after resume"
    got_state = json.loads((root / f"ckpt-{TOTAL:06d}" / "state.json").read_text())
    want_state = json.loads((reference / "state.json").read_text())
    assert got_state == want_state  # optimizer scalars, schedule, RNG state, checksums
