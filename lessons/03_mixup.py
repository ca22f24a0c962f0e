# %% [markdown]
# # Lesson 3: SamplePairing and mixup — augmentations that are really regularisers
#
# Two data "augmentations" look as if they should not work at all:
#
# * **SamplePairing** averages two training images and keeps the label of the first:
#
#       x̃ = ½·(x_a + x_b),     ỹ = y_a;
#
# * **mixup** mixes two images *and* their one-hot labels with the same random weight:
#
#       x̃ = ε·x_a + (1 − ε)·x_b,     ỹ = ε·y_a + (1 − ε)·y_b,     ε ~ Beta(α, α).
#
# A blend of a 3 and an 8 is not a digit, so this is no augmentation in the usual sense
# (flips and shifts make new images of the *same* class). Both tricks nevertheless improve
# image classifiers. The post's point is that they are regularisers dressed up as
# augmentations: what they add to the objective is a preference for a particular shape of
# the function the network computes.
#
# **Why.** Cross-entropy is linear in its target distribution q:
#
#     CE(q, p) = −Σ_k q_k log p_k,   so
#     CE(ε·y_a + (1 − ε)·y_b, p) = ε·CE(y_a, p) + (1 − ε)·CE(y_b, p).
#
# *SamplePairing is mixup at ε = ½, on average.* The pairs (a, b) and (b, a) are equally
# likely and give the same blended image, once with label y_a and once with y_b; in
# expectation the blend is trained towards ½·y_a + ½·y_b.
#
# *Mixup asks for linearity.* Training pushes the network's probabilities f towards the
# mixed targets,
#
#     f(ε·x_a + (1 − ε)·x_b) ≈ ε·y_a + (1 − ε)·y_b ≈ ε·f(x_a) + (1 − ε)·f(x_b),
#
# where the second step holds once the network fits its training points (f(x_a) ≈ y_a).
# So the extra "data" is really a penalty on the network being *non-linear along the
# segments between training examples*. A plain network is free to jump from one class to the
# other anywhere between two images, usually abruptly; a mixup network is told to fade
# linearly. Between the data that is the most modest guess, and it makes the model less
# over-confident away from the data.
#
# **What we do.** We train the same MLP three times on scikit-learn's 8×8 digits (1,257
# training and 360 test images, bundled with scikit-learn): plainly, with SamplePairing and
# with mixup (α = 1, as the mixup paper uses for CIFAR-10), and measure
#
# 1. the test accuracy of each (mean ± standard deviation over three seeds), and
# 2. how linear each model is between test images of different classes: for a pair (x_a, x_b)
#    we evaluate p(t) = softmax f((1 − t)·x_a + t·x_b) at 21 points t ∈ [0, 1] and compare it
#    with the straight line ℓ(t) = (1 − t)·p(0) + t·p(1) between its own endpoints:
#
#        D = mean over pairs and t of ‖p(t) − ℓ(t)‖².
#
#    D = 0 for a model that is exactly linear along the segments.
#
# **Sizes.** The post discusses CNNs on CIFAR/ImageNet; we use a two-hidden-layer MLP on the
# 8×8 digits and 100 epochs so that the whole lesson runs in about a minute on a laptop CPU.
# `--quick` (for the tests) trains one seed for 15 epochs and measures 100 pairs instead of
# 500.
#
# Run it with `python lessons/03_mixup.py [--quick] [--out DIR] [--seed N] [--device cpu]`.
#
# Exercise: mixup
# (`tinygen exercise start NAME`, then `tinygen exercise check NAME`).

# %%
import time

import matplotlib

matplotlib.use("Agg")  # draw to files, no window needed
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import F, lesson, nn
from tinygen.data import DataLoader, load_digits
from tinygen.optim import Adam
from tinygen.train import evaluate, fit

args = lesson.parse("03_mixup", "mixup and SamplePairing vs plain training on 8x8 digits")
started = time.perf_counter()

