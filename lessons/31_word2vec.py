# %% [markdown]
# # Lesson 31: word2vec — skip-gram and CBOW on English and Chinese
#
# A word is known by the company it keeps. word2vec gives every word w two vectors, an
# input v_w and an output u_w, and trains them so that h·u_t is large for a word t that
# occurs near the input h and small for random words (**negative sampling**):
#
#     loss = −log σ(h·u_t) − Σ_{n=1..k} log σ(−h·u_n),    u_1 … u_k drawn ∝ count^0.75
#
# * **skip-gram** (SGNS): h = v_c for one context word c near t;
# * **CBOW**: h = Σ_c v_c, the *sum* of the 2·window context vectors, as in the Keras post
#   ("【不可思议的Word2Vec】6. Keras版的Word2Vec"), which also swaps the sigmoids for a
#   **random softmax**, −log softmax(h·u_t, h·u_1, …, h·u_k)₀: a softmax over the target and
#   the sampled words only.
#
# The tricks that make it work, all in the kernel: **subsampling** (a word of frequency f
# is kept with probability √(t/f) + t/f, the post's formula, t = 10⁻³ here), a **dynamic
# window** (the effective window is drawn in 1 … 5, so near words weigh more), and a
# **linearly decaying** learning rate. Training is SGD one example at a time in a Numba
# kernel; a twin written with tinygen's Tensor ops (embedding lookups, dot products, the
# loss, autograd and the SGD optimiser) on the same random draws gives the same weights.
#
# **Word vectors predate word2vec.** The minimum-entropy post on libraries makes the point
# that the idea is old: a library shelves books by subject so that similar books sit near
# each other — a position is a vector of meaning. Counting did it long before 2013: take
# the co-occurrence counts of words, turn them into positive PMI and keep the top singular
# directions (LSA, 1990; SGNS implicitly factorises a shifted PMI matrix, Levy & Goldberg
# 2014). We train that **PPMI-SVD** baseline on the same corpus and put it in the table.
#
# **What we train.** The Brown corpus (1.14 M words, lower-cased, min_count 5: 14,221
# words) with SGNS, CBOW-sum and CBOW-random-softmax (dim 100, window 5, 5 negatives, 5
# epochs), scored on WordSim-353 and SimLex-999 (Spearman ρ over the pairs in the
# vocabulary) and the Google analogies (3CosAdd, questions in the vocabulary), next to
# PPMI-SVD and random vectors (the mean of five Gaussian draws); and People's Daily
# (1.12 M words of January 1998) with SGNS and CBOW. A second measure needs no word lists
# and works in both languages: **POS agreement**, the share of a frequent word's 10 nearest
# neighbours that have its usual part of speech (the corpora are tagged). gensim 4.4.0 with
# the same settings joins the table when it is installed (the checks never use it).
#
# **Sizes.** The published SGNS numbers come from billions of words (Mikolov et al. 2013:
# 61 % on the analogies with 783 M words, 300 dimensions); Brown is a thousand times
# smaller, so expect ρ ≈ 0.2–0.3 on WordSim-353 and a few percent of analogies. `--quick`
# (for the tests): 15,000 Brown and 6,000 People's Daily sentences, 3 epochs, dim 32,
# min_count 10, alpha 0.05; too few words for the similarity sets (about 120 WordSim pairs
# are in its vocabulary and ρ is noise), so quick runs judge POS agreement only.
#
# Exercise: sgns_gradient (`tinygen exercise start sgns_gradient`, then
# `tinygen exercise check sgns_gradient`).

# %%
import time
from collections import Counter, defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from tinygen import lesson
from tinygen.data import (load_brown_pos, load_google_analogies, load_peoples_daily_pos,
                          load_simlex999, load_wordsim353)
from tinygen.kernels.cpu import word2vec as kernel
from tinygen.models import word2vec as w2v

args = lesson.parse("31_word2vec", "SGNS and CBOW on Brown and People's Daily")
started = time.perf_counter()
QUICK = args.quick
EPOCHS, DIM, MIN_COUNT, ALPHA = (3, 32, 10, 0.05) if QUICK else (5, 100, 5, 0.025)
SETTINGS = dict(dim=DIM, window=5, negative=5, sample=1e-3, min_count=MIN_COUNT, alpha=ALPHA,
                min_alpha=1e-4, epochs=EPOCHS, seed=args.seed)


