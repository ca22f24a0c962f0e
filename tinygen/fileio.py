"""Atomic file writes: a reader sees the old file or the complete new one, never a part.

The recipe: write a temp file in the same folder, flush and fsync it, ``os.replace`` it onto
the target (atomic on POSIX and Windows), then fsync the folder so the rename survives a
crash. Checkpoints, the data cache, lesson figures and metrics all go through here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import TinygenError


def make_dir(path: str | os.PathLike, what: str, hint: str) -> Path:
    """Create folder ``path`` and its parents; if that fails (read-only, a file in the way, no
    permission), a one-line TinygenError names ``what``, the folder, the reason and ``hint``."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TinygenError(f"{what}: cannot create the folder {path} "
                           f"({e.strerror or e}); {hint}") from None
    return path


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename or a new file in folder ``path`` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_replace(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Move the finished file ``src`` onto ``dst`` (same file system): fsync, replace, fsync."""
    dst = Path(dst)
    with open(src, "rb") as f:
        os.fsync(f.fileno())
    os.replace(src, dst)
    fsync_dir(dst.parent)
    return dst


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating the folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """:func:`atomic_write` for UTF-8 text."""
    return atomic_write(path, text.encode("utf-8"))
