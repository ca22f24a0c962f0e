"""Safe checkpoints: tensors in safetensors files, everything else in JSON, written atomically.

A checkpoint is a directory under a root folder::

    root/
      ckpt-000100/
        model.safetensors      model.state_dict()              (if a model was given)
        optimizer.safetensors  optimizer.state_dict()["arrays"] (if an optimizer was given)
        ema.safetensors        ema.state_dict()["arrays"]       (if an EMA was given)
        state.json             step, epoch, the JSON parts of the optimizer / EMA / scheduler
                               state, RNG states, user extras, and the sha256 of every file
      latest                   the name of the newest complete checkpoint ("ckpt-000100")

**Atomic writes.** Each file is written to a temporary file in its directory, flushed,
``os.fsync``-ed and moved into place with ``os.replace``; then the directory is fsync-ed. The
checkpoint directory itself is assembled under a temporary name (``.tmp-ckpt-...``) and renamed
to ``ckpt-NNNNNN`` only when complete, and only then is ``latest`` updated (atomically too). A
crash at any moment leaves either the old checkpoint or the new one, never half of one.

**Saving a step again** (e.g. after resuming) cannot swap two directories in one atomic step, so
the old ``ckpt-NNNNNN`` is first renamed to ``ckpt-NNNNNN.old``, the new one renamed in, and the
``.old`` one removed. Readers take ``ckpt-NNNNNN.old`` for step NNNNNN while ``ckpt-NNNNNN`` is
missing, so every step that was ever completely written can be read, whenever a crash hits;
the next save puts such an orphan back (or drops it once the new one is in place). Directories
are deleted by first renaming them to a ``.tmp-`` name, so a reader never sees half of one.

**Safe loading.** Nothing is unpickled: safetensors files hold raw arrays and a JSON header,
and ``state.json`` is JSON. Every problem raises a :class:`~tinygen.TinygenError` that names
the file: a corrupt or truncated safetensors file, a checksum mismatch, a wrong JSON schema or
version, missing or unexpected tensors, and tensors whose shape or dtype differ from the model's.
A load is all or nothing: if any object refuses its state, the objects loaded before it get
their own state back, so a failed load changes nothing.

One process writes to a root at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.numpy

from . import backend
from .autograd import Tensor
from .errors import TinygenError
from .fileio import atomic_write, fsync_dir

FORMAT, VERSION = "tinygen.checkpoint", 1
STATE_FILE, LATEST, ASIDE = "state.json", "latest", ".old"
_NAME = re.compile(r"ckpt-(\d+)")
_TOP_KEYS = {"format", "version", "step", "epoch", "files", "optimizer", "ema", "scheduler",
             "generators", "extra"}


# -- atomic writing -------------------------------------------------------------------------

def _arrays_to_bytes(arrays: dict[str, Any], what: str) -> bytes:
    cpu = {}
    for name, value in arrays.items():
        array = value.data if isinstance(value, Tensor) else value
        if not hasattr(array, "dtype"):
            raise TinygenError(f"save_checkpoint: {what} entry {name!r} is a "
                               f"{type(value).__name__}, expected a Tensor or array")
        cpu[name] = np.asarray(backend.to_numpy(array), order="C")  # keeps 0-d
    return safetensors.numpy.save(cpu)


# -- paths ----------------------------------------------------------------------------------

def _complete(root: Path, name: str) -> Path | None:
    """The complete checkpoint called ``name`` (``ckpt-NNNNNN``): ``root/name``, or while that
    is missing, the copy moved aside by an interrupted re-save (``root/name.old``); else None."""
    if _NAME.fullmatch(name):
        for path in (root / name, root / (name + ASIDE)):
            if (path / STATE_FILE).is_file():
                return path
    return None


def list_checkpoints(root: str | os.PathLike) -> list[Path]:
    """Complete checkpoint directories under ``root``, oldest step first."""
    root = Path(root)
    if not root.is_dir():
        return []
    names = {p.name.removesuffix(ASIDE) for p in root.iterdir() if p.is_dir()}
    found = [(int(_NAME.fullmatch(name).group(1)), path) for name in names
             if (path := _complete(root, name)) is not None]
    return [path for _, path in sorted(found)]


def latest_checkpoint(root: str | os.PathLike) -> Path | None:
    """The checkpoint that ``root/latest`` names, or (if that is missing or broken) the
    complete checkpoint with the highest step; None if there is none."""
    root = Path(root)
    with contextlib.suppress(OSError, UnicodeDecodeError):
        found = _complete(root, (root / LATEST).read_text(encoding="utf-8").strip())
        if found is not None:
            return found
    found = list_checkpoints(root)
    return found[-1] if found else None


def _remove(path: Path) -> None:
    """Delete a directory under a root: rename it to a ``.tmp-`` name first (atomic), so a
    crash during the deletion leaves nothing a reader would take for a checkpoint."""
    trash = Path(tempfile.mkdtemp(prefix=f".tmp-del-{path.name}-", dir=path.parent))
    os.replace(path, trash / path.name)
    shutil.rmtree(trash, ignore_errors=True)


# -- saving ---------------------------------------------------------------------------------

def save_checkpoint(root: str | os.PathLike, step: int, model=None, optimizer=None, ema=None,
                    generators: dict | None = None, extra: dict | None = None, *,
                    epoch: int | None = None, scheduler=None,
                    keep_last: int | None = None) -> Path:
    """Write checkpoint ``root/ckpt-{step:06d}`` atomically, point ``root/latest`` at it and,
    with ``keep_last=N``, delete all but the newest N checkpoints. Returns its path.

    ``model`` is anything with ``state_dict()`` giving name → Tensor; ``optimizer`` and ``ema``
    give ``{"json": ..., "arrays": ...}`` (see :mod:`tinygen.optim`); ``scheduler`` gives
    JSON; ``generators`` maps names to :class:`~tinygen.Generator` (their exact states are
    saved); ``extra`` is any JSON-serialisable dict of your own.
    """
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise TinygenError(f"save_checkpoint: step must be an int >= 0, got {step!r}")
    if keep_last is not None and (not isinstance(keep_last, int) or keep_last < 1):
        raise TinygenError(f"save_checkpoint: keep_last must be an int >= 1, got {keep_last!r}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for stale in [*root.glob(".tmp-*"), *root.glob(f".{LATEST}.*")]:  # left by a crash
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                stale.unlink()
    for aside in root.glob(f"ckpt-*{ASIDE}"):  # left by a re-save that died half-way
        target = root / aside.name.removesuffix(ASIDE)
        if (target / STATE_FILE).is_file():
            _remove(aside)  # the new one made it
        elif not target.exists():
            os.replace(aside, target)  # put the old one back

    files: dict[str, bytes] = {}
    state: dict[str, Any] = {"format": FORMAT, "version": VERSION, "step": step,
                             "epoch": epoch, "files": {}, "optimizer": None, "ema": None,
                             "scheduler": None, "generators": {}, "extra": extra or {}}
    if model is not None:
        files["model"] = _arrays_to_bytes(model.state_dict(), "model")
    for key, obj in (("optimizer", optimizer), ("ema", ema)):
        if obj is not None:
            sd = obj.state_dict()
            files[key] = _arrays_to_bytes(sd["arrays"], key)
            state[key] = sd["json"]
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    for name, generator in (generators or {}).items():
        state["generators"][str(name)] = generator.state_dict()
    for key, data in files.items():
        state["files"][key] = {"name": f"{key}.safetensors",
                               "sha256": hashlib.sha256(data).hexdigest()}
    try:
        state_bytes = json.dumps(state, indent=1).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise TinygenError(f"save_checkpoint: the state is not JSON-serialisable ({e}); "
                           "'extra' may hold only dicts, lists, strings, numbers and None") from e

    final = root / f"ckpt-{step:06d}"
    aside = root / (final.name + ASIDE)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=root))
    try:
        for key, data in files.items():
            atomic_write(tmp / f"{key}.safetensors", data)
        atomic_write(tmp / STATE_FILE, state_bytes)  # written last
        if final.exists():  # saving a step again: readers use ckpt-N.old until the swap is done
            os.replace(final, aside)
            fsync_dir(root)
        os.replace(tmp, final)  # the commit point
        fsync_dir(root)
    except BaseException:
        if aside.exists() and not final.exists():  # put the old checkpoint back
            with contextlib.suppress(OSError):
                os.replace(aside, final)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write(root / LATEST, final.name.encode("utf-8"))
    if aside.exists():
        _remove(aside)
    if keep_last is not None:
        for path in list_checkpoints(root)[:-keep_last]:
            if path != final:
                _remove(path)
    return final


# -- loading --------------------------------------------------------------------------------

def _read_state(path: Path) -> dict[str, Any]:
    file = path / STATE_FILE
    try:
        state = json.loads(file.read_text(encoding="utf-8"))
    except OSError as e:
        raise TinygenError(f"{file}: cannot read the checkpoint state ({e})") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise TinygenError(f"{file}: not valid JSON ({e})") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise TinygenError(f"{file}: not a tinygen checkpoint state (expected \"format\": "
                           f"\"{FORMAT}\")")
    if state.get("version") != VERSION:
        raise TinygenError(f"{file}: checkpoint version {state.get('version')!r} is not "
                           f"supported (this tinygen reads version {VERSION})")
    if set(state) != _TOP_KEYS:
        raise TinygenError(f"{file}: wrong schema: missing {sorted(_TOP_KEYS - set(state))}, "
                           f"unexpected {sorted(set(state) - _TOP_KEYS)}")
    types = {"step": int, "epoch": (int, type(None)), "files": dict, "generators": dict,
             "extra": dict, "optimizer": (dict, type(None)), "ema": (dict, type(None)),
             "scheduler": (dict, type(None))}
    for key, kind in types.items():
        if not isinstance(state[key], kind) or isinstance(state[key], bool):
            raise TinygenError(f"{file}: wrong schema: {key!r} is a "
                               f"{type(state[key]).__name__}")
    for key, entry in state["files"].items():
        if key not in ("model", "optimizer", "ema") or not isinstance(entry, dict) \
                or entry.get("name") != f"{key}.safetensors" \
                or not isinstance(entry.get("sha256"), str):
            raise TinygenError(f"{file}: wrong schema: bad entry {key!r} in 'files'")
    return state


def _read_arrays(path: Path, state: dict[str, Any], key: str) -> dict[str, np.ndarray]:
    entry = state["files"].get(key)
    if entry is None:
        raise TinygenError(f"{path}: the checkpoint has no {key} state")
    file = path / entry["name"]
    try:
        data = file.read_bytes()
    except OSError as e:
        raise TinygenError(f"{file}: cannot read ({e})") from e
    try:
        arrays = safetensors.numpy.load(data)
    except Exception as e:  # safetensors raises its own SafetensorError
        raise TinygenError(f"{file}: not a valid safetensors file, it may be truncated or "
                           f"corrupt ({e})") from e
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise TinygenError(f"{file}: sha256 does not match the one in {STATE_FILE}; the file "
                           "is corrupt or was changed")
    return arrays


def _model_state(model, arrays: dict[str, np.ndarray], file: Path) -> dict[str, Tensor]:
    """The arrays as the model's new state dict, on its devices, after checking that they fit
    it (names, shapes, dtypes)."""
    current = {k: v.data if isinstance(v, Tensor) else v for k, v in model.state_dict().items()}
    missing, unexpected = sorted(set(current) - set(arrays)), sorted(set(arrays) - set(current))
    if missing or unexpected:
        raise TinygenError(f"{file}: does not match the model: missing tensors {missing}, "
                           f"unexpected tensors {unexpected}")
    for name, array in arrays.items():
        want = current[name]
        if tuple(array.shape) != tuple(want.shape):
            raise TinygenError(f"{file}: tensor {name!r} has shape {tuple(array.shape)} in the "
                               f"checkpoint but {tuple(want.shape)} in the model")
        if array.dtype != want.dtype:
            raise TinygenError(f"{file}: tensor {name!r} has dtype {array.dtype} in the "
                               f"checkpoint but {want.dtype} in the model")
    return {name: Tensor(backend.to_device(array, backend.device_of(current[name])))
            for name, array in arrays.items()}


def _copy(value):
    """A deep copy of a state dict (Tensors and arrays copied), to give an object its own state
    back."""
    if isinstance(value, Tensor):
        return Tensor(value.data.copy())
    if hasattr(value, "dtype") and hasattr(value, "copy"):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_copy(v) for v in value)
    return value


def load_checkpoint(path_or_root: str | os.PathLike, model=None, optimizer=None, ema=None,
                    generators: dict | None = None, *, scheduler=None) -> dict[str, Any]:
    """Load a checkpoint directory, or the latest one under a root, into the given objects.

    Every file is read and verified (format, checksum, the model's names, shapes and dtypes)
    before any object changes; then the optimizer, EMA, scheduler, generators and model take
    their states in that order, and if one refuses its state the ones before it get their own
    back, so a failed load changes nothing. Returns ``{"step", "epoch", "extra", "path"}``.
    Raises :class:`~tinygen.TinygenError` for anything malformed or not matching (see the
    module docstring).
    """
    path = Path(path_or_root)
    if not (path / STATE_FILE).is_file():
        found = _complete(path.parent, path.name) or latest_checkpoint(path)
        if found is None:
            raise TinygenError(f"load_checkpoint: no checkpoint at {path} (expected a "
                               f"checkpoint directory with {STATE_FILE} or a root holding some)")
        path = found
    state = _read_state(path)
    wanted = {"model": model, "optimizer": optimizer, "ema": ema}
    arrays = {key: _read_arrays(path, state, key)
              for key, obj in wanted.items() if obj is not None}
    if scheduler is not None and state["scheduler"] is None:
        raise TinygenError(f"{path}: the checkpoint has no scheduler state")
    generators = generators or {}
    missing = sorted(set(map(str, generators)) - set(state["generators"]))
    if missing:
        raise TinygenError(f"{path}: the checkpoint has no state for generators {missing} "
                           f"(it has {sorted(state['generators'])})")

    for key, obj in (("optimizer", optimizer), ("ema", ema)):
        if obj is not None and state[key] is None:
            raise TinygenError(f"{path / STATE_FILE}: no {key} state next to "
                               f"{key}.safetensors")

    loads = [(obj, {"json": state[key], "arrays": arrays[key]}, path / f"{key}.safetensors")
             for key, obj in (("optimizer", optimizer), ("ema", ema)) if obj is not None]
    if scheduler is not None:
        loads.append((scheduler, state["scheduler"], path / STATE_FILE))
    loads += [(generator, state["generators"][str(name)], path / STATE_FILE)
              for name, generator in generators.items()]
    if model is not None:
        file = path / "model.safetensors"
        loads.append((model, _model_state(model, arrays["model"], file), file))
    done = []
    try:
        for obj, new, file in loads:
            done.append((obj, _copy(obj.state_dict())))
            try:
                obj.load_state_dict(new)
            except TinygenError as e:
                raise TinygenError(f"{file}: {e}") from e
    except BaseException:
        for obj, before in reversed(done):  # all or nothing
            obj.load_state_dict(before)
        raise
    return {"step": state["step"], "epoch": state["epoch"], "extra": state["extra"],
            "path": path}