def tagged(parts, limit, lower):
    """Sentences and their tags, all splits together (word vectors are unsupervised)."""
    items = [item for part in parts for item in part][:limit]
    return ([[w.lower() if lower else w for w in words] for words, _ in items],
            [tags for _, tags in items])


def usual_tag(sentences, tags, coarse):
    """Each word's most frequent coarse tag."""
    seen = defaultdict(Counter)
    for words, ts in zip(sentences, tags):
        for w, t in zip(words, ts):
            seen[w][coarse(t)] += 1
    return {w: c.most_common(1)[0][0] for w, c in seen.items()}


brown, brown_tags = tagged(load_brown_pos(), 15_000 if QUICK else None, lower=True)
daily, daily_tags = tagged(load_peoples_daily_pos(), 6_000 if QUICK else None, lower=False)
brown_pos = usual_tag(brown, brown_tags, lambda t: t.split("-")[0][:2])
daily_pos = usual_tag(daily, daily_tags, lambda t: t[:1])
analogies = [q for qs in load_google_analogies().values() for q in qs]
pairs = {"wordsim353": load_wordsim353(), "simlex999": load_simlex999()}
print(f"Brown: {len(brown):,} sentences, {sum(map(len, brown)):,} words; People's Daily: "
      f"{len(daily):,} sentences, {sum(map(len, daily)):,} words")

# %% [markdown]
# ## 1. The kernel and its twin
#
# The twin replays the kernel's random draws (subsampling, window, negatives, from one
# counter-based stream per sentence) and takes one autograd SGD step per example. On a few
# Brown sentences in float64 the two must end with the same weights.

# %%
small = w2v.Word2Vec(brown[:200], dim=8, min_count=2, sample=1e-2, seed=args.seed)
tokens, offsets = small.tokens[:small.offsets[6]], small.offsets[:7]
start_in = np.random.default_rng(0).normal(0, 0.3, small.w_in.shape)
start_out = np.random.default_rng(1).normal(0, 0.3, small.w_out.shape)
same = dict(sg=True, mean=False, window=5, negative=5, alpha=0.1, min_alpha=1e-4, done=0,
            total=int(offsets[-1]), seed=args.seed, first=0)
k_in, k_out = start_in.copy(), start_out.copy()
kernel.train_chunk(k_in, k_out, tokens, offsets, small.keep, small.cum, loss=kernel.SIGMOID,
                   parallel=False, **same)
t_in, t_out, _ = w2v.twin_train(start_in, start_out, tokens, offsets, small.keep, small.cum,
                                loss="sigmoid", **same)
twin_diff = float(max(np.abs(k_in - t_in).max(), np.abs(k_out - t_out).max()))
moved = float(np.abs(k_in - start_in).max())
print(f"6 sentences ({len(tokens)} words): largest weight change {moved:.3f}, "
      f"kernel − twin {twin_diff:.1e}")

# %% [markdown]
# ## 2. Brown: SGNS, CBOW, the post's random softmax, and a count-based baseline

# %%
def scores(vectors, pos_labels, frequent):
    out = {name: vectors.evaluate_pairs(p)["spearman"] for name, p in pairs.items()}
    result = vectors.evaluate_analogies(analogies)
    out.update(analogy=result["accuracy"], analogy_used=result["used"],
               pos_agreement=w2v.neighbour_agreement(vectors, pos_labels, frequent))
    return out


variants = {"sgns": dict(sg=True), "cbow_sum": dict(sg=False),
            "cbow_softmax": dict(sg=False, loss="softmax")}
models, brown_scores, timing = {}, {}, {}
for name, extra in variants.items():
    t0 = time.perf_counter()
    models[name] = w2v.Word2Vec(brown, **SETTINGS, **extra)
    history = models[name].train()
    timing[name] = time.perf_counter() - t0
    print(f"{name:13s} loss {history[0]['loss']:.3f} → {history[-1]['loss']:.3f}, "
          f"{timing[name]:.1f} s")
vocab = models["sgns"].vocab
frequent = [w for w in vocab.words[:2000]]
for name, model in models.items():
    brown_scores[name] = scores(model.vectors, brown_pos, frequent)
