"""Lesson 17 in quick mode: f-VAE vs a plain VAE vs Glow on 8×8 digits in bits/dim; figures,
metrics, and that every check fails on a doctored record."""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, run_lesson

NAME = "17_f_vae"
DATA = "digits 8×8"
MODELS = ("plain VAE", "f-VAE", "f-VAE, σ(x)", "Glow")
CHECKED = ("f-VAE − plain VAE", "f-VAE, σ(x) − plain VAE")


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("lesson17")
    return run_lesson(NAME, out), out


def test_lesson_17_writes_its_figures_and_metrics(record):
    m, out = record
    assert_figures(out, "training_curves.png", "samples.png")
    assert set(m["datasets"]) == {DATA}
    d = m["datasets"][DATA]
    assert d["levels"] == 17 and d["side"] == 8 and d["test_images"] == 360
    assert set(d["models"]) == set(MODELS)
    for kind in MODELS:
        v = d["models"][kind]
        value = v["exact"] if kind == "Glow" else v["elbo"]
        # below the uniform density's log2 17 = 4.09 bits/dim (plus slack), above zero
        assert 0 < value < 4.09 + 0.5 and v["params"] > 1000 and v["cpu_seconds"] > 0
    for kind in MODELS[:3]:
        v = d["models"][kind]
        assert 0 < v["sigma2"] < 1 and v["elbo_se"] > 0
    # the flow is the only difference between the plain VAE and "f-VAE, σ(x)"
    assert d["models"]["f-VAE, σ(x)"]["params"] > d["models"]["plain VAE"]["params"]
    assert tuple(m["checked_pairs"]) == CHECKED
    assert set(d["diffs"]) == {*CHECKED, "f-VAE − f-VAE, σ(x)"}
    for pair in d["diffs"].values():
        assert pair["elbo"][1] > 0 and pair["is"][1] > 0
    assert m["published_glow_28x28_full_mnist"] == 1.05


def test_lesson_17_checks_can_fail(record):
    m, _ = record
    d = ("datasets", DATA)
    # an f-VAE no better than the plain VAE, or better by less than 2 s.e.
    for pair, kind in zip(CHECKED, ("f-VAE", "f-VAE, σ(x)")):
        for doctored in ([0.01, 0.005], [-0.009, 0.005]):
            assert_fails(NAME, changed(m, d + ("diffs", pair, "elbo"), doctored),
                         f"the {kind}'s bound")
    for kind in MODELS[:3]:
        v = m["datasets"][DATA]["models"][kind]
        assert_fails(NAME, changed(m, d + ("models", kind, "is_bits"),
                                   v["elbo_is_images"] + 0.01),
                     f"{kind}: the importance-sampled estimate")
