# %% [markdown]
# # Lesson 8: named entities with a CNN + CRF tagger — MSRA NER
#
# Named-entity recognition finds the names in a sentence and says what they name: a person
# (PER), a place (LOC) or an organisation (ORG). As sequence labelling it uses the tags of
# lesson 7 with a type attached, and `O` for characters outside any entity (MSRA's scheme):
#
#     国 务 院 总 理 李 鹏 在 北 京
#     B-ORG M-ORG E-ORG O O B-PER E-PER O B-LOC E-LOC
#
# 13 tags: `O` and {B, M, E, S} × {PER, LOC, ORG}. An **entity** is a span (type, start,
# end), and the score is entity-level: a predicted entity counts only if its type and both
# of its ends are right,
#
#     precision = |pred ∩ gold| / |pred|,   recall = |pred ∩ gold| / |gold|,
#     F1 = 2·P·R / (P + R).
#
# Here the structure a CRF adds matters even more than for word segmentation. A name of
# five characters needs five consistent tags; a per-character softmax decides each one
# alone and easily breaks a name in the middle (`B-ORG M-ORG M-LOC E-ORG`) or starts one it
# never ends. The CRF scores whole sequences, s(y) = Σ_t h_t(y_t) + Σ_t G[y_{t−1}, y_t],
# learns with −log p(y | x) = log Z − s(y) (the forward algorithm, lesson 7) and decodes
# the best sequence by Viterbi. `nn.CRF.bmes(TAGS)` forbids in decoding what the scheme
# rules out: inside an entity (after B-X or M-X) only M-X or E-X of the *same* type may
# follow; after E-·, S-· or O a new entity starts (B-·, S-·) or O follows; a sentence
# starts and ends outside an entity.
#
# **Reading spans from tags** (`tinygen.tagging.spans`). The softmax's output, and even a
# few gold sentences of MSRA, are not valid sequences, so the extraction needs a rule for
# every sequence: conlleval's chunk rule with M in the role of I — a span of type X starts
# at B-X or S-X, or at an M-X/E-X that does not continue the tag before it; it ends at E-X or
# S-X, or before a tag that does not continue it. On valid sequences it gives exactly the
# entities.
#
# **The model** is lesson 7's tagger: Embedding → 3 × (Conv1D k = 3, "same", ReLU) →
# Dense(13) → CRF, width 64, compared with the same encoder and a per-character softmax.
# (A BiLSTM encoder is the other usual choice; tinygen's LSTM steps through time in Python
# and trains about 8× slower per sentence here, and wider context from dilated
# convolutions (1, 2, 4) did not help in a short run, so the CNN stays the post's.)
#
# **Sizes.** MSRA has 48,289 training sentences (2.07 M characters, the loader's fixed
# split of the training file) and its own test file of 5,000 sentences, on which we score.
# Each model trains for **two epochs** over all training sentences (batches of 16 bucketed
# by length, Adam 3·10⁻³ with a cosine decay, the CRF's transitions at 10× that rate as in
# lesson 7), about a minute per model on this 2-core CPU; longer training keeps improving
# the CRF (published CNN/BiLSTM-CRF taggers reach ~0.9 on MSRA). `--quick` (for the tests):
# 5,000 training sentences, one epoch.
#
# Exercise: viterbi
# (`tinygen exercise start NAME`, then `tinygen exercise check NAME`).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import lesson, nn
from tinygen.data import Vocab, load_msra_ner
from tinygen.models.tagger import ConvTagger, train_tagger
from tinygen.tagging import span_scores, spans

args = lesson.parse("08_crf_ner", "CNN + CRF named-entity recognition on MSRA vs a softmax")
started = time.perf_counter()
TYPES = ("PER", "LOC", "ORG")
TAGS = ("O",) + tuple(f"{p}-{t}" for t in TYPES for p in "BMES")
WIDTH = 64
EPOCHS = 1 if args.quick else 2
BATCH = 16
LR = 3e-3
CRF_LR = 10 * LR
N_TRAIN = 5_000 if args.quick else None  # None: all 48,289 training sentences

# %% [markdown]
# ## Spans from tags, on a few hand-made cases
#
# The scores below rest on this function, so we check it first on sequences whose entities
# we know, valid ones and the kinds of invalid ones a softmax produces.

# %%
SPAN_CASES = [
    ("O B-PER E-PER O S-LOC", [("PER", 1, 3), ("LOC", 4, 5)]),
    ("B-ORG M-ORG M-ORG E-ORG O", [("ORG", 0, 4)]),
    ("B-ORG M-ORG M-LOC E-ORG", [("ORG", 0, 2), ("LOC", 2, 3), ("ORG", 3, 4)]),  # broken
    ("O M-PER E-PER O", [("PER", 1, 3)]),       # no B: the entity starts where it starts
    ("B-LOC O E-LOC", [("LOC", 0, 1), ("LOC", 2, 3)]),
    ("B-PER M-PER", [("PER", 0, 2)]),           # the sentence ends inside a name
    ("O O O", []),
]
for text, expected in SPAN_CASES:
    got = spans(text.split())
    assert got == expected, f"spans({text!r}) = {got}, expected {expected}"

