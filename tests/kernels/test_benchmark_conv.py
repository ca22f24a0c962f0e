"""The conv benchmark runs on tiny sizes and compares equal work (its gradient check passes).
Timings are not asserted: they depend on the machine and on what else runs on it."""

import math

from tests.benchmark_script import load_benchmark


def test_benchmark_conv_runs_on_tiny_sizes():
    bench = load_benchmark("conv")
    r = bench.run(repeats=1, warmup=0, batch=2, channels=(2, 3), size=8, cnn_batch=3)
    assert r["grads_match"] is True, r["grad_error"]
    assert r["conv_gflop"] == 3 * 2 * 2 * 3 * 8 * 8 * 2 * 9 / 1e9
    for name in ("tinygen", "twin"):
        assert math.isfinite(r["conv"][name]["gflops"]) and r["conv"][name]["ms"] > 0
        assert r["cnn"][name]["ms"] > 0
    assert r["gemm_gflops"] > 0 and 0 < r["fraction_of_gemm"]
    if r["cnn_over_torch"] is not None:
        assert r["cnn_over_torch"] > 0 and "CNN step / PyTorch CPU" in r["goals"]
    for value, goal, met, sign in r["goals"].values():
        assert isinstance(met, bool) and goal > 0 and value > 0 and sign in ("<=", ">=")
    for mib in r["cnn_peak_mib"].values():
        assert mib is None or mib >= 0
    f = r["floors"]
    assert f["conv_gemms_ms"] > 0 and f["conv_gemms_fraction"] > 0
    assert 0 < f["cnn_gemms_1thread_ms"] and 0 < f["cnn_best_ms"] <= f["cnn_1thread_ms"]
    text = bench.report(r)
    assert "tinygen" in text and "GEMM" in text and "CNN MiB" in text
    assert "floor of im2col + BLAS" in text
    assert ("floor of the CNN step" in text) == (f["cnn_threads"] > 1)
