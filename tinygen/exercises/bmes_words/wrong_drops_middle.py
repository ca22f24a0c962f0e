"""Keeps the b and e characters of a word but drops its m's.

Expect: b and m characters too
"""


def tags_to_words(chars, tags):
    words, current = [], ""
    for ch, tag in zip(chars, tags):
        if tag == "m":
            continue
        current += ch
        if tag in "es":
            words.append(current)
            current = ""
    return words