t0 = time.perf_counter()
svd = w2v.WordVectors(vocab.words, w2v.cooccurrence_svd(
    models["sgns"].tokens, models["sgns"].offsets, len(vocab), 5, DIM, args.seed))
brown_scores["ppmi_svd"] = scores(svd, brown_pos, frequent)
timing["ppmi_svd"] = time.perf_counter() - t0
def random_vectors(words, draws=5):
    """Untrained stand-ins: ``draws`` Gaussian matrices (one draw's ρ varies by ±0.06)."""
    rng = np.random.default_rng(args.seed)
    return [w2v.WordVectors(words, rng.normal(size=(len(words), DIM))) for _ in range(draws)]


def mean_scores(runs):
    return {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}


brown_scores["random"] = mean_scores([scores(r, brown_pos, frequent)
                                      for r in random_vectors(vocab.words)])
try:
    import gensim
except ImportError:
    gensim = None
if gensim is not None and not QUICK:
    g = gensim.models.Word2Vec(brown, vector_size=DIM, window=5, negative=5, sample=1e-3,
                               min_count=5, alpha=0.025, min_alpha=1e-4, sg=1, epochs=EPOCHS,
                               seed=args.seed, workers=1)
    brown_scores["gensim_sgns"] = scores(w2v.WordVectors(g.wv.index_to_key, g.wv.vectors),
                                         brown_pos, frequent)
elif gensim is None:
    print("gensim is not installed: no gensim column (pip install 'tinygen[ref]')")
print(f"\n{'':14s}{'WS-353 ρ':>10s}{'SimLex ρ':>10s}{'analogy':>9s}{'POS agr.':>10s}")
for name, s in brown_scores.items():
    print(f"{name:14s}{s['wordsim353']:10.3f}{s['simlex999']:10.3f}{s['analogy']:9.3f}"
          f"{s['pos_agreement']:10.3f}")
print(f"({brown_scores['sgns']['analogy_used']:,} of {len(analogies):,} analogy questions "
      f"have all four words in the vocabulary)")

# %%
sgns = models["sgns"].vectors
probe = [w for w in ("king", "money", "church", "war", "monday", "water", "good")
         if w in sgns]
brown_neighbours = {w: [n for n, _ in sgns.most_similar(w, 6)] for w in probe}
for w, near in brown_neighbours.items():
    print(f"{w:>8s}: {', '.join(near)}")

# %% [markdown]
# ## 3. People's Daily: the same models on Chinese words

# %%
daily_models = {name: w2v.Word2Vec(daily, **SETTINGS, **extra)
                for name, extra in variants.items() if name != "cbow_softmax"}
for model in daily_models.values():
    model.train()
daily_frequent = list(daily_models["sgns"].vocab.words[:2000])
daily_scores = {name: w2v.neighbour_agreement(m.vectors, daily_pos, daily_frequent)
                for name, m in daily_models.items()}
daily_scores["random"] = float(np.mean([
    w2v.neighbour_agreement(r, daily_pos, daily_frequent)
    for r in random_vectors(daily_models["sgns"].vocab.words)]))
print("POS agreement of the 10 nearest neighbours:",
      ", ".join(f"{k} {v:.3f}" for k, v in daily_scores.items()))
dv = daily_models["sgns"].vectors
daily_neighbours = {w: [n for n, _ in dv.most_similar(w, 6)]
                    for w in ("中国", "经济", "北京", "发展", "人民", "一月") if w in dv}
for w, near in daily_neighbours.items():
    print(f"{w}: {'、'.join(near)}")

# %% [markdown]
# ## Figures
#
# Left: a PCA of the SGNS vectors of a few semantic groups (only words in the vocabulary);
# the groups fall into separate regions. Right: the scores of every model on Brown.

# %%
groups = {"days": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                   "sunday"],
          "numbers": ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"],
          "family": ["father", "mother", "son", "daughter", "brother", "sister", "wife",
                     "husband"],
          "nations": ["france", "germany", "england", "russia", "china", "japan", "italy"],
          "colours": ["red", "green", "blue", "white", "black", "yellow", "brown"]}