# %% [markdown]
# ## The data

# %%
train, _, test = load_msra_ner()
train = train[:N_TRAIN]
vocab = Vocab.build((chars for chars, _ in train), min_count=2, specials=("<pad>", "<unk>"))
allowed, first, last = nn.bmes_constraints(TAGS)


def encode(split):
    """(character ids, tag ids) per sentence; characters seen < 2 times in training → <unk>."""
    return ([vocab.encode(chars) for chars, _ in split],
            [[TAGS.index(t) for t in tags] for _, tags in split])


def forbidden(tag_ids) -> int:
    """How many neighbouring tag pairs (and first/last tags) break the scheme's rules."""
    t = np.asarray(tag_ids)
    return int((~allowed[t[:-1], t[1:]]).sum() + (not first[t[0]]) + (not last[t[-1]]))


(x_train, y_train), (x_test, y_test) = encode(train), encode(test)
gold = [spans(tags) for _, tags in test]
n_entities = {t: sum(kind == t for g in gold for kind, _, _ in g) for t in TYPES}
invalid_gold = {"train": sum(forbidden(y) > 0 for y in y_train),
                "test": sum(forbidden(y) > 0 for y in y_test)}
print(f"{len(x_train):,} training sentences ({sum(map(len, x_train)):,} characters), "
      f"{len(x_test):,} test sentences with {sum(n_entities.values()):,} entities "
      f"{n_entities}; vocabulary {len(vocab):,}")
print(f"gold sentences that break the tag rules: {invalid_gold['train']} in training, "
      f"{invalid_gold['test']} in test")

# %% [markdown]
# ## Training the two taggers
#
# As in lesson 7 the padded positions are zeroed after every convolution, so a sentence is
# tagged the same whatever it is batched with, and the CRF loss is the mean of −log p(y|x)
# over sentences while the softmax loss is the cross-entropy over real characters.

# %%
def train_model(use_crf: bool):
    """A fresh tagger (tinygen/models/tagger.py) trained for EPOCHS epochs of
    length-bucketed, masked batches."""
    tg.manual_seed(args.seed)
    model = ConvTagger(len(vocab), WIDTH, TAGS, crf=use_crf).to(args.device)
    seconds = train_tagger(model, x_train, y_train, batch=BATCH, epochs=EPOCHS, lr=LR,
                           crf_lr=CRF_LR, seed=args.seed, device=args.device,
                           verbose=not args.quick)
    return model, seconds


crf_model, crf_seconds = train_model(use_crf=True)
softmax_model, softmax_seconds = train_model(use_crf=False)

# %% [markdown]
# ## Entity-level scores on the test file
#
# Decoders as in lesson 7: the CRF by constrained Viterbi, the softmax by argmax per
# character, and the softmax by constrained Viterbi over its log-probabilities with G = 0
# (the most probable *valid* sequence when the characters are treated as independent).
# The trivial baseline tags everything `O`: it finds no entity, so its F1 is 0.

# %%
def entities(tag_ids) -> list[tuple[str, int, int]]:
    return spans([TAGS[t] for t in tag_ids])


t0 = time.perf_counter()
predictions = {"CRF": crf_model.predict(x_test, "crf", args.device, 128),
               "softmax": softmax_model.predict(x_test, "argmax", args.device, 128),
               "softmax + valid decoding": softmax_model.predict(x_test, "valid", args.device, 128)}
decode_seconds = time.perf_counter() - t0
scores = {name: span_scores([entities(p) for p in preds], gold)
          for name, preds in predictions.items()}
scores["all O"] = span_scores([[] for _ in gold], gold)
invalid = {name: sum(forbidden(p) > 0 for p in preds) for name, preds in predictions.items()}
for name, s in scores.items():
    per_type = "  ".join(f"{t} {s['by_type'].get(t, {'f1': 0.0})['f1']:.3f}" for t in TYPES)
    bad = f"; {invalid[name]} sentences with invalid tags" if name in invalid else ""
    print(f"{name:<26} P {s['precision']:.4f}  R {s['recall']:.4f}  F1 {s['f1']:.4f}   "
          f"({per_type}){bad}")

# %% [markdown]
# ## Examples
#
# Test sentences where the CRF and the softmax disagree, entities in brackets with their
# type (✓ = all entities exactly right).

# %%
def mark(chars, items) -> str:
    out, t = [], 0
    for kind, a, b in sorted(items, key=lambda s: s[1]):
        out.append("".join(chars[t:a]) + "[" + "".join(chars[a:b]) + "]" + kind)
        t = b
    return "".join(out) + "".join(chars[t:])


examples = []
for i, (chars, _) in enumerate(test):
    crf_e, soft_e = entities(predictions["CRF"][i]), entities(predictions["softmax"][i])
    if len(chars) <= 45 and crf_e != soft_e and gold[i]:
        examples.append({"gold": mark(chars, gold[i]),
                         "crf": mark(chars, crf_e), "crf_correct": set(crf_e) == set(gold[i]),
                         "softmax": mark(chars, soft_e),
                         "softmax_correct": set(soft_e) == set(gold[i])})
    if len(examples) == 5:
        break
