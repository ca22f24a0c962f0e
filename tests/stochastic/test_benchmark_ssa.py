"""The SSA benchmark runs on tiny sizes: its kernel means match the exact ones and, when
GillesPy2 is installed, GillesPy2's. Timings are not asserted (they depend on the machine and
on what else runs on it)."""

from tests.benchmark_script import load_benchmark


def test_benchmark_ssa_runs_on_tiny_sizes():
    bench = load_benchmark("ssa")
    r = bench.run(threads=(1,), repeats=1, n_kernel=400, n_twin=1, n_gillespy2=30,
                  names=("birth-death",))
    n = r["networks"]["birth-death"]
    assert n["mean_ok"] is True, n
    assert n["kernel"][1]["per_s"] > 0 and n["over_twin"] > 0
    if r["gillespy2"] is not None:
        assert n["gillespy2_agrees"] is True and isinstance(n["goal_met"], bool)
    text = bench.report(r)
    assert "birth-death" in text and "twin (pure Python)" in text
