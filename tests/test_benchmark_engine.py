"""The engine benchmark runs, and compares equal work: its gradient check passes.

Timings are not asserted: they depend on the machine and on what else runs on it.
"""

import math

from tests.benchmark_script import load_benchmark


def test_benchmark_engine_runs_and_gradients_match():
    engine = load_benchmark("engine")
    r = engine.run(repeats=1, warmup=1)

    assert r["grads_match"] is True
    assert 0 <= r["grad_error"]["tinygen"] <= 1.0
    for key in ("tinygen_ms", "numpy_ms", "tinygen_over_numpy"):
        assert math.isfinite(r[key]) and r[key] > 0, key
    if r["torch_ms"] is not None:
        assert r["torch_ms"] > 0 and r["tinygen_over_torch"] > 0
        assert r["grad_error"]["torch"] <= 1.0
    assert isinstance(r["goal_met"], bool)
    assert all(v is None or v >= 0 for v in r["peak_mib"].values())
    assert "tinygen / numpy" in engine.report(r) and "peak MiB" in engine.report(r)


def test_numpy_gradients_are_float32_and_finite():
    engine = load_benchmark("engine")
    params, x, y = engine.make_problem()
    grads = engine.numpy_grads([p.copy() for p in params], x, y)
    assert [g.shape for g in grads] == [p.shape for p in params]
    for g in grads:
        assert g.dtype == engine.np.float32
        assert engine.np.isfinite(g).all()
