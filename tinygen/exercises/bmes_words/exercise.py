"""Checker for bmes_words: from per-character b/m/e/s tags to words."""

from tinygen.exercises.check import Mismatch, prop, st

TITLE = "From b/m/e/s tags to words"
TOPIC = "CRF"
DIFFICULTY = 1
LESSON = "07_crf_word_segmentation"
FUNCTIONS = ["tags_to_words"]

ALPHABET = "天地人山水日月风云花"


@st.composite
def sentence(draw):
    """Words of 1–4 characters, the sentence and its tags."""
    words = draw(st.lists(st.text(ALPHABET, min_size=1, max_size=4), min_size=1, max_size=5))
    tags = "".join("s" if len(w) == 1 else "b" + "m" * (len(w) - 2) + "e" for w in words)
    return words, "".join(words), tags


def _words(student, chars, tags):
    got = student.tags_to_words(chars, tags)
    if not isinstance(got, list | tuple) or not all(isinstance(w, str) for w in got):
        raise Mismatch(f"tags_to_words must return a list of strings, got {got!r}")
    return list(got)


@prop("the words join back into the sentence: no character lost or repeated",
      "every character belongs to exactly one word: b and m characters too", case=sentence())
def joins(student, ref, case):
    _, chars, tags = case
    got = _words(student, chars, tags)
    if "".join(got) != chars:
        raise Mismatch(f"for chars = {chars!r}, tags = {tags!r}\nthe words {got} join to "
                       f"{''.join(got)!r}, not the sentence")


@prop("an s character is a one-character word on its own", "s = single: it ends the word "
      "before it (if any) and is a word by itself", case=sentence())
def singles(student, ref, case):
    words, chars, tags = case
    got = _words(student, chars, tags)
    if got != words:
        raise Mismatch(f"for chars = {chars!r}, tags = {tags!r}\n  got      {got}\n"
                       f"  expected {words}")
