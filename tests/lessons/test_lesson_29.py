"""Lesson 29 in quick mode: the Dirac-GAN under SGD, momentum, Adam, the zero-centred
penalty, extragradient and consensus, its Jacobian's eigenvalues, and a small mixture GAN;
the figures and metrics are written and every check can fail."""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "29_gan_dynamics"


run = lesson_record(NAME)


def test_figures_and_numbers(run):
    out, m = run
    assert_figures(out, "phase_portraits.png", "distance_eigenvalues.png", "mixture.png")
    eig = m["jacobian_eigenvalues"]
    assert sorted(eig["plain"]["imag"]) == pytest.approx([-0.5, 0.5])  # f'(0) = 1/2
    assert eig["penalty"]["real"] == pytest.approx([0.5, 0.5])  # (γ ± √(γ² − 1))/2, γ = 1
    lin = m["linear"]
    assert lin["SGD simultaneous"]["rho"] == pytest.approx((1 + m["lr"] ** 2 / 4) ** 0.5)
    assert lin["SGD + penalty"]["rho"] == pytest.approx(1 - m["lr"] / 2)
    assert lin["SGD alternating"]["rho"] == pytest.approx(1.0)
    assert set(m["mixture"]) >= {"SGD simultaneous", "SGD simultaneous + penalty"}


def test_checks_can_fail(run):
    _, m = run
    start = m["dirac"]["SGD simultaneous"]["start_distance"]
    assert_fails(NAME, changed(m, ("dirac", "SGD simultaneous", "final_distance"), start),
                 "simultaneous SGD diverges")
    assert_fails(NAME, changed(m, ("dirac", "SGD + penalty", "final_distance"), 0.1),
                 "with the penalty it converges")
    assert_fails(NAME, changed(m, ("jacobian_eigenvalues", "penalty", "real"), [0.0, 0.0]),
                 "J's eigenvalues")
    assert_fails(NAME, changed(m, ("linear", "SGD + penalty", "rho"), 1.01),
                 "spectral radius")
    assert_fails(NAME, changed(m, ("linear", "extragradient", "measured_rate"), 1.01),
                 "extragradient: measured factor")
    plain = m["mixture"]["SGD simultaneous"]["final_mmd2"]
    assert_fails(NAME, changed(m, ("mixture", "SGD simultaneous + penalty", "final_mmd2"),
                               plain), "mixture GAN")
    assert_fails(NAME, changed(m, ("dirac", "Adam β₁=0", "final_distance"), 10.0),
                 "Adam without the penalty")
