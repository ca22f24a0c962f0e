"""tinygen's word2vec kernel against gensim 4.4.0: speed and quality with identical settings on
the same corpus.

Corpus: the Brown corpus (all 57,340 sentences, lower-cased). Settings, the same for both:
skip-gram (``--cbow``: CBOW with the mean of the context, gensim's default), dim 100, window
5, 5 negatives from unigram^0.75, sample 1e-3, min_count 5, alpha 0.025 → 1e-4 over
``--epochs`` epochs, and gensim's hard-wired rule that a sigmoid logit with |z| ≥ 6 gives no
update (tinygen's ``max_exp=6``; ``--exact`` runs tinygen with the exact step instead). Both
libraries draw their own random numbers, so the comparison is of distributions: ``--seeds``
runs each; on Brown WS-353 ρ has a spread (SD) of about 0.02 across seeds for either library,
as large as the goal, so judge quality on the mean of 3 seeds or more.

**Speed**: words per second (words of the vocabulary, all epochs), one thread (tinygen's
deterministic serial kernel, gensim ``workers=1``) over the CPU time of the training call
(the process's, all its threads: on a shared machine the wall time measures the load more
than the code), timed seed by seed in turns; and two threads (tinygen's Hogwild ``prange``,
gensim ``workers=2``) over the wall time, one epoch each (``NUMBA_NUM_THREADS`` must allow
2). **Quality**: Spearman's ρ on WordSim-353 and SimLex-999 and the accuracy on the Google
analogies, each over the items whose words are in the vocabulary, computed by the same code
(:class:`tinygen.models.word2vec.WordVectors`) for both; means over seeds.

Goals: tinygen ≥ 1.0× gensim's words/s on one thread; mean Spearman within 0.02 of gensim's
on both sets. Without gensim (the ``ref`` extra) only tinygen's numbers are printed.

Run ``python benchmarks/word2vec.py [--epochs 5] [--seeds 3] [--cbow]``, or import it and call
:func:`run` (a small corpus makes a smoke test).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

import numba

from tinygen.data import load_brown_pos, load_google_analogies, load_simlex999, load_wordsim353
from tinygen.models.word2vec import Word2Vec, WordVectors

SPEED_GOAL = 1.0
SPEARMAN_GAP = 0.02
SETTINGS = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, alpha=0.025,
                min_alpha=1e-4)
GENSIM_MAX_EXP = 6.0  # gensim's hard-wired MAX_EXP: a sigmoid logit with |z| >= 6 is skipped


def optional_gensim():
    """gensim if it imports, else None."""
    try:
        import gensim
    except Exception:  # noqa: BLE001 - any failure means "no reference"
        return None
    return gensim


def brown_sentences() -> list[list[str]]:
    """Every Brown sentence (train, validation and test: word vectors are unsupervised),
    lower-cased."""
    return [[w.lower() for w in words] for part in load_brown_pos() for words, _ in part]


def evaluate(vectors: WordVectors, sets: dict) -> dict:
    """Spearman on the pair sets and accuracy on the analogies."""
    out = {name: vectors.evaluate_pairs(pairs)["spearman"]
           for name, pairs in sets.items() if name != "analogies"}
    out["analogies"] = vectors.evaluate_analogies(sets["analogies"])["accuracy"]
    return out


def _clock(threads: int):
    """CPU time of the process (all its threads) for one thread — steady on a shared machine,
    where the wall time depends on what else runs; the wall time for two."""
    return time.process_time if threads == 1 else time.perf_counter


def train_tinygen(sentences, sg: bool, epochs: int, seed: int, threads: int,
                  max_exp: float = GENSIM_MAX_EXP) -> tuple:
    """(vectors, words/s) of one tinygen run; ``threads`` 1 is the serial kernel."""
    model = Word2Vec(sentences, sg=sg, cbow_mean=True, epochs=epochs, seed=seed,
                     parallel=threads > 1, compute_loss=False, max_exp=max_exp, **SETTINGS)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    clock = _clock(threads)
    t0 = clock()
    model.train()
    seconds = clock() - t0
    return model.vectors, float(int(model.offsets[-1]) * epochs / seconds)


def train_gensim(gensim, sentences, sg: bool, epochs: int, seed: int, threads: int) -> tuple:
    """(vectors, words/s) of one gensim run with the same settings."""
    s = SETTINGS
    model = gensim.models.Word2Vec(vector_size=s["dim"], window=s["window"],
                                   negative=s["negative"], sample=s["sample"],
                                   min_count=s["min_count"], alpha=s["alpha"],
                                   min_alpha=s["min_alpha"], sg=int(sg), cbow_mean=1, hs=0,
                                   workers=threads, epochs=epochs, seed=seed)
    model.build_vocab(sentences)
    clock = _clock(threads)
    t0 = clock()
    model.train(sentences, total_examples=model.corpus_count, epochs=epochs)
    seconds = clock() - t0
    words = sum(model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key)
    return WordVectors(model.wv.index_to_key, model.wv.vectors), float(words * epochs / seconds)


def warm_up(sg: bool) -> None:
    """Compile the kernels (serial and parallel) on a few sentences."""
    for threads in (1, 2):
        train_tinygen([["a", "b", "c", "a"]] * 20, sg, 1, 0, threads)


def run(sentences: Sequence[Sequence[str]] | None = None, epochs: int = 5, seeds: int = 3,
        sg: bool = True, sets: dict | None = None, use_gensim: bool = True,
        max_exp: float = GENSIM_MAX_EXP) -> dict:
    """Time and evaluate both libraries; returns the numbers and the verdicts."""
    sentences = brown_sentences() if sentences is None else sentences
    sets = sets or {"wordsim353": load_wordsim353(), "simlex999": load_simlex999(),
                    "analogies": [q for qs in load_google_analogies().values() for q in qs]}
    gensim = optional_gensim() if use_gensim else None
    warm_up(sg)
    libs = ["tinygen"] + (["gensim"] if gensim else [])
    speed = {lib: [] for lib in libs}
    quality = {lib: [] for lib in libs}
    for seed in range(seeds):
        for lib in libs:
            vectors, wps = (train_tinygen(sentences, sg, epochs, seed, 1, max_exp)
                            if lib == "tinygen"
                            else train_gensim(gensim, sentences, sg, epochs, seed, 1))
            speed[lib].append(wps)
            quality[lib].append(evaluate(vectors, sets))
            print(f"  seed {seed} {lib:8s} {wps:9,.0f} words/s  " + "  ".join(
                f"{k} {v:.3f}" for k, v in quality[lib][-1].items()), flush=True)
    two = {"tinygen": train_tinygen(sentences, sg, 1, 0, 2, max_exp)[1]}
    if gensim:
        two["gensim"] = train_gensim(gensim, sentences, sg, 1, 0, 2)[1]
    result = {"threads1": {lib: statistics.median(v) for lib, v in speed.items()},
              "threads2": two,
              "quality": {lib: {k: statistics.mean(q[k] for q in qs) for k in qs[0]}
                          for lib, qs in quality.items()},
              "numba_threads": numba.config.NUMBA_NUM_THREADS}
    if gensim:
        q = result["quality"]
        result["speed_ratio"] = result["threads1"]["tinygen"] / result["threads1"]["gensim"]
        result["speed_ok"] = bool(result["speed_ratio"] >= SPEED_GOAL)
        result["quality_gap"] = {k: float(q["tinygen"][k] - q["gensim"][k])
                                 for k in ("wordsim353", "simlex999")}
        result["quality_ok"] = all(abs(g) <= SPEARMAN_GAP
                                   for g in result["quality_gap"].values())
    return result


def report(r: dict, epochs: int, seeds: int, sg: bool) -> None:
    print(f"\nword2vec ({'skip-gram' if sg else 'CBOW mean'}), Brown, {epochs} epochs, "
          f"{seeds} seeds; words/s (1 thread: per CPU second, median over seeds; 2 threads: per "
          f"wall second), quality (mean over seeds)")
    print(f"{'':10s}{'1 thread':>12s}{'2 threads':>12s}{'WS-353 ρ':>10s}{'SimLex ρ':>10s}"
          f"{'analogy':>9s}")
    for lib, q in r["quality"].items():
        print(f"{lib:10s}{r['threads1'][lib]:12,.0f}{r['threads2'][lib]:12,.0f}"
              f"{q['wordsim353']:10.3f}{q['simlex999']:10.3f}{q['analogies']:9.3f}")
    if r["numba_threads"] < 2:
        print(f"(NUMBA_NUM_THREADS={r['numba_threads']}: tinygen's '2 threads' ran on 1)")
    if "speed_ratio" in r:
        print(f"speed: tinygen/gensim = {r['speed_ratio']:.2f}× on 1 thread (goal ≥ "
              f"{SPEED_GOAL}): {'PASS' if r['speed_ok'] else 'MISS'}")
        gaps = ", ".join(f"{k} {v:+.3f}" for k, v in r["quality_gap"].items())
        print(f"quality: Spearman tinygen − gensim: {gaps} (goal within ±{SPEARMAN_GAP}): "
              f"{'PASS' if r['quality_ok'] else 'MISS'}")
    else:
        print("gensim is not installed (pip install 'tinygen[ref]'): no reference run")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--cbow", action="store_true", help="CBOW (mean) instead of skip-gram")
    p.add_argument("--exact", action="store_true",
                   help="tinygen takes the exact step on every logit (no gensim MAX_EXP skip)")
    a = p.parse_args(argv)
    max_exp = float("inf") if a.exact else GENSIM_MAX_EXP
    print(f"tinygen: {'exact steps' if a.exact else f'gensim rule, max_exp = {max_exp:g}'}")
    report(run(epochs=a.epochs, seeds=a.seeds, sg=not a.cbow, max_exp=max_exp), a.epochs,
           a.seeds, not a.cbow)
    return 0


if __name__ == "__main__":
    sys.exit(main())
