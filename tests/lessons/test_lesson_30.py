"""Lesson 30 in quick mode: MALA vs ULA on a known density, an energy model trained with
Langevin negatives, MEG and latent MALA; the figures and metrics are written and every check
can fail."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "30_energy_sampling"


run = lesson_record(NAME)


def test_figures_and_numbers(run):
    out, m = run
    assert_figures(out, "mala_vs_ula.png", "energy_model.png", "meg.png")
    acc = list(m["acceptance_vs_step"].values())
    assert all(a >= b for a, b in zip(acc, acc[1:]))  # smaller steps are accepted more
    assert acc[0] > 0.95
    assert m["ebm"]["spectral"] is True
    assert 0.0 < m["meg"]["latent_acceptance"] <= 1.0


def test_checks_can_fail(run):
    _, m = run
    assert_fails(NAME, changed(m, "mala_acceptance", 0.2), "MALA's acceptance")
    mala = next(k for k in m["kl_known_target"] if k.startswith("MALA"))
    floor = m["kl_known_target"]["exact draws"]
    assert_fails(NAME, changed(m, ("kl_known_target", mala), 2 * floor + 0.05),
                 "MALA matches the known density")
    large = f"ULA ε={m['ula_steps'][1]}"
    assert_fails(NAME, changed(m, ("kl_known_target", large), m["kl_known_target"][mala]),
                 "is biased")
    assert_fails(NAME, changed(m, ("ebm", "held_out_ll"), m["ebm"]["untrained_ll"]),
                 "beats its untrained self")
    assert_fails(NAME, changed(m, ("ebm", "held_out_ll"), m["ebm"]["gaussian_ll"]),
                 "beats a single Gaussian", quick=False)
    kl = m["meg"]["kl_to_model"]
    spread = next(k for k in kl if k.startswith("G, λ =") and "= 0" not in k)
    assert_fails(NAME, changed(m, ("meg", "kl_to_model", spread), kl["G, λ = 0"] + 1),
                 "entropy term spreads G")
