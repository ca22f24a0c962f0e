"""The PacGAN mode-coverage metric on hand-made sample sets whose answers are known."""

import numpy as np
import pytest

import tinygen as tg
from tinygen.data.toys import GRID, RING
from tinygen.metrics import Accuracy, MeanMetric, mode_coverage


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
