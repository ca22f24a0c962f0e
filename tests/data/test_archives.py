"""Reading members out of wheels, sdists, npm tarballs and Debian packages."""

import shutil
import subprocess

import pytest

from tinygen.data import archives, sources

from .conftest import make_deb, make_tar_gz, make_wheel

FILES = {"a/b.txt": b"hello", "a/c.json": b"[1, 2]", "a/d/e.txt": b"deep"}


@pytest.mark.parametrize("kind", ["whl", "tar.gz", "tgz", "deb-xz", "deb-gz", "deb-plain"])
def test_read_members_in_every_container(tmp_path, kind):
    if kind == "whl":
        path = make_wheel(tmp_path / "p-1-py3-none-any.whl", FILES)
    elif kind.startswith("deb"):
        comp = kind.split("-")[1].replace("plain", "")
        path = make_deb(tmp_path / "p_1_all.deb", FILES, comp)
    else:
        path = make_tar_gz(tmp_path / f"p-1.{kind}", FILES)
    got = archives.read_members(path, ["a/b.txt", "a/*.json", "a/d/*"])
    assert got == FILES


def test_missing_member_is_a_clear_error(tmp_path):
    path = make_wheel(tmp_path / "p.whl", FILES)
    with pytest.raises(sources.FetchError, match=r"no member matches \['a/zzz.txt'\]"):
        archives.read_members(path, ["a/b.txt", "a/zzz.txt"])


def test_not_a_deb(tmp_path):
    bad = tmp_path / "x.deb"
    bad.write_bytes(b"PK\x03\x04 not an ar archive")
    with pytest.raises(sources.FetchError, match="not a Debian package"):
        archives.read_members(bad, ["*"])
    good = make_deb(tmp_path / "y.deb", FILES)
    truncated = tmp_path / "z.deb"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(sources.FetchError, match="malformed|truncated|no data.tar"):
        archives.read_members(truncated, ["*"])


def test_unknown_archive_type(tmp_path):
    odd = tmp_path / "x.rar"
    odd.write_bytes(b"")
    with pytest.raises(sources.FetchError, match="unknown archive type"):
        archives.read_members(odd, ["*"])


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb to build a .deb")
def test_reads_a_deb_built_by_dpkg_deb(tmp_path):
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: tg-test\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\n"
        "Description: test\n")
    (root / "usr/share/datasets/x").mkdir(parents=True)
    (root / "usr/share/datasets/x/data.bin").write_bytes(bytes(range(256)) * 10)
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root),
                    str(tmp_path / "t.deb")], check=True, capture_output=True)
    got = archives.read_members(tmp_path / "t.deb", ["usr/share/datasets/x/data.bin"])
    assert got["usr/share/datasets/x/data.bin"] == bytes(range(256)) * 10
