"""Character-level ROUGE-L and BLEU on hand-made pairs whose values were worked out by hand,
and the LCS against brute force over all subsequences."""

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygen.errors import ShapeError, TinygenError
from tinygen.metrics import bleu, lcs_length, rouge_l


def _brute_lcs(a: str, b: str) -> int:
    subsequences = {"".join(c) for n in range(len(a) + 1) for c in itertools.combinations(a, n)}
    return max(len(s) for s in subsequences if _is_subsequence(s, b))


def _is_subsequence(s: str, b: str) -> bool:
    it = iter(b)
    return all(ch in it for ch in s)


def test_lcs_known_answers():
    assert lcs_length("ABCBDAB", "BDCABA") == 4      # Cormen et al.'s example (BCBA)
    assert lcs_length("送友人", "送人歸") == 2
    assert lcs_length("", "abc") == 0 and lcs_length("abc", "abc") == 3
    assert lcs_length(["a", "bb"], ["bb"]) == 1       # token lists work too


@given(st.text("abc", max_size=7), st.text("abc", max_size=7))
def test_lcs_is_brute_force(a, b):
    assert lcs_length(a, b) == lcs_length(b, a) == _brute_lcs(a, b)


def test_rouge_l_hand_computed():
    # LCS(送友人, 送人歸) = 2 (送人): P = 2/3, R = 2/3, F1 = 2/3
    assert rouge_l("送友人", "送人歸") == pytest.approx(2 / 3)
    # LCS(秋夜, 秋夜寄人) = 2: P = 1, R = 1/2, F1 = 2·1·½ / 1.5 = 2/3
    assert rouge_l("秋夜", "秋夜寄人") == pytest.approx(2 / 3)
    # β = 2 weighs recall: 5·1·½ / (½ + 4·1) = 2.5/4.5
    assert rouge_l("秋夜", "秋夜寄人", beta=2.0) == pytest.approx(2.5 / 4.5)
    assert rouge_l("春", "秋") == 0.0 and rouge_l("", "秋") == 0.0
    assert rouge_l("江南曲", "江南曲") == 1.0


def test_bleu_hand_computed():
    # one pair ABCD / ABCE: p1 = 3/4, p2 = 2/3, p3 = 1/2, p4 = 0/1 → 0 without smoothing
    assert bleu(["ABCD"], ["ABCE"]) == 0.0
    # add-one for n > 1: p2 = 3/4, p3 = 2/3, p4 = 1/2; BP = 1
    assert bleu(["ABCD"], ["ABCE"], smooth=True) == pytest.approx(
        (3 / 4 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25)
    # corpus: (ABCDE | ABCDE) and (AB | ABC): every n-gram of the candidates matches
    # (7/7, 5/5, 3/3, 2/2), c = 7, r = 8: BLEU = BP = exp(1 − 8/7)
    assert bleu(["ABCDE", "AB"], ["ABCDE", "ABC"]) == pytest.approx(math.exp(1 - 8 / 7))
    # clipping: AAAA against AB counts A once: p1 = 1/4; max_n = 1, c = 4 > r = 2: BP = 1
    assert bleu(["AAAA"], ["AB"], max_n=1) == pytest.approx(1 / 4)
    # bigram BLEU of 送友人歸 vs 送友人: p1 = 3/4, p2 = 2/3; c > r so BP = 1
    assert bleu(["送友人歸"], ["送友人"], max_n=2) == pytest.approx(math.sqrt(3 / 4 * 2 / 3))
    assert bleu([["a", "b"]], [["a", "b"]], max_n=2) == pytest.approx(1.0)


def test_bleu_errors():
    with pytest.raises(ShapeError, match="bleu: 2 candidates but 1 references"):
        bleu(["a", "b"], ["a"])
    with pytest.raises(TinygenError, match="no candidates"):
        bleu([], [])
    with pytest.raises(TinygenError, match="max_n must be an int >= 1"):
        bleu(["a"], ["a"], max_n=0)
