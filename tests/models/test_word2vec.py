"""word2vec end to end: the vocabulary, training that separates two topics, the vector
queries and evaluations on hand-made vectors, and the argument errors."""

from __future__ import annotations

import numpy as np
import pytest

from tinygen.errors import ArgumentError
from tinygen.models.word2vec import Vocabulary, Word2Vec, WordVectors


def _topics(n=300, seed=0):
    """Sentences of 8 words, each from one of two disjoint 10-word topics."""
    rng = np.random.default_rng(seed)
    return [[f"{'ab'[t]}{i}" for i in rng.integers(0, 10, 8)] for t in rng.integers(0, 2, n)]


def test_vocabulary_counts_sorts_and_encodes():
    vocab = Vocabulary.build([["b", "a", "b"], ["c", "b", "a"]], min_count=2)
    assert vocab.words == ("b", "a") and vocab.counts.tolist() == [3, 2]
    ids, offsets = vocab.encode([["a", "zzz", "b"], [], ["c"]])
    assert ids.tolist() == [1, 0] and offsets.tolist() == [0, 2, 2, 2]
    with pytest.raises(ArgumentError, match="no word occurs min_count=9"):
        Vocabulary.build([["a"]], min_count=9)


@pytest.mark.parametrize("sg, loss", [(True, "sigmoid"), (False, "sigmoid"),
                                      (False, "softmax")])
def test_training_separates_two_topics(sg, loss):
    model = Word2Vec(_topics(), dim=16, window=3, negative=5, sg=sg, loss=loss, sample=0,
                     min_count=1, alpha=0.05, epochs=5, seed=1)
    history = model.train()
    assert history[-1]["loss"] < history[0]["loss"]
    vectors = model.vectors
    same = np.mean([vectors.similarity("a0", f"a{i}") for i in range(1, 10)])
    other = np.mean([vectors.similarity("a0", f"b{i}") for i in range(10)])
    assert same > other + 0.3
    assert all(w.startswith("a") for w, _ in vectors.most_similar("a3", k=5))


def test_parallel_training_learns_too():
    model = Word2Vec(_topics(), dim=16, window=3, sample=0, min_count=1, alpha=0.05, epochs=3,
                     seed=1, parallel=True, compute_loss=False)
    assert model.train()[-1]["loss"] is None
    v = model.vectors
    assert v.similarity("b1", "b2") > v.similarity("b1", "a2") + 0.3


def _hand_made():
    words = ["man", "woman", "king", "queen", "apple"]
    m = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [-1, 0, 0.2]], float)
    return WordVectors(words, m)


def test_analogy_and_neighbours_on_hand_made_vectors():
    v = _hand_made()
    assert v.analogy("man", "king", "woman") == "queen"
    assert v.most_similar("queen", k=1)[0][0] in {"woman", "king"}
    assert v.similarity("man", "man") == pytest.approx(1.0)
    assert v.evaluate_analogies([("MAN", "king", "woman", "queen"),
                                 ("man", "king", "woman", "pear")]) == \
        {"accuracy": 1.0, "used": 1, "total": 2}


def test_pair_evaluation_is_rank_correlation_over_known_pairs():
    v = _hand_made()
    pairs = [("man", "woman", 3.0), ("king", "queen", 2.0), ("man", "apple", 0.0),
             ("man", "unicorn", 9.0)]
    result = v.evaluate_pairs(pairs)
    # cosines 0.71, 0.82, −0.98 against human 3, 2, 0: ranks (2, 3, 1) vs (3, 2, 1)
    assert result["used"] == 3 and result["total"] == 4
    assert result["spearman"] == pytest.approx(0.5)


def test_unknown_words_and_bad_settings_are_clear_errors():
    with pytest.raises(ArgumentError, match="'pear' is not in the vocabulary"):
        _hand_made().similarity("pear", "man")
    with pytest.raises(ArgumentError, match="5 words but 2 vectors"):
        WordVectors(["a", "b", "c", "d", "e"], np.zeros((2, 3)))
    with pytest.raises(ArgumentError, match="loss must be one of"):
        Word2Vec(_topics(10), loss="hinge")
    with pytest.raises(ArgumentError, match="window must be a positive int"):
        Word2Vec(_topics(10), window=0)
