"""Puts the random token where the token should stay (u ≥ 0.9) and keeps the token where the
random one belongs: the split is still 80/10/10, and the average cannot tell (both cases have
probability 0.1p), so only the exact comparison catches it.

Expect: bert_corrupt equals the reference
"""

import numpy as np


def bert_corrupt(ids, chosen, u, random_ids, mask_id):
    out = np.where(chosen & (u < 0.8), mask_id, ids)
    return np.where(chosen & (u >= 0.9), random_ids, out)


def expected_embedding(table, ids, rate, mask_id, first_ordinary):
    mean = table[first_ordinary:].mean(axis=0)
    return (1 - 0.9 * rate) * table[ids] + 0.8 * rate * table[mask_id] + 0.1 * rate * mean
