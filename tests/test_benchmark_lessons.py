"""The lesson timer runs a lesson and reports what it measured; its verdict reads the load.

Timings are not asserted: they depend on the machine and on what else runs on it.
"""

import pytest

from tests.benchmark_script import load_benchmark


def test_times_a_quick_lesson_and_its_worker_processes():
    lessons = load_benchmark("lessons")
    (r,) = lessons.run(["01"], quick=True)
    assert r["lesson"] == "01_autodiff" and r["quick"] and r["exit_status"] == 0
    assert r["wall_s"] > 0 and r["cpu_s"] > 0  # the child's CPU time is seen
    assert "passed" in lessons.row(r)


def test_keeps_the_outputs_when_asked(tmp_path):
    lessons = load_benchmark("lessons")
    (r,) = lessons.run(["01"], quick=True, keep=tmp_path)
    assert r["exit_status"] == 0 and (tmp_path / "01_autodiff" / "metrics.json").is_file()


def test_verdicts():
    lessons = load_benchmark("lessons")
    base = {"lesson": "12_gan_qp", "quick": False, "cpu_s": 200.0, "exit_status": 0,
            "load_before": 0.3, "load_after": 0.9}
    assert lessons.row({**base, "wall_s": 150.0}).endswith("≤ 180 s: met |")
    assert lessons.row({**base, "wall_s": 200.0}).endswith("NOT MET |")
    assert "inflated" in lessons.row({**base, "wall_s": 150.0, "load_after": 7.0})
    assert "FAILED (1)" in lessons.row({**base, "wall_s": 150.0, "exit_status": 1})
    assert "timeout" in lessons.row({**base, "wall_s": 9.0, "exit_status": None})
    with pytest.raises(SystemExit, match="no lesson numbered"):
        lessons.lesson_files(["99"])
