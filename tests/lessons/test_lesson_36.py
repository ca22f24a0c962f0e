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
    assert_figures(tmp_path, "classic_systems.png")
    d = m["dsmts"]
    assert d["cases"] == 4 and d["points"] >= 200 and d["wrong_model_fails"] >= 10
    failing = {
        # samples that do not fit Poisson(10), or a test with no power against Poisson(10.5)
        "immigration_death": [{"p_poisson": 1e-5}, {"p_wrong_poisson": 0.2}],
        # every run in one basin, or an ODE stuck near the unstable point
        "schlogl": [{"low_share": 0.99}, {"ode_end": 250.0}],
        # stochastic cycles no larger than the damped ODE's
        "lotka_volterra": [{"amplitude": m["lotka_volterra"]["ode_amplitude"] * 2}],
        # a simulator failing many DSMTS points, or a suite that passes a wrong model
        "dsmts": [{"z_fail": 12}, {"fixed_ok": False}, {"wrong_model_fails": 3}],
    }
    for key, edits in failing.items():
        for edit in edits:
            record = {**m, key: {**m[key], **edit}}
            assert sum(not ok for ok, _ in checks(record, True)) == 1, (key, edit)
