"""The PacGAN mode-coverage metric on hand-made sample sets whose answers are known."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygen as tg
from tinygen.data.toys import GRID, RING
from tinygen.errors import ShapeError, TinygenError
from tinygen.metrics import Accuracy, MeanMetric, expected_calibration_error, mode_coverage
from tinygen.testing import arrays, shapes


def test_mode_coverage_known_answers():
    centres = RING.centres
    exact = np.repeat(centres, 10, axis=0)  # every sample on a mode: 8 modes, 100% HQ
    assert mode_coverage(exact, RING)["modes"] == 8
    assert mode_coverage(exact, RING)["high_quality"] == 1.0
    # 2.9σ away counts, 3.1σ does not (σ = 0.01 on the ring)
    near = centres[:3] + np.array([0.029, 0.0])
    far = centres[3:] + np.array([0.0, 0.031])
    got = mode_coverage(np.concatenate([near, far]), RING)
    assert got["modes"] == 3 and got["high_quality"] == pytest.approx(3 / 8)
    assert got["counts"].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
    # grid: 2,500 samples all at one corner mode
    corner = np.tile([[4.0, 4.0]], (2500, 1)) + 0.01
    g = mode_coverage(corner, GRID)
    assert g["modes"] == 1 and g["high_quality"] == 1.0
    assert mode_coverage(tg.tensor(exact), RING)["modes"] == 8


def test_mode_coverage_errors():
    with pytest.raises(tg.ShapeError, match=r"mode_coverage: samples must have shape \(N, 2\)"):
        mode_coverage(np.zeros((3, 3)), RING)
    with pytest.raises(tg.TinygenError, match="no samples"):
        mode_coverage(np.zeros((0, 2)), RING)


def test_stateful_metrics_weight_by_batch_size():
    m = MeanMetric(lambda o, y: float(np.mean(o == y)), "match")
    m.update(np.array([1, 1]), np.array([1, 0]))
    m.update(np.array([1, 1, 1, 1]), np.array([1, 1, 1, 1]))
    assert m.result() == pytest.approx(5 / 6)
    a = Accuracy()
    a.update(tg.tensor([[0.1, 0.9], [0.8, 0.2]]), tg.tensor([1, 1]))
    assert a.result() == 0.5


def test_accuracy_exclude_never_predicts_a_class():
    """<unk> (0) scores highest in both rows: excluded, the best other class counts, and a
    target 0 is a miss; over every position of a (B, L, V) batch."""
    logits = np.array([[[5.0, 1.0, 2.0], [5.0, 3.0, 1.0]]])  # (1, 2, 3)
    a = Accuracy(exclude=(0,), name="char_accuracy")
    a.update(tg.tensor(logits), tg.tensor([[2, 0]]))
    assert a.name == "char_accuracy" and a.result() == 0.5
    a.update(logits, np.array([[2, 1]]))
    assert a.result() == 0.75
    assert logits[0, 0, 0] == 5.0  # the caller's scores are left alone
    plain = Accuracy()
    plain.update(logits, np.array([[0, 0]]))
    assert plain.result() == 1.0


@given(data=st.data())
def test_accuracy_exclude_is_the_argmax_over_the_other_classes(data):
    """Excluding the leading classes 0..e−1 is the argmax over scores[..., e:], shifted."""
    k = data.draw(st.integers(2, 6))
    e = data.draw(st.integers(1, k - 1))
    shape = data.draw(shapes(min_dims=0, max_dims=2)) + (k,)
    scores = data.draw(arrays(shape))
    labels = data.draw(hnp.arrays(np.int64, shape[:-1], elements=st.integers(0, k - 1)))
    a = Accuracy(exclude=range(e))
    a.update(scores, labels)
    assert a.correct == int((scores[..., e:].argmax(-1) + e == labels).sum())
    assert a.count == labels.size


def test_accuracy_exclude_errors():
    with pytest.raises(TinygenError, match=r"Accuracy: exclude must hold class ids >= 0, "
                                           r"got \(-1,\)"):
        Accuracy(exclude=(-1,))
    with pytest.raises(ShapeError, match=r"Accuracy: excluded class 3 is not among the 3 "
                                         r"classes of outputs \(2, 3\)"):
        Accuracy(exclude=(3,)).update(np.zeros((2, 3)), np.zeros(2))


def test_expected_calibration_error_by_hand():
    # confidences 0.9, 0.9 (one right) in bin [0.9, 1]: |0.5 − 0.9| = 0.4, weight 2/4;
    # 0.6, 0.6 (both right) in bin [0.6, 0.7): |1 − 0.6| = 0.4, weight 2/4
    p = np.array([[0.9, 0.1], [0.1, 0.9], [0.6, 0.4], [0.4, 0.6]])
    assert expected_calibration_error(p, np.array([0, 0, 0, 1])) == pytest.approx(0.4)
    # calibrated: confidence 0.75 and 3 of 4 right
    q = np.tile([0.75, 0.25], (4, 1))
    assert expected_calibration_error(q, np.array([0, 0, 0, 1])) == pytest.approx(0.0)
    assert expected_calibration_error(tg.tensor(q), tg.tensor([0, 0, 0, 1]), bins=1) \
        == pytest.approx(0.0)
    # one bin: |mean accuracy − mean confidence|
    assert expected_calibration_error(p, np.array([0, 0, 0, 1]), bins=1) == pytest.approx(
        abs(3 / 4 - 0.75))


@pytest.mark.parametrize("p, y, bins, error, message", [
    (np.zeros(3), np.zeros(3), 10, ShapeError, r"probabilities must be \(N, K\) and targets "
     r"\(N,\), got \(3,\) and \(3,\)"),
    (np.zeros((3, 2)), np.zeros(2), 10, ShapeError, r"probabilities must be \(N, K\) and "
     r"targets \(N,\), got \(3, 2\) and \(2,\)"),
    (np.zeros((0, 2)), np.zeros(0), 10, TinygenError, "no samples"),
    (np.ones((2, 2)) / 2, np.zeros(2), 0, TinygenError, "bins must be an int >= 1, got 0"),
])
def test_expected_calibration_error_errors(p, y, bins, error, message):
    with pytest.raises(error, match="expected_calibration_error: " + message):
        expected_calibration_error(p, y, bins)
