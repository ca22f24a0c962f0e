"""Lesson 19 in quick mode: the post's clustering VAE on 8×8 digits with the k-means
baselines; the figure and metrics are written, and every check (quick and full) can fail."""

from tests.lessons.helpers import assert_fails, assert_figures, changed, lesson_record

NAME = "19_vae_clustering"


record = lesson_record(NAME)


def test_clustering_quick_run(record):
    out, m = record
    assert_figures(out, "clusters.png", "accuracy_by_step.png")
    assert m["datasets"] == ["digits 8x8"] and m["lambda"] == 2.5 and m["latent"] == 20
    assert m["binary_training"] is False  # grey images (binarised batches: tried, worse)
    assert m["kmeans_restarts"] == 10  # one k-means procedure: baselines and the means start
    r = m["digits 8x8"]
    assert r["lambda_used"] == 40.0  # 2.5 per source pixel, 4 × 4 of them in one 8 × 8 pixel
    for acc in (r["majority"], r["hungarian"], r["kmeans_pixels"]["majority"],
                r["kmeans_vae_codes"]["hungarian"]):
        assert 0.1 <= acc <= 1.0
    assert r["majority"] >= r["hungarian"]
    assert r["kmeans_pixels"]["majority"] > 0.5  # k-means is strong on 8×8 digits
    assert 2 <= r["clusters_used"] <= 10 and r["final_cat"] <= 0
    # the curve: the k-means init at the warm-up step, then the model's own clustering
    steps = sorted(int(s) for s in r["curve"])
    assert steps[0] == m["warm_steps"] and steps[-1] == m["steps"] and len(steps) >= 3
    assert r["curve"][str(m["steps"])] == r["majority"]


def test_every_check_can_fail(record):
    _, m = record
    r = ("digits 8x8",)
    assert_fails(NAME, changed(m, r + ("final_loss",), float("nan")), "the loss stayed finite")
    assert_fails(NAME, changed(m, r + ("majority",), 0.25), "at least 3× chance")
    # the full run's checks: the model must beat both k-means baselines by both measures
    full = changed(m, r + ("majority",), 0.9)
    full = changed(full, r + ("hungarian",), 0.9)
    for base in ("kmeans_pixels", "kmeans_vae_codes"):
        for how in ("majority", "hungarian"):
            assert_fails(NAME, changed(full, r + (base, how), 0.95),
                         f"{how} accuracy 90.0% beats {base}", quick=False)
    # ... on Fashion-MNIST too (both baselines are checked on every dataset of the run)
    fashion = changed(full, "datasets", ["digits 8x8", "Fashion-MNIST"])
    fashion = changed(fashion, "Fashion-MNIST", fashion["digits 8x8"])
    fashion = changed(fashion, ("Fashion-MNIST", "kmeans_vae_codes", "majority"), 0.95)
    assert_fails(NAME, fashion, "Fashion-MNIST: majority accuracy 90.0% beats kmeans_vae_codes",
                 quick=False)
