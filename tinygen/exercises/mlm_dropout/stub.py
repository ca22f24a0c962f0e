"""Exercise mlm_dropout: BERT's input corruption, and the expected input it creates.

BERT chooses each token with probability p (the masking rate) and asks the encoder to
predict the chosen ones. A chosen token's input is

    [MASK]              with probability 0.8   (u < 0.8)
    a random token      with probability 0.1   (0.8 ≤ u < 0.9)
    the token itself    with probability 0.1   (u ≥ 0.9)

Seen as dropout on the input embeddings (the post behind lesson 33), the encoder is trained
on noisy inputs whose expectation, for a token x, is

    E[e_in] = (1 − 0.9p)·e_x + 0.8p·e_[MASK] + 0.1p·ē

with ē the mean embedding of the ordinary tokens (the random token is uniform over them).
Fine-tuning on clean inputs e_x is then inconsistent with pretraining, as dropout would be
without its rescaling; the post's correction feeds E[e_in] at fine-tuning time.

    bert_corrupt(ids, chosen, u, random_ids, mask_id) -> corrupted ids
        ids, u, random_ids: (B, T) arrays (ints, uniforms in [0, 1), ints); chosen: (B, T)
        bools. Unchosen tokens are returned unchanged.
    expected_embedding(table, ids, rate, mask_id, first_ordinary) -> (B, T, D)
        table: (V, D) embeddings; the ordinary tokens are rows first_ordinary … V − 1, and
        ids holds ordinary tokens only.

The checker compares both with a reference and checks that they agree with each other: the
average embedding of many corrupted copies must approach expected_embedding.
"""

import numpy as np


def bert_corrupt(ids: np.ndarray, chosen: np.ndarray, u: np.ndarray, random_ids: np.ndarray,
                 mask_id: int) -> np.ndarray:
    raise NotImplementedError


def expected_embedding(table: np.ndarray, ids: np.ndarray, rate: float, mask_id: int,
                       first_ordinary: int) -> np.ndarray:
    raise NotImplementedError
