"""The expectation forgets that a chosen token stays itself 10 % of the time: its weight is
1 − p instead of 1 − 0.9p (the corruption itself is right, so the average disagrees).

Expect: chosen but unchanged
Expect: 5 standard errors
"""

import numpy as np


def bert_corrupt(ids, chosen, u, random_ids, mask_id):
    out = np.where(chosen & (u < 0.8), mask_id, ids)
    return np.where(chosen & (u >= 0.8) & (u < 0.9), random_ids, out)


def expected_embedding(table, ids, rate, mask_id, first_ordinary):
    mean = table[first_ordinary:].mean(axis=0)
    return (1 - rate) * table[ids] + 0.8 * rate * table[mask_id] + 0.1 * rate * mean
