"""Lesson 11 in quick mode: the energy view, zero-centred vs two-sided gradient penalty on 8
Gaussians; figures, metrics.json and the key numbers."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, run_lesson

NAME = "11_energy_view"

ZC, TS = "zero-centred at real", "two-sided (WGAN-GP)"


def test_lesson_11_energy_view_quick(tmp_path):
    m = run_lesson(NAME, tmp_path)
    assert_figures(tmp_path, "energy_snapshots.png", "energy_curves.png")
    assert m["seeds"] == [0]
    assert m["penalties"][ZC]["loss"] == "energy" and m["penalties"][TS]["loss"] == "wgan_gp"
    assert m["snapshots"][0] == 0 and m["snapshots"][-1] == m["steps"]
    s = m["summary"]
    assert set(s) == {ZC, TS}
    for name in (ZC, TS):
        assert set(s[name]) == {"modes", "hq", "grad_norm_real", "gap"}
        assert 6 <= s[name]["modes"]["mean"] <= 8
        assert 0 <= s[name]["hq"]["mean"] <= 1
    # the point of the lesson: zero-centred puts the data at flat bottoms of the energy,
    # the two-sided penalty keeps a slope of about one (or more) there
    assert s[ZC]["grad_norm_real"]["mean"] < 0.5 * s[TS]["grad_norm_real"]["mean"]
    assert s[TS]["grad_norm_real"]["mean"] > 0.5

    # the checks are live: a zero-centred energy as steep as the two-sided one, lost modes
    steep = changed(m, ("summary", ZC, "grad_norm_real", "mean"),
                    0.6 * s[TS]["grad_norm_real"]["mean"])
    assert_fails(NAME, steep, "flatter at the data")
    assert_fails(NAME, changed(m, ("summary", TS, "modes", "mean"), 5.0), "modes covered")
    assert_fails(NAME, changed(m, ("summary", ZC, "hq", "mean"), 0.79), "HQ", quick=False)