EPOCHS = 15 if args.quick else 100
SEEDS = [args.seed] if args.quick else [args.seed + i for i in range(3)]
N_PAIRS = 100 if args.quick else 500
ALPHA = 1.0  # mixup's Beta(α, α); α = 1 makes ε uniform on [0, 1]
METHODS = ("plain", "SamplePairing", "mixup")

train, _, test = load_digits()  # fixed splits: 1,257 train / 180 validation / 360 test
x_train = train[0].reshape(len(train[0]), -1)  # float32 in [0, 1], 64 pixels
x_test = test[0].reshape(len(test[0]), -1)
y_train, y_test = train[1], test[1]
onehot_train = np.eye(10, dtype=np.float32)[y_train]  # mixup needs labels as vectors
print(f"digits: train {x_train.shape}, test {x_test.shape}; "
      f"{len(SEEDS)} seed(s) x {EPOCHS} epochs per method")

# %% [markdown]
# ## Mixing batches
#
# Each batch from the `DataLoader` is paired with a shuffled copy of itself: image i of the
# batch is mixed with image π(i). (SamplePairing's partner is drawn from the whole training
# set; within a shuffled batch it is a uniformly random training image just the same.) A
# new ε is drawn for every image. The mixing has its own seeded NumPy generator, so a run
# is reproducible.
#
# All three models are trained with the same loss, the cross-entropy against a target
# *distribution* q (one-hot for plain training and SamplePairing, a blend for mixup):
# −Σ_k q_k log softmax(z)_k (`F.soft_cross_entropy`).

# %%
class Mixed:
    """Batches of ``loader`` mixed as ``method`` says: (images, target distributions)."""

    def __init__(self, loader: DataLoader, method: str, seed: int, alpha: float = ALPHA):
        self.loader, self.method, self.alpha = loader, method, alpha
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for x, q in self.loader:
            if self.method == "plain":
                yield x, q
                continue
            partner = self.rng.permutation(len(x))
            if self.method == "SamplePairing":
                yield 0.5 * (x + x[partner]), q  # the label of the first image only
            else:  # mixup: one ε per image, the same for image and label
                eps = self.rng.beta(self.alpha, self.alpha, size=(len(x), 1)).astype(np.float32)
                yield eps * x + (1 - eps) * x[partner], eps * q + (1 - eps) * q[partner]


def hits(logits, q):
    """Accuracy against the dominant label of the (possibly mixed) target."""
    return float((logits.numpy().argmax(-1) == q.numpy().argmax(-1)).mean())


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                         nn.Linear(128, 10)).to(args.device)


# %% [markdown]
# ## Training: three methods, the same network, the same seeds
#
# Adam (lr = 10⁻³), batches of 64. For each seed the three models start from the same
# initial weights and see the batches in the same order; only the mixing differs.

# %%
test_loader = DataLoader((x_test, y_test), batch_size=len(x_test), shuffle=False)
tg.manual_seed(SEEDS[0])  # the first seed's initial weights, before any training
untrained = evaluate(make_model(), test_loader, metrics=["accuracy"],
                     device=args.device)["accuracy"]
print(f"untrained network: test accuracy {untrained:.2%}")
models: dict[str, nn.Module] = {}  # the model of the first seed, for the figures
accuracy: dict[str, list[float]] = {m: [] for m in METHODS}
for seed in SEEDS:
    for method in METHODS:
        tg.manual_seed(seed)
        model = make_model()
        loader = Mixed(DataLoader((x_train, onehot_train), batch_size=64, seed=seed), method,
                       seed)
        show = not args.quick and seed == SEEDS[0]
        if show:
            print(f"--- {method} (seed {seed}) ---")
        fit(model, loader, F.soft_cross_entropy, Adam(model.parameters(), lr=1e-3),
            epochs=EPOCHS, metrics=[hits], device=args.device, verbose=show)
        acc = evaluate(model, test_loader, metrics=["accuracy"], device=args.device)["accuracy"]
        accuracy[method].append(acc)
        print(f"seed {seed}  {method:<13} test accuracy {acc:.2%}")
        if seed == SEEDS[0]:
            models[method] = model

