"""Backtracks by the best emission at each step instead of the back-pointers.

Expect: follows the back-pointers
"""



def viterbi(emissions, transitions):
    delta = emissions[0]
    for t in range(1, emissions.shape[0]):
        delta = (delta[:, None] + transitions).max(axis=0) + emissions[t]
    return [int(j) for j in emissions.argmax(axis=1)], float(delta.max())
