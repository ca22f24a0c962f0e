"""The layers benchmark runs on tiny sizes and compares equal work: every path's output and
gradients agree with tinygen's (PyTorch's too where it imports; without it those columns are
left out). Timings are not asserted: they depend on the machine and on what else runs on it."""

import math

import pytest

from tests.benchmark_script import load_benchmark

TINY = {"batch": 3, "channels": 2, "size": 6, "features": 5, "steps": 4, "width": 3}
NAMES = ["BatchNorm2d", "BatchNorm2d", "BatchNorm1d", "LSTM", "LSTM", "conv2d"]


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("layers")


@pytest.mark.parametrize("use_torch", [True, False])
def test_benchmark_layers_runs_on_tiny_sizes(bench, use_torch):
    r = bench.run(repeats=1, warmup=0, use_torch=use_torch, **TINY)
    with_torch = r["torch_version"] is not None
    assert with_torch == (use_torch and bench.optional_torch() is not None)
    assert [c["name"] for c in r["cases"]] == NAMES
    assert r["all_agree"] is True, [c["error"] for c in r["cases"]]
    for c in r["cases"]:
        expected = {"tinygen", "composed"} | ({"torch"} if with_torch else set())
        assert set(c["ms"]) == set(c["min_ms"]) == set(c["peak_mib"]) == expected
        assert set(c["error"]) == expected - {"tinygen"}
        assert all(0 <= e <= 1 for e in c["error"].values())
        for ms in c["ms"].values():
            assert math.isfinite(ms) and ms > 0
        assert all(m is None or m >= 0 for m in c["peak_mib"].values())
        assert math.isfinite(c["speedup"]) and c["speedup"] > 0
        assert (c["over_torch"] is not None) == with_torch
        assert c["over_torch"] is None or c["over_torch"] > 0
    text = bench.report(r)
    assert "speed-up" in text and "DISAGREE" not in text
    assert ("not installed" in text) == (not with_torch)


def test_a_wrong_path_is_reported_as_disagreeing(bench, monkeypatch):
    twin = bench.standardize_twin
    monkeypatch.setattr(bench, "standardize_twin", lambda *a: twin(*a) * 1.01)
    steps = bench.batchnorm_steps((3, 2, 4, 4))
    case = bench.measure("BatchNorm2d", "x", steps, 1, 0, "wall")
    bench.add_peaks(case, steps)
    assert case["agree"] is False and case["error"]["composed"] > 1
    assert "SOME PATHS DISAGREE" in bench.report({
        "cases": [case], "all_agree": False, "threads": 1, "clock": "wall", "repeats": 1,
        "warmup": 0, "cpus": 1, "load": None, "torch_version": None})


def test_disagreement_measures_relative_error(bench):
    np = bench.np
    ref = [np.array([1.0, -2.0]), np.array([[4.0]])]
    assert bench.disagreement([a.copy() for a in ref], ref) == 0
    assert bench.disagreement([np.array([1.0, -2.0]), np.array([[4.004]])], ref) == \
        pytest.approx(0.5)
    assert bench.disagreement([np.array([1.0, np.nan]), ref[1]], ref) == math.inf
    assert bench.disagreement([np.array([1.0]), ref[1]], ref) == math.inf


def test_the_conv_reference_is_the_im2col_path(bench, monkeypatch):
    def refuse(*args):
        raise AssertionError("direct kernel called")

    for name in ("direct_forward", "direct_input_grad", "direct_weight_grad"):
        monkeypatch.setattr(bench.conv_kernels, name, refuse)
    old = bench.conv_kernels.DIRECT_MAX_OUT
    steps = bench.conv_steps(2, 3, 8, torch=None)
    assert len(steps["composed"]()) == 3  # im2col + GEMM only
    assert bench.conv_kernels.DIRECT_MAX_OUT == old  # restored
    with pytest.raises(AssertionError, match="direct kernel"):
        steps["tinygen"]()  # the direct kernels are what tinygen times