# %% [markdown]
# ## Along the segment between two test images
#
# We draw random pairs of test images with different labels and evaluate each model at 21
# evenly spaced points of the segment between them.

# %%
T = np.linspace(0.0, 1.0, 21, dtype=np.float32)
rng = np.random.default_rng(args.seed + 1000)
a_idx = rng.integers(0, len(x_test), 4 * N_PAIRS)
b_idx = rng.integers(0, len(x_test), 4 * N_PAIRS)
different = y_test[a_idx] != y_test[b_idx]
a_idx, b_idx = a_idx[different][:N_PAIRS], b_idx[different][:N_PAIRS]
t = T[None, :, None]
segments = (1 - t) * x_test[a_idx][:, None] + t * x_test[b_idx][:, None]  # (pairs, 21, 64)


def probabilities_along(model, points: np.ndarray) -> np.ndarray:
    model.eval()
    with tg.no_grad():
        logits = model(tg.tensor(points.reshape(-1, 64), device=args.device))
    return F.softmax(logits).numpy().reshape(*points.shape[:-1], 10)


def deviation_from_line(p: np.ndarray) -> np.ndarray:
    """Per pair: mean over t of ‖p(t) − ((1 − t)·p(0) + t·p(1))‖²."""
    line = (1 - t) * p[:, :1] + t * p[:, -1:]
    return ((p - line) ** 2).sum(-1).mean(-1)


probs = {m: probabilities_along(models[m], segments) for m in METHODS}
deviation = {m: deviation_from_line(probs[m]) for m in METHODS}
linearity = {m: float(deviation[m].mean()) for m in METHODS}
for m in METHODS:
    print(f"{m:<13} deviation from linear D = {linearity[m]:.4f}  "
          f"(median over pairs {np.median(deviation[m]):.4f})")

# %% [markdown]
# ## Figure 1: one pair, plain vs SamplePairing vs mixup
#
# For one pair (the first drawn whose endpoints all three models classify correctly) we
# plot the probability of the start class, of the end class and the largest probability of
# any other class along the segment, with the straight line between the endpoint
# probabilities dashed. The plain model switches almost like a step; the mixup model fades.

# %%
correct = np.ones(len(a_idx), bool)
for m in METHODS:
    correct &= probs[m][:, 0].argmax(-1) == y_test[a_idx]
    correct &= probs[m][:, -1].argmax(-1) == y_test[b_idx]
k = int(np.flatnonzero(correct)[0]) if correct.any() else 0
ca, cb = int(y_test[a_idx[k]]), int(y_test[b_idx[k]])

fig = plt.figure(figsize=(13, 6.2))
grid = fig.add_gridspec(2, 3, height_ratios=[1, 3.2], hspace=0.35)
strip = fig.add_subplot(grid[0, :])
shown = [0, 5, 10, 15, 20]
strip.imshow(np.concatenate([np.pad(segments[k, i].reshape(8, 8), 1, constant_values=0.15)
                             for i in shown], axis=1), cmap="gray_r", vmin=0, vmax=1)
strip.set_xticks([10 * j + 4.5 for j in range(len(shown))],
                 [f"t = {T[i]:.2f}" for i in shown])
strip.set_yticks([])
strip.set_title(f"inputs (1 − t)·x_a + t·x_b between a test '{ca}' and a test '{cb}'")
for j, m in enumerate(METHODS):
    ax = fig.add_subplot(grid[1, j])
    p = probs[m][k]
    others = np.delete(p, [ca, cb], axis=1).max(axis=1)
    for values, label, color in [(p[:, ca], f"p('{ca}')", "tab:blue"),
                                 (p[:, cb], f"p('{cb}')", "tab:orange"),
                                 (others, "max other class", "tab:gray")]:
        ax.plot(T, values, marker="o", ms=3, color=color, label=label)
        ax.plot([0, 1], [values[0], values[-1]], ls="--", lw=1, color=color)
    ax.set(xlabel="t", ylim=(-0.03, 1.03),
           title=f"{m}: D(this pair) = {deviation[m][k]:.3f}\n"
                 f"mean D over {len(a_idx)} pairs = {linearity[m]:.3f}")
    if j == 0:
        ax.set_ylabel("predicted probability")
        ax.legend(loc="center left", fontsize=8)
