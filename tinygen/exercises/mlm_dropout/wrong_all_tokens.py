"""Corrupts every token, chosen or not (a common slip: the mask applied to the whole row).

Expect: an unchosen one never changes
"""

import numpy as np


def bert_corrupt(ids, chosen, u, random_ids, mask_id):
    out = np.where(u < 0.8, mask_id, ids)
    return np.where((u >= 0.8) & (u < 0.9), random_ids, out)


def expected_embedding(table, ids, rate, mask_id, first_ordinary):
    mean = table[first_ordinary:].mean(axis=0)
    return (1 - 0.9 * rate) * table[ids] + 0.8 * rate * table[mask_id] + 0.1 * rate * mean
