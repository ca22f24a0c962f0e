"""Reference for bmes_words."""


def tags_to_words(chars: str, tags: str) -> list[str]:
    words, current = [], ""
    for ch, tag in zip(chars, tags):
        current += ch
        if tag in "es":
            words.append(current)
            current = ""
    return words
