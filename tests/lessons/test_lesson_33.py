"""Lesson 33 in quick mode: MLM and MAE pretraining of a small Transformer encoder on the
reviews, the measured inconsistency, step costs and four fine-tuning starts; the figure and
metrics are written, and every check fails for a doctored record (the full-run checks on a
full-run record)."""

import pytest

from tests.lessons.helpers import assert_fails, assert_figures, changed, failures, run_lesson

NAME = "33_mlm_dropout"


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("lesson33")
    m = run_lesson(NAME, out)
    assert_figures(out, "mlm_dropout.png")
    return m


def test_lesson_33_quick_metrics(record):
    assert record["text_reviews"] == 800 and record["labelled_reviews"] == 300
    assert set(record["test_accuracy"]["mean"]) == {"none", "mlm", "mlm_corrected", "mae"}
    assert all(0.3 < a < 1 for a in record["test_accuracy"]["mean"].values())
    for part in ("step_seconds", "encoder_seconds"):
        assert len(record[part]["mlm"]) == len(record[part]["mae"]) == 4
        assert record[part]["rates"] == [0.15, 0.3, 0.5, 0.75]
    assert 0 < record["masked_accuracy"]["unigram"] < 0.2
    assert record["gap"]["noise"] > 0
    assert record["rate"] == 0.15 and record["mae_rate"] == 0.5  # MAE's own rate
    assert all(record["pretrain_cpu_seconds"][s] > 0 for s in ("mlm", "mae"))


def test_lesson_33_checks_can_fail(record):
    for style in ("mlm", "mae"):
        assert_fails(NAME, changed(record, ("pretrain_loss", style, "last"),
                                   record["pretrain_loss"][style]["first"] - 0.4),
                     f"{style.upper()} pretraining loss falls")
    assert_fails(NAME, changed(record, ("gap", "mixed"), record["gap"]["clean"] + 0.01),
                 "nearer the noisy average")
    full = changed(record, ("masked_accuracy", "mlm"), 0.2)
    full = changed(full, ("masked_accuracy", "mae"), 0.2)
    full = changed(full, ("masked_accuracy", "unigram"), 0.05)
    full = changed(full, ("test_accuracy", "mean"),
                   {"none": 0.7, "mlm": 0.75, "mlm_corrected": 0.74, "mae": 0.76})
    full = changed(full, ("step_seconds", "mae"), [0.2, 0.15, 0.1, 0.1])
    full = changed(full, ("step_seconds", "mlm"), [0.2, 0.2, 0.2, 0.2])
    full = changed(full, ("encoder_seconds", "mae"), [0.1, 0.08, 0.05, 0.03])
    full = changed(full, ("encoder_seconds", "mlm"), [0.1, 0.1, 0.1, 0.1])
    assert failures(NAME, full, quick=False) == []
    for style in ("mlm", "mae"):
        assert_fails(NAME, changed(full, ("masked_accuracy", style), 0.09),
                     f"{style.upper()} predicts masked characters", quick=False)
        assert_fails(NAME, changed(full, ("test_accuracy", "mean", style), 0.69),
                     f"{style.upper()} pretraining beats no pretraining", quick=False)
    assert_fails(NAME, changed(full, ("step_seconds", "mae"), [0.2, 0.15, 0.21, 0.1]),
                 "MAE step is cheaper", quick=False)  # p = 0.5 is judged, not the last rate
    assert_fails(NAME, changed(full, ("encoder_seconds", "mae"), [0.1, 0.08, 0.07, 0.03]),
                 "encoder part is at least 1.5", quick=False)
    # whether the correction helps is reported, not checked
    assert failures(NAME, changed(full, ("test_accuracy", "mean", "mlm_corrected"), 0.0),
                    quick=False) == []
