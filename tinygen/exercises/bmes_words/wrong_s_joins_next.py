"""Ends words only at e: an s character is glued to the next word.

Expect: s = single
"""


def tags_to_words(chars, tags):
    words, current = [], ""
    for ch, tag in zip(chars, tags):
        current += ch
        if tag == "e":
            words.append(current)
            current = ""
    if current:
        words.append(current)
    return words
