"""Checker for mlm_dropout: BERT's corruption of the chosen tokens and the expectation of the
input it creates (the fine-tuning correction of lesson 33)."""

import math

import numpy as np

from tinygen.exercises.check import Mismatch, close, floats, prop, rngs, st

TITLE = "MLM as dropout: BERT's corruption and the expected input embedding"
TOPIC = "Words"
DIFFICULTY = 2
LESSON = "33_mlm_dropout"
FUNCTIONS = ["bert_corrupt", "expected_embedding"]

MASK, FIRST = 2, 3  # the [MASK] id and the first ordinary token (0: padding, 1: unknown)
N = 20000           # corrupted copies in the statistical property


@st.composite
def corruptions(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    b, t, vocab = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(4, 12))
    ids = rng.integers(FIRST, vocab, (b, t))
    chosen = rng.random((b, t)) < draw(floats(0.0, 1.0))
    u = rng.random((b, t))
    u[0, 0] = draw(st.sampled_from([0.0, 0.79, 0.8, 0.85, 0.9, 0.95]))  # the thresholds
    return ids, chosen, u, rng.integers(FIRST, vocab, (b, t))


def _corrupt(student, ids, chosen, u, random_ids):
    out = student.bert_corrupt(ids.copy(), chosen.copy(), u.copy(), random_ids.copy(), MASK)
    out = np.asarray(out)
    if out.shape != ids.shape:
        raise Mismatch(f"bert_corrupt returned shape {out.shape} for ids of shape {ids.shape}")
    return out


@prop("bert_corrupt equals the reference: a chosen token becomes [MASK] if u < 0.8, the "
      "random token if 0.8 ≤ u < 0.9, and stays itself if u ≥ 0.9; an unchosen one never "
      "changes",
      "np.where on the three conditions, with the thresholds exactly 0.8 and 0.9; the 10 % "
      "that stay unchanged are still chosen (they are predicted), just not corrupted",
      case=corruptions())
def corrupt(student, ref, case):
    ids, chosen, u, random_ids = case
    close(_corrupt(student, *case), ref.bert_corrupt(ids, chosen, u, random_ids, MASK),
          "bert_corrupt(ids, chosen, u, random_ids, mask_id)", ids=ids, chosen=chosen, u=u,
          random_ids=random_ids)


@prop("expected_embedding equals the reference formula (1 − 0.9p)·e_x + 0.8p·e_[MASK] + "
      "0.1p·ē",
      "ē is the mean of the ordinary rows table[first_ordinary:], and the token itself keeps "
      "1 − p (not chosen) + 0.1p (chosen but unchanged) of its weight",
      seed=st.integers(0, 2**32 - 1), p=floats(0.01, 0.99))
def expectation(student, ref, seed, p):
    rng = np.random.default_rng(seed)
    vocab, dim = int(rng.integers(4, 10)), int(rng.integers(1, 5))
    table = rng.standard_normal((vocab, dim))
    ids = rng.integers(FIRST, vocab, (2, 3))
    got = student.expected_embedding(table.copy(), ids.copy(), p, MASK, FIRST)
    close(got, ref.expected_embedding(table, ids, p, MASK, FIRST),
          "expected_embedding(table, ids, rate, mask_id, first_ordinary)", ids=ids, p=p)


@prop("averaged over 20,000 corrupted copies (chosen with probability p, u and the random "
      "tokens uniform), the embeddings of your bert_corrupt's outputs match your "
      "expected_embedding within 5 standard errors",
      "the two functions must describe the same corruption: the mean of table[corrupted] is "
      "what the encoder saw on average in pretraining",
      rng=rngs(), p=floats(0.05, 0.95), examples=6)
def average(student, ref, rng, p):
    vocab, dim, t = 6, 3, 4
    table = rng.standard_normal((vocab, dim))
    ids = np.tile(rng.integers(FIRST, vocab, (1, t)), (N, 1))
    chosen = rng.random((N, t)) < p
    out = _corrupt(student, ids, chosen, rng.random((N, t)), rng.integers(FIRST, vocab, (N, t)))
    seen = table[out.astype(np.int64)]                    # (N, t, dim)
    mean, se = seen.mean(0), seen.std(0) / math.sqrt(N) + 1e-12
    want = np.asarray(student.expected_embedding(table, ids[:1], p, MASK, FIRST), float)[0]
    z = np.abs(mean - want) / se
    if want.shape != mean.shape or z.max() > 5:
        raise Mismatch(f"with p = {p:.3f}: the mean embedding of 20,000 corrupted copies of "
                       f"ids {ids[0].tolist()} is\n  {np.round(mean, 4).tolist()}\nbut "
                       f"expected_embedding says\n  {np.round(want, 4).tolist()}\n"
                       f"({z.max():.1f} standard errors apart)")
