"""The gradient checker itself: it must not flake at kinks, and must still catch wrong
gradients there."""

import numpy as np
import pytest

import tinygen as tg
from tinygen.models import gan
from tinygen.testing import GradientCheckError, _probe, check_grads


def test_a_kink_within_the_finite_difference_step_is_stepped_over():
    """The case a newcomer's suite met: f = −1.0000019 lies 1.9 steps from the hinge's kink
    at −1, so central differences averaged two slopes (the old checker failed here)."""
    rng = np.random.default_rng(444)
    r, f = rng.normal(0, 2, 6), rng.normal(0, 2, 6)
    assert abs(f[-1] + 1) < 2e-6
    check_grads(gan.hinge_d_loss, [r, f], order=2)


@pytest.mark.parametrize("fn, x", [
    (tg.relu, [0.0, 1e-7, -3e-6]),                                   # on and next to the kink
    (lambda x: tg.abs(x - 0.5), [0.5 + 1e-6, 2.0]),
    (lambda x: tg.maximum(x[:1], x[1:]), [0.3, 0.3]),                 # a tie
    (lambda x: tg.clip(x, -1.0, 1.0), [1.0 - 2e-6, -1.0]),
])
def test_kinks_and_ties_do_not_fail_a_correct_gradient(fn, x):
    check_grads(fn, [np.array(x)], order=2)


def test_a_wrong_gradient_next_to_a_kink_is_still_caught():
    def wrong(x):  # value relu(x) + x/2, but autograd sees only relu's slope
        return tg.relu(x) + 0.5 * tg.stop_gradient(x)
    with pytest.raises(GradientCheckError, match="autograd gives"):
        check_grads(wrong, [np.array([1e-7, 0.0, 2.0])])


def test_a_function_with_kinks_everywhere_is_named_not_smooth():
    with pytest.raises(GradientCheckError, match="not smooth near any of 4 points"):
        check_grads(lambda x: tg.abs(tg.sin(x * 1e6)), [np.array([0.3, 1.2])])


@pytest.mark.parametrize("fn, x, smooth", [
    (tg.exp, [5.0, -2.0, 7.0], True),            # large values and curvature: no false alarm
    (lambda x: x ** 3, [100.0, -40.0], True),
    (lambda x: tg.sum(tg.tanh(x)) * 1e4, [0.1, 0.2], True),
    (tg.relu, [0.0, 1.0], False),                 # a kink at the point itself
    (tg.relu, [3e-5, 1.0], False),                # one within 64 steps
])
def test_the_smoothness_probe(fn, x, smooth):
    x = np.array(x)
    u = [np.ones_like(fn(tg.tensor(x)).data)]
    assert _probe(fn, [x], u, [np.ones_like(x)], 1e-6)[2] is smooth
