"""Reference for viterbi."""

import numpy as np


def viterbi(emissions: np.ndarray, transitions: np.ndarray) -> tuple[list[int], float]:
    delta, back = emissions[0], []
    for t in range(1, emissions.shape[0]):
        table = delta[:, None] + transitions
        back.append(table.argmax(axis=0))
        delta = table.max(axis=0) + emissions[t]
    path = [int(delta.argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return path[::-1], float(delta.max())
