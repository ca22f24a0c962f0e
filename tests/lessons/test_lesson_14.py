"""Lesson 14 in quick mode: the k-volume sqrt(det BᵀB) and a density on a surface; the figure,
the metrics, and that its checks fail for the broken variants measured in the same run."""

from tests.lessons.helpers import assert_figures, load_checks, run_lesson


def test_lesson_14_non_square_determinant_quick(tmp_path):
    m = run_lesson("14_non_square_determinant", tmp_path)
    assert_figures(tmp_path, "non_square_determinant.png")
    area, surf = m["area"], m["surface"]
    assert abs(area["singular_values"] - area["cross"]) < 1e-10
    assert area["sqrt_det_BBt"] < 1e-6 * area["cross"]  # det BBᵀ is singular for n > k
    assert 1.2 < surf["integral_without_area"] < 1.4
    assert surf["log_area_vs_finite_differences"] < 1e-2
    checks = load_checks("14_non_square_determinant")
    assert all(ok for ok, _ in checks(m, True))
    # the broken variants of the same run fail the same checks
    broken_area = {**m, "area": {**area, "sqrt_det_BtB": area["sqrt_det_BBt"]}}
    assert [ok for ok, _ in checks(broken_area, True)][:2] == [False, False]
    broken_density = {**m, "surface": {**surf, "integral": surf["integral_without_area"]}}
    assert not checks(broken_density, True)[3][0]
