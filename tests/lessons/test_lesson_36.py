"""Lesson 36 in quick mode: Gillespie's direct method on the post's gene network; the figure,
the metrics, and that its checks fail for the broken variants measured in the same run."""

from tests.lessons.helpers import assert_figures, load_checks, run_lesson


def test_lesson_36_gillespie_quick(tmp_path):
    m = run_lesson("36_gillespie", tmp_path)
    assert_figures(tmp_path, "gillespie.png")
    assert m["twin_equal"] is True and m["trajectories"] == 4000
    h = m["histogram"]
    assert h["events"] > 100_000 and h["tv_events"] > h["tv_time"]
    checks = load_checks("36_gillespie")
    assert all(ok for ok, _ in checks(m, True))
    # the post's event-counted histogram, judged as if it were the answer, fails
    broken = {**m, "histogram": {**h, "tv_time": h["tv_events"], "mean_time": h["mean_events"]}}
    assert not checks(broken, True)[4][0]
    bad_means = {**m, "scores": {**m["scores"], "max_abs_z_m": 3.5}}
    assert not checks(bad_means, True)[1][0]
    assert not checks({**m, "twin_equal": False}, True)[0][0]