shown = {g: [w for w in ws if w in sgns] for g, ws in groups.items()}
words = [w for ws in shown.values() for w in ws]
x = sgns.unit[[sgns.index[w] for w in words]]
x = x - x.mean(0)
_, _, vt = np.linalg.svd(x, full_matrices=False)
xy = x @ vt[:2].T
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5.5))
i = 0
for g, ws in shown.items():
    ax1.scatter(xy[i:i + len(ws), 0], xy[i:i + len(ws), 1], label=g)
    for w, (a, b) in zip(ws, xy[i:i + len(ws)]):
        ax1.annotate(w, (a, b), fontsize=8)
    i += len(ws)
ax1.set(title="SGNS on Brown: PCA of five semantic groups", xlabel="PC 1", ylabel="PC 2")
ax1.legend(fontsize=8)
names = list(brown_scores)
measures = ["wordsim353", "simlex999", "analogy", "pos_agreement"]
for j, measure in enumerate(measures):
    ax2.bar(np.arange(len(names)) + 0.2 * j - 0.3, [brown_scores[n][measure] for n in names],
            width=0.2, label=measure)
ax2.set_xticks(np.arange(len(names)), names, rotation=20)
ax2.axhline(0, color="k", lw=0.5)
ax2.set(title="Brown: similarity ρ, analogy accuracy, POS agreement")
ax2.legend(fontsize=8)
fig.tight_layout()
lesson.save_figure(fig, args, "word2vec.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# Every trained model beats random vectors on similarity (the mean ρ of the two sets; the
# post's random-softmax CBOW is the weakest on WordSim-353, and random vectors are not at 0
# there: the pair "tiger tiger" scores 10 and has cosine 1) and on POS agreement in both
# languages; CBOW groups words by part of speech best, skip-gram by meaning. The count-based
# PPMI-SVD vectors, the pre-word2vec way, carry similarity too (on this small corpus they
# lead on WordSim-353); the kernel equals its twin. The checks compare these in the same
# run.

# %%
metrics = {"brown": {"sentences": len(brown), "vocab": len(vocab), "scores": brown_scores,
                     "neighbours": brown_neighbours,
                     "seconds": {k: round(v, 1) for k, v in timing.items()}},
           "daily": {"sentences": len(daily), "vocab": len(daily_models["sgns"].vocab),
                     "pos_agreement": daily_scores, "neighbours": daily_neighbours},
           "twin": {"max_diff": twin_diff, "moved": moved},
           "epochs": EPOCHS, "dim": DIM, "seconds": round(time.perf_counter() - started, 1)}


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """(passed, message) for each check on the metrics of one run; the similarity and
    analogy checks need the full corpus (quick runs judge POS agreement only)."""
    b, d = m["brown"]["scores"], m["daily"]["pos_agreement"]
    rand = b["random"]
    out = [(m["twin"]["max_diff"] < 1e-9 and m["twin"]["moved"] > 1e-3,
            f"kernel equals its twin ({m['twin']['max_diff']:.1e}) on a step that moved the "
            f"weights ({m['twin']['moved']:.3f})")]
    for name in ("sgns", "cbow_sum", "cbow_softmax", "ppmi_svd"):
        s = b[name]
        out.append((s["pos_agreement"] > rand["pos_agreement"] + 0.07,
                    f"{name}: POS agreement {s['pos_agreement']:.3f} beats random vectors' "
                    f"{rand['pos_agreement']:.3f} by 0.07"))
        if not quick:
            mean, base = ((x["wordsim353"] + x["simlex999"]) / 2 for x in (s, rand))
            out.append((mean > base + 0.05,
                        f"{name}: mean ρ over WordSim-353 and SimLex ({s['wordsim353']:.3f}, "
                        f"{s['simlex999']:.3f}) beats random vectors' ({rand['wordsim353']:.3f},"
                        f" {rand['simlex999']:.3f}) by 0.05"))
    if not quick:
        out.append((b["sgns"]["analogy"] > rand["analogy"] + 0.02,
                    f"SGNS answers more analogies ({b['sgns']['analogy']:.3f}) than random "
                    f"vectors ({rand['analogy']:.3f}), by 0.02"))
    for name in ("sgns", "cbow_sum"):
        out.append((d[name] > d["random"] + 0.07,
                    f"People's Daily {name}: POS agreement {d[name]:.3f} beats random "
                    f"vectors' {d['random']:.3f} by 0.07"))
    return out


print(f"{time.perf_counter() - started:.1f} s")
lesson.finish(metrics, args, checks)
