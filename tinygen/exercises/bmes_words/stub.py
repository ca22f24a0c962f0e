"""Exercise bmes_words: turn a word segmenter's tags back into words.

A Chinese word segmenter (lesson 7) tags each character with its place in its word:
b = begins a word, m = middle, e = ends it, s = a single-character word. For example, the
characters "天地人山水日" with the tags "besbme" are the words ["天地", "人", "山水日"].

    tags_to_words(chars, tags) -> list of words (strings)

chars and tags are strings of the same length, and the tags are a valid sequence (a b is
followed by m's and an e; the sentence never ends inside a word). The checker tests that
the words join back into the sentence and that they are the tagged words, on random
sentences.
"""


def tags_to_words(chars: str, tags: str) -> list[str]:
    raise NotImplementedError