fig.suptitle("Predicted class probabilities along a segment between two test digits "
             "(dashed: straight line between the endpoints)", fontsize=11)
lesson.save_figure(fig, args, "segment_probabilities.png")
plt.close(fig)

# %% [markdown]
# ## Figure 2: accuracy and linearity side by side
#
# Left: test accuracy (bars: mean over seeds, dots: each seed). Right: the distribution over
# pairs of the per-pair deviation D (log scale; values below 10⁻⁴ are counted at 10⁻⁴).

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
colors = ["tab:gray", "tab:green", "tab:red"]
for j, m in enumerate(METHODS):
    ax1.bar(j, np.mean(accuracy[m]), color=colors[j], alpha=0.6)
    ax1.plot([j] * len(accuracy[m]), accuracy[m], "ko", ms=4)
lo = max(0.0, min(min(v) for v in accuracy.values()) - 0.05)
for j, m in enumerate(METHODS):
    ax1.text(j, lo + 0.005, f"{np.mean(accuracy[m]):.1%}", ha="center", va="bottom")
ax1.set(xticks=range(3), xticklabels=METHODS, ylim=(lo, 1.0),
        ylabel="test accuracy", title=f"test accuracy ({len(SEEDS)} seed(s), 360 images)")
bins = np.logspace(-4, 0, 41)
for j, m in enumerate(METHODS):
    ax2.hist(np.clip(deviation[m], 1e-4, 1), bins=bins, histtype="step", lw=2, color=colors[j],
             label=f"{m}: mean {linearity[m]:.3f}")
ax2.set(xscale="log", xlabel="per-pair deviation from linear D", ylabel="pairs",
        title="non-linearity between test images of different classes")
ax2.legend()
fig.tight_layout()
lesson.save_figure(fig, args, "accuracy_linearity.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# Expect mixup's (and SamplePairing's) D to be several times smaller than the plain
# model's: that is the regulariser at work. The accuracies, on the other hand, are all close
# to 98% on this easy data set and differ by about as much as the seeds do; the gains the
# post reports are for large CNNs on CIFAR and ImageNet, where over-fitting matters more.

# %%
elapsed = time.perf_counter() - started
summary = {m: {"mean": float(np.mean(accuracy[m])), "std": float(np.std(accuracy[m])),
               "per_seed": accuracy[m]} for m in METHODS}
for m in METHODS:
    print(f"{m:<13} test accuracy {summary[m]['mean']:.2%} ± {summary[m]['std']:.2%}   "
          f"deviation from linear D = {linearity[m]:.4f}")
print(f"mixup makes the model {linearity['plain'] / linearity['mixup']:.1f}x more linear "
      f"between test images (D {linearity['plain']:.4f} -> {linearity['mixup']:.4f}); "
      f"{elapsed:.0f} s")



def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """Every method learns (far above the network untrained), and both mixing methods are
    more linear than plain training."""
    floor = 0.6 if quick else 0.9
    acc, lin, untrained = m["test_accuracy"], m["linearity_deviation"], m["untrained_accuracy"]
    results = [(acc[k]["mean"] > max(floor, untrained + 0.5), f"{k} test accuracy "
                f"{acc[k]['mean']:.3f} > {floor} and > untrained {untrained:.3f} + 0.5")
               for k in ("plain", "SamplePairing", "mixup")]
    return results + [(lin[k] < lin["plain"], f"{k} is more linear between samples: "
                       f"D {lin[k]:.4f} < {lin['plain']:.4f} (plain)")
                      for k in ("mixup", "SamplePairing")]


lesson.finish({"test_accuracy": summary, "linearity_deviation": linearity,
               "untrained_accuracy": untrained,
               "epochs": EPOCHS, "seeds": SEEDS, "pairs": int(len(a_idx)),
               "mixup_alpha": ALPHA, "seconds": round(elapsed, 1)}, args, checks)
