"""The word2vec benchmark runs on a tiny corpus with tiny evaluation sets (with gensim when
it is installed). Timings are not asserted: they depend on the machine and its load."""

import importlib.util
import math
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "word2vec.py"


def _load():
    spec = importlib.util.spec_from_file_location("benchmark_word2vec", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_word2vec_runs_on_a_tiny_corpus(capsys):
    bench = _load()
    rng = np.random.default_rng(0)
    sentences = [[f"w{i}" for i in rng.integers(0, 30, 10)] for _ in range(200)]
    sets = {"wordsim353": [("w1", "w2", 3.0), ("w3", "w4", 1.0), ("w5", "w6", 2.0),
                           ("w1", "zzz", 5.0)],
            "simlex999": [("w7", "w8", 1.0), ("w9", "w10", 4.0), ("w2", "w3", 2.0)],
            "analogies": [("w1", "w2", "w3", "w4")]}
    r = bench.run(sentences, epochs=1, seeds=1, sets=sets)
    libs = set(r["quality"])
    assert "tinygen" in libs and libs <= {"tinygen", "gensim"}
    for lib in libs:
        assert r["threads1"][lib] > 0 and r["threads2"][lib] > 0
        assert all(math.isfinite(v) for v in r["quality"][lib].values())
    if "gensim" in libs:
        assert isinstance(r["speed_ok"], bool) and isinstance(r["quality_ok"], bool)
    bench.report(r, 1, 1, True)
    assert "words/s" in capsys.readouterr().out
