"""Exercise beam_search: the best sequence under a left-to-right model, keeping k guesses.

A decoder gives log p(next token | prefix). Greedy decoding takes the best token each step,
but a token that looks best now can lead to worse continuations. Beam search keeps the
``width`` best partial sequences ("hypotheses") instead of one:

    start with one empty hypothesis, score 0
    repeat max_len times:
        extend every live hypothesis by every token v: score + log p(v | prefix)
        an extension by ``eos`` is *finished* (kept aside with its score)
        of the other extensions keep the ``width`` best as the new live hypotheses
    hypotheses still live after max_len tokens finish as they are
    return the best finished hypothesis (tokens without ``eos``) and its score

(You may stop early once the best finished score beats every live one: scores only fall.)

    beam_search(step, eos, width, max_len) -> (tokens: list[int], score: float)

``step(prefix)`` takes a tuple of tokens (the empty tuple first) and returns a NumPy array
of log-probabilities over the vocabulary 0 … V−1 (−inf where a token is impossible). The
checker compares your answer with brute force over every sequence (with a wide beam), with
greedy decoding (width 1), and on a model where greedy is wrong.
"""

import numpy as np  # noqa: F401 - you will want it


def beam_search(step, eos: int, width: int, max_len: int) -> tuple[list[int], float]:
    raise NotImplementedError
