"""Language-model helpers and tree induction: trees read from distances by hand, brackets
and F1 worked out by hand, perplexity of a uniform model is the vocabulary size."""

import numpy as np
import pytest

import tinygen as tg
from tinygen.errors import ArgumentError
from tinygen.models.language_model import (RNNLanguageModel, batchify, brackets,
                                           count_parameters, leaf_depths, tree_from_distances,
                                           unlabeled_f1)

WORDS = ["the", "cat", "sat", "on", "the", "mat"]


def test_tree_from_distances_by_hand():
    # largest at "sat" (2): ((the cat), (sat, rest)); rest: largest at "the" (index 4 → 1
    # inside "on the mat"): ((on), (the, mat)) → (on, (the, mat))
    d = [0.1, 0.2, 0.9, 0.3, 0.5, 0.4]
    tree = tree_from_distances(WORDS, d)
    assert tree == (("the", "cat"), ("sat", ("on", ("the", "mat"))))
    # decreasing distances: right-branching; increasing: left-branching
    assert tree_from_distances(list("abcd"), [4, 3, 2, 1]) == ("a", ("b", ("c", "d")))
    assert tree_from_distances(list("abcd"), [1, 2, 3, 4]) == ((("a", "b"), "c"), "d")
    assert tree_from_distances(["x"], [0.3]) == "x"
    with pytest.raises(ArgumentError, match="2 words and 1 distances"):
        tree_from_distances(["a", "b"], [1.0])


def test_brackets_depths_and_f1_by_hand():
    tree = (("the", "cat"), ("sat", ("on", ("the", "mat"))))
    assert brackets(tree) == {(0, 6), (0, 2), (2, 6), (3, 6), (4, 6)}
    assert leaf_depths(tree) == [2, 2, 2, 3, 4, 4]
    right = ("the", ("cat", ("sat", ("on", ("the", "mat")))))
    # without the whole sentence: {(0,2),(2,6),(3,6),(4,6)} vs {(1,6),(2,6),(3,6),(4,6)}:
    # 3 in common, F1 = 2·3 / (4 + 4) = 0.75
    assert unlabeled_f1(tree, right) == pytest.approx(0.75)
    assert unlabeled_f1(right, right) == 1.0
    assert unlabeled_f1(("a", "b"), ("a", "b")) == 1.0      # nothing but the whole sentence
    left = (((("a", "b"), "c"), "d"), "e")
    assert unlabeled_f1(left, ("a", ("b", ("c", ("d", "e"))))) == 0.0


def test_batchify_and_parameter_count():
    s = batchify(np.arange(11), 2)
    np.testing.assert_array_equal(s, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])
    with pytest.raises(ArgumentError, match="too few"):
        batchify(np.arange(3), 2)
    m = RNNLanguageModel(50, 4, 6, "lstm")
    assert count_parameters(m) == 50 * 4 + 4 * 6 * (4 + 6 + 1) + 6 * 50 + 50
    on = RNNLanguageModel(50, 4, 6, "onlstm", levels=3)
    assert count_parameters(on) == count_parameters(m) + 2 * 3 * (4 + 6 + 1)


@pytest.mark.parametrize("kind", ["lstm", "onlstm"])
def test_uniform_model_has_perplexity_v(kind):
    m = RNNLanguageModel(30, 4, 6, kind, levels=2)
    m.out.weight.data[...] = 0
    m.out.bias.data[...] = 0
    stream = batchify(np.random.default_rng(0).integers(0, 30, 200), 4)
    assert m.perplexity(stream, window=7) == pytest.approx(30.0, rel=1e-5)


def test_distances_are_one_minus_mean_master_forget():
    tg.manual_seed(0)
    m = RNNLanguageModel(20, 4, 6, "onlstm", levels=3)
    ids = np.array([[1, 2, 3, 4]])
    d = m.distances(ids)
    _, _, master = m.rnn(m.embedding(ids), return_distances=True)
    np.testing.assert_allclose(d, 1 - master.numpy()[-1].mean(-1), rtol=1e-6)
    assert d.shape == (1, 4) and np.all((d >= 0) & (d <= 1))
    with pytest.raises(ArgumentError, match="only an ON-LSTM has master gates"):
        RNNLanguageModel(20, 4, 6, "lstm").distances(ids)
    with pytest.raises(ArgumentError, match="kind must be 'lstm' or 'onlstm'"):
        RNNLanguageModel(20, 4, 6, "gru")
