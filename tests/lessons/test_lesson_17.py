"""Lesson 17 in quick mode: f-VAE vs a plain VAE vs Glow on 8×8 digits in bits/dim; figures,
metrics, and that every check fails on a doctored record."""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, run_lesson

NAME = "17_f_vae"
DATA = "digits 8×8"
MODELS = ("plain VAE", "f-VAE, no flow", "f-VAE", "Glow")


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
    # the flow is the only difference between "f-VAE, no flow" and "f-VAE"
    assert d["models"]["f-VAE"]["params"] > d["models"]["f-VAE, no flow"]["params"]
    assert m["published_glow_28x28_full_mnist"] == 1.05


def test_lesson_17_checks_can_fail(record):
    m, _ = record
    d = ("datasets", DATA)
    # an f-VAE no better than the plain VAE, or better by less than 2 s.e.
    assert_fails(NAME, changed(m, d + ("elbo_diff",), [0.01, 0.005]),
                 "the f-VAE's bound")
    assert_fails(NAME, changed(m, d + ("elbo_diff",), [-0.009, 0.005]),
                 "the f-VAE's bound")
    for kind in ("plain VAE", "f-VAE"):
        v = m["datasets"][DATA]["models"][kind]
        assert_fails(NAME, changed(m, d + ("models", kind, "is_bits"),
                                   v["elbo_is_images"] + 0.01),
                     f"{kind}: the importance-sampled estimate")