for ex in examples:
    print(f"gold     {ex['gold']}\n"
          f"CRF      {ex['crf']}  {'✓' if ex['crf_correct'] else '✗'}\n"
          f"softmax  {ex['softmax']}  {'✓' if ex['softmax_correct'] else '✗'}\n")

# %% [markdown]
# ## Figures: F1 per entity type, and the learned transitions
#
# Organisation names are the hardest (long, nested place names inside: 中国人民银行). The
# transition matrix shows the scheme's structure learned from data: large scores on
# B-X→M-X/E-X and M-X→M-X/E-X along blocks of one type, low scores where the constraints
# (×) forbid.

# %%
names = ["softmax", "softmax + valid decoding", "CRF"]
groups = list(TYPES) + ["all"]
fig, ax = plt.subplots(figsize=(9, 4.2))
for k, name in enumerate(names):
    values = [scores[name]["by_type"].get(t, {"f1": 0.0})["f1"] for t in TYPES]
    values.append(scores[name]["f1"])
    bars = ax.bar(np.arange(len(groups)) + (k - 1) * 0.27, values, 0.27, label=name)
    ax.bar_label(bars, [f"{v:.2f}" for v in values], fontsize=7, padding=2)
ax.set(xticks=range(len(groups)),
       xticklabels=[f"{g}\n({n_entities[g]:,})" if g in n_entities else "all" for g in groups],
       ylim=(0, 1.05), ylabel="entity F1",
       title=f"MSRA NER, {len(x_test):,} test sentences (all-O baseline: F1 0)")
ax.legend(loc="upper left", fontsize=8)
lesson.save_figure(fig, args, "entity_f1.png")
plt.close(fig)

G = crf_model.crf.transitions.numpy()
fig, ax = plt.subplots(figsize=(8, 7))
im = ax.imshow(G, cmap="coolwarm", vmin=-np.abs(G).max(), vmax=np.abs(G).max())
for i in range(len(TAGS)):
    for j in range(len(TAGS)):
        if not allowed[i, j]:
            ax.text(j, i, "×", ha="center", va="center", fontsize=8, color="0.25")
ax.set(xticks=range(len(TAGS)), yticks=range(len(TAGS)), xlabel="next tag j", ylabel="tag i",
       title="learned transitions G[i, j] (× = forbidden in decoding)")
ax.set_xticklabels(TAGS, rotation=90)
ax.set_yticklabels(TAGS)
fig.colorbar(im, ax=ax, fraction=0.046)
lesson.save_figure(fig, args, "transitions.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers

# %%
total_seconds = time.perf_counter() - started
crf_f1, softmax_f1 = scores["CRF"]["f1"], scores["softmax"]["f1"]
valid_f1 = scores["softmax + valid decoding"]["f1"]
# constrained Viterbi cannot output a forbidden pair: an invariant, not a result
assert all(forbidden(p) == 0 for p in predictions["CRF"]), "constrained Viterbi broke the rules"
print(f"entity F1: CRF {crf_f1:.4f} vs softmax {softmax_f1:.4f} ({crf_f1 - softmax_f1:+.4f}) "
      f"and softmax + valid decoding {valid_f1:.4f} ({crf_f1 - valid_f1:+.4f}); "
      f"{total_seconds:.0f} s in all")


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """The CRF beats the same encoder with a softmax, also when the softmax is decoded into
    valid sequences: what the transitions learn, not what the constraints forbid."""
    crf, softmax, valid, baseline = (m["crf_f1"], m["softmax_f1"], m["valid_softmax_f1"],
                                     m["baseline_f1"])
    results = [
        (crf > softmax + 0.05, f"CRF entity F1 {crf:.4f} > per-character softmax "
         f"{softmax:.4f} + 0.05"),
        (crf > valid + 0.02, f"CRF entity F1 {crf:.4f} > softmax with valid decoding "
         f"{valid:.4f} + 0.02"),
        (crf > baseline + 0.2, f"CRF entity F1 {crf:.4f} > all-O baseline {baseline:.4f} + 0.2")]
    if not quick:
        results.append((crf >= 0.8, f"CRF entity F1 {crf:.4f} ≥ 0.80"))
    return results


lesson.finish({
    "entity_scores": scores, "crf_f1": crf_f1, "softmax_f1": softmax_f1,
    "valid_softmax_f1": valid_f1,
    "baseline_f1": scores["all O"]["f1"], "invalid_sentences": invalid,
    "invalid_gold_sentences": invalid_gold,
    "crf_forbidden_transitions": sum(forbidden(p) for p in predictions["CRF"]),
    "test_entities": n_entities, "tags": list(TAGS), "transitions": G.tolist(),
    "examples": examples, "train_sentences": len(x_train), "test_sentences": len(x_test),
    "vocab_size": len(vocab), "width": WIDTH, "epochs": EPOCHS, "batch_size": BATCH,
    "train_seconds": {"crf": crf_seconds, "softmax": softmax_seconds},
    "decode_seconds": decode_seconds, "total_seconds": total_seconds}, args, checks)
