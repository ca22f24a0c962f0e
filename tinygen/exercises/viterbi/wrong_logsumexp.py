"""Uses the forward algorithm's logsumexp in place of max: that is log Z, not the best score.

Expect: a max, not a logsumexp
"""

import numpy as np


def viterbi(emissions, transitions):
    delta, back = emissions[0], []
    for t in range(1, emissions.shape[0]):
        table = delta[:, None] + transitions
        back.append(table.argmax(axis=0))
        m = table.max(axis=0)
        delta = m + np.log(np.exp(table - m).sum(axis=0)) + emissions[t]
    path = [int(delta.argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    m = delta.max()
    return path[::-1], float(m + np.log(np.exp(delta - m).sum()))
