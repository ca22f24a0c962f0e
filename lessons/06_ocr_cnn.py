# %% [markdown]
# # Lesson 6: the OCR post's character recognizer — a small CNN on MNIST-5k
#
# The OCR post reads a line of text in two steps: cut it into single characters, then
# recognise each character image with a small convolutional network. This lesson builds the
# second step: a CNN classifier on 28×28 character images, trained with `fit` on MNIST-5k
# (3,500 training digits, 500 for validation, and a held-out test set of 1,000), and — when
# the data is at hand — the same network on Fashion-MNIST, ten kinds of clothing.
#
# **A convolution** slides a small kernel over the image and takes a dot product at every
# position (a cross-correlation, as in every deep-learning library):
#
#     y[n, o, a, b] = bias[o] + Σ_{c, i, j} w[o, c, i, j] · x[n, c, a + i, b + j]
#
# The same 3×3 weights are used at every position, so a conv layer has very few parameters
# (32 filters of 3×3 on one channel: 320 numbers) and detects a pattern wherever it is in
# the image; max-pooling (the largest value of each 2×2 block) then halves the resolution and
# makes the features tolerant to shifts of a pixel or two. Two conv–pool blocks turn the
# 28×28 image into 64 maps of 7×7, and a small dense head classifies them.
#
# The network is
#
#     Conv 32 3×3 → ReLU → MaxPool 2 → Conv 64 3×3 → ReLU → MaxPool 2
#         → Flatten → Dense 128 → ReLU → Dropout 0.3 → Dense 10
#
# with "same" padding (a ring of zeros, so a 3×3 conv keeps the image size). With only 3,500
# training images it overfits quickly, so two modest helps: each training batch is shifted
# by a random −1, 0 or +1 pixel in each direction (a shifted digit is still the same digit),
# and the learning rate follows a cosine from 10⁻³ down to 0 over training. (`--quick`,
# for the tests: 1,000 training images and 3 epochs. `--fashion`: also train on
# Fashion-MNIST, fetched with `apt-get download` if need be; without the flag the full run
# does this only if the data is cached or can be fetched within a short time.)
#
# Exercises: conv2d_im2col, maxpool_backward, softmax_cross_entropy
# (`tinygen exercise start NAME`, then `tinygen exercise check NAME`).

# %%
import os
import signal
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import F, lesson, nn
from tinygen.data import FASHION_CLASSES, DataLoader, is_cached, load_fashion_mnist, load_mnist5k
from tinygen.data.images import FASHION_SYSTEM_DIR
from tinygen.ops.conv_twin import conv2d_twin
from tinygen.optim import Adam, CosineAnnealingLR
from tinygen.train import LRSchedule, evaluate, fit

args = lesson.parse("06_ocr_cnn", "A CNN character recognizer on MNIST-5k (and Fashion-MNIST)",
                    flags={"--fashion": {"action": "store_true", "help": "also train on "
                                         "Fashion-MNIST (fetching it if it is not cached)"}})
EPOCHS = 3 if args.quick else 15
BATCH = 64
SHIFT = 1
started = time.perf_counter()

train, val, test = load_mnist5k()
if args.quick:  # a fast run for the tests: fewer training images
    train = (train[0][:1000], train[1][:1000])


def as_images(split):
    """(N, 28, 28) → (N, 1, 28, 28): a conv layer wants a channel axis."""
    images, labels = split
    return images[:, None].astype(np.float32), labels


(x_train, y_train), (x_val, y_val), (x_test, y_test) = map(as_images, (train, val, test))
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")

# %% [markdown]
# ## Random shifts, batch by batch
#
# `Shifted` wraps a `DataLoader`: every batch is padded by one pixel and each image cut
# back out at a random offset. It has a length (batches per epoch) so `fit`'s progress bar
# knows how far along it is, and its random offsets come from a seeded generator.

# %%
class Shifted:
    """Batches of ``loader`` with each image moved by up to ``shift`` pixels (zeros fill)."""

    def __init__(self, loader, shift: int, seed: int):
        self.loader, self.shift = loader, shift
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        s = self.shift
        for x, y in self.loader:
            side = x.shape[-1]
            padded = np.pad(x, ((0, 0), (0, 0), (s, s), (s, s)))
            dy, dx = self.rng.integers(0, 2 * s + 1, size=(2, len(x)))
            yield np.stack([padded[i, :, dy[i]:dy[i] + side, dx[i]:dx[i] + side]
                            for i in range(len(x))]), y


def make_cnn() -> nn.Module:
    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(*block(1, 32), *block(32, 64), nn.Flatten(),
                         nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(128, 10))


def train_cnn(x, y, validation, epochs: int):
    """A fresh CNN trained with Adam (cosine learning rate) on shifted batches of (x, y)."""
    model = make_cnn().to(args.device)
    optimizer = Adam(model.parameters(), lr=1e-3)
    loader = Shifted(DataLoader((x, y), batch_size=BATCH, seed=args.seed), SHIFT, args.seed)
    schedule = CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
    history = fit(model, loader, F.cross_entropy, optimizer, epochs=epochs,
                  metrics=["accuracy"], validation=validation,
                  callbacks=[LRSchedule(schedule, per="step")], device=args.device,
                  verbose=not args.quick)
    return model, history


def predict(model, x) -> np.ndarray:
    """Class predictions for images x, in eval mode (dropout off), 500 at a time."""
    model.eval()
    with tg.no_grad():
        return np.concatenate([model(tg.tensor(x[i:i + 500], device=args.device)).numpy()
                               .argmax(axis=1) for i in range(0, len(x), 500)])


# %% [markdown]
# ## Training on MNIST-5k

# %%
t0 = time.perf_counter()
model, history = train_cnn(x_train, y_train,
                           DataLoader((x_val, y_val), batch_size=500, shuffle=False),
                           EPOCHS)
train_seconds = time.perf_counter() - t0
print(model)
print(f"{sum(p.size for p in model.parameters()):,} parameters")
test_loader = DataLoader((x_test, y_test), batch_size=500, shuffle=False)
result = evaluate(model, test_loader, F.cross_entropy, ["accuracy"], device=args.device)
predicted = predict(model, x_test)
test_accuracy = float((predicted == y_test).mean())
print(f"trained {EPOCHS} epochs in {train_seconds:.1f} s; held-out test accuracy "
      f"{test_accuracy:.2%} (loss {result['loss']:.3f}) on {len(y_test):,} images")

# %% [markdown]
# ## Where it goes wrong: the confusion matrix and the misclassified digits
#
# Row = true digit, column = prediction; everything off the diagonal is an error. The
# misclassified test images show what the errors look like — often digits that a person
# would hesitate over too.

# %%
def confusion_matrix(true, pred, k: int = 10) -> np.ndarray:
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (true, pred), 1)
    return m


def plot_confusion(ax, matrix, names, title):
    shade = np.log1p(matrix)  # a log scale, so that single errors still show
    ax.imshow(shade, cmap="Blues")
    for i in range(len(names)):
        for j in range(len(names)):
            if matrix[i, j]:
                dark = shade[i, j] > 0.55 * shade.max()
                color = ("white" if i == j else "#ffc0c0") if dark else "tab:red"
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                        color=color, fontweight="bold" if i != j else None)
    ax.set(xticks=range(len(names)), yticks=range(len(names)), xlabel="predicted",
           ylabel="true", title=title)
    ax.set_xticklabels(names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right"
                       if max(map(len, names)) > 2 else "center")
    ax.set_yticklabels(names)


confusion = confusion_matrix(y_test, predicted)
epochs = np.arange(1, len(history.history["loss"]) + 1)
fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1, 1.1]})
axes[0].plot(epochs, history.history["accuracy"], "o-", label="train (shifted batches)")
axes[0].plot(epochs, history.history["val_accuracy"], "s--", label="validation")
axes[0].axhline(test_accuracy, color="k", lw=0.8, ls=":", label=f"test {test_accuracy:.1%}")
axes[0].set(xlabel="epoch", ylabel="accuracy", title="accuracy per epoch",
            ylim=(max(0.0, min(history.history["accuracy"]) - 0.02), 1.0))
axes[0].legend(loc="lower right")
plot_confusion(axes[1], confusion, [str(d) for d in range(10)],
               f"confusion matrix, held-out test ({len(y_test):,} digits)")
fig.suptitle(f"MNIST-5k CNN: {test_accuracy:.1%} test accuracy, "
             f"{int(confusion.sum() - np.trace(confusion))} errors")
lesson.save_figure(fig, args, "confusion.png")
plt.close(fig)

wrong = np.flatnonzero(predicted != y_test)
shown = wrong[:24]
cols = 8
rows = max(1, -(-len(shown) // cols))
fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.3, rows * 1.55), squeeze=False)
for ax in axes.flat:
    ax.axis("off")
for ax, i in zip(axes.flat, shown):
    ax.imshow(x_test[i, 0], cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"true {y_test[i]}\npred {predicted[i]}", fontsize=9, color="tab:red")
fig.suptitle(f"misclassified test digits ({len(shown)} of {len(wrong)})")
lesson.save_figure(fig, args, "misclassified.png")
plt.close(fig)

# %% [markdown]
# ## The kernel and its composed twin agree
#
# `tinygen.conv2d` runs a hand-written kernel (im2col + a BLAS matrix product, compiled with
# Numba). Its *composed twin* `conv2d_twin` computes the same map from ordinary Tensor ops,
# the readable definition the kernel is tested against:
#
# 1. **pad** the input with zeros (one pixel for a 3×3 "same" conv);
# 2. **gather every window** with one advanced index — output pixel (a, b) and kernel tap
#    (i, j) read padded pixel (a + i, b + j) — giving patches (N, C, H, kH, W, kW);
# 3. **multiply**: rearranged as columns (N, C·kH·kW, H·W), the patches meet the weight as a
#    matrix (O, C·kH·kW): Y = W @ columns, one matrix product per image.
#
# Both are differentiable (the twin through its ops, the kernel through its own backward
# kernels), so we compare the outputs and the weight gradients on a real batch: the
# trained second conv layer applied to the first block's feature maps of 64 test digits.
# The outputs often agree to the last bit (both end in a BLAS product of the same columns);
# the weight gradients are sums of 64·14·14 products taken in different orders, so they
# differ by rounding, about 10⁻⁷ of their size in float32 and 10⁻¹⁶ in float64.

# %%
conv2 = model[3]
with tg.no_grad():
    features = model[2](model[1](model[0](tg.tensor(x_test[:64], device=args.device))))
print(f"batch: features {features.shape} → conv {tuple(conv2.weight.shape)}, 3×3 'same'")


def run(conv, dtype):
    """Output and weight gradient of ``conv`` on the features, in ``dtype``; and seconds."""
    w = tg.tensor(conv2.weight.numpy().astype(dtype), device=args.device, requires_grad=True)
    b = tg.tensor(conv2.bias.numpy().astype(dtype), device=args.device)
    x = tg.tensor(features.numpy().astype(dtype), device=args.device)
    t = time.perf_counter()
    y = conv(x, w, b, padding="same")
    (y * y).sum().backward()
    return y.numpy(), w.grad.numpy(), time.perf_counter() - t


twin_check = {}
for dtype, tolerance in ((np.float32, 1e-5), (np.float64, 1e-10)):
    run(tg.conv2d, dtype)  # warm-up: the first call may compile or load the kernel
    y_kernel, g_kernel, t_kernel = run(tg.conv2d, dtype)
    y_twin, g_twin, t_twin = run(conv2d_twin, dtype)
    diff = float(np.abs(y_kernel - y_twin).max())
    # the weight gradient sums 64·14·14 products per entry: compare it relative to its size
    gdiff = float(np.abs(g_kernel - g_twin).max() / np.abs(g_twin).max())
    name = np.dtype(dtype).name
    print(f"{name}: max |kernel − twin| = {diff:.2e} (output up to {np.abs(y_twin).max():.1f}), "
          f"weight gradient relative difference {gdiff:.2e}; forward+backward "
          f"kernel {t_kernel * 1e3:.1f} ms, twin {t_twin * 1e3:.1f} ms "
          f"({t_twin / t_kernel:.1f}× slower)")
    twin_check[name] = {"max_abs_diff": diff, "grad_rel_diff": gdiff, "tolerance": tolerance,
                        "kernel_ms": t_kernel * 1e3, "twin_ms": t_twin * 1e3}

# %% [markdown]
# ## The same network on Fashion-MNIST
#
# Fashion-MNIST has the format of MNIST (28×28 grey images, ten classes) but photographs
# of clothes, a harder task: shirts, pullovers, coats and T-shirts look alike at this
# size. We train the same network, from scratch, on 10,000 of its 55,000 training images
# (to keep the run short) and test on its full test set of 10,000.

# %%
FASHION_TRAIN = 10_000
FASHION_EPOCHS = 5


def fashion_available() -> bool:
    """Whether to run the Fashion-MNIST part: always with --fashion (fetching if needed);
    in a full run only if the data is already here or a fetch finishes within a minute."""
    if args.fashion:
        return True
    if args.quick:
        return False
    if is_cached("fashion-mnist") or FASHION_SYSTEM_DIR.is_dir():
        return True
    print("Fashion-MNIST is not cached; trying to fetch it (at most 60 s) ...")
    proc = subprocess.Popen([sys.executable, "-c",
                             "from tinygen.data import fetch; fetch('fashion-mnist')"],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        return proc.wait(timeout=60) == 0
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # the fetch and the client it started
        proc.wait()
        return False


fashion = None
if fashion_available():
    f_train, f_val, f_test = load_fashion_mnist()
    n_train = 2_000 if args.quick else FASHION_TRAIN
    (fx, fy), (fxv, fyv), (fxt, fyt) = map(as_images, ((f_train[0][:n_train],
                                                        f_train[1][:n_train]),
                                                       (f_val[0][:1000], f_val[1][:1000]),
                                                       f_test))
    f_epochs = 2 if args.quick else FASHION_EPOCHS
    t0 = time.perf_counter()
    f_model, f_history = train_cnn(fx, fy, DataLoader((fxv, fyv), batch_size=500,
                                                      shuffle=False), f_epochs)
    f_pred = predict(f_model, fxt)
    fashion = {"test_accuracy": float((f_pred == fyt).mean()), "train_images": len(fx),
               "test_images": len(fxt), "epochs": f_epochs,
               "seconds": time.perf_counter() - t0}
    print(f"Fashion-MNIST: test accuracy {fashion['test_accuracy']:.2%} on {len(fxt):,} "
          f"images after {f_epochs} epochs on {len(fx):,} ({fashion['seconds']:.0f} s)")
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    plot_confusion(ax, confusion_matrix(fyt, f_pred), list(FASHION_CLASSES),
                   f"Fashion-MNIST CNN: {fashion['test_accuracy']:.1%} test accuracy "
                   f"({len(fyt):,} images)")
    lesson.save_figure(fig, args, "fashion_confusion.png")
    plt.close(fig)
elif args.quick:
    print("Fashion-MNIST part skipped in a quick run (pass --fashion to include it)")
else:
    print("Fashion-MNIST part skipped: not cached and not fetched within a minute (run "
          "`tinygen data fetch fashion-mnist`, or pass --fashion to wait for the fetch)")

# %% [markdown]
# ## The key numbers

# %%
def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """The CNN reads digits (far above the same CNN untrained; 0.97 is the full run's goal),
    and kernel == twin in both dtypes."""
    accuracy, untrained, floor = m["test_accuracy"], m["untrained_accuracy"], 0.7 if quick else 0.97
    results = [(accuracy > untrained + 0.5, f"held-out test accuracy {accuracy:.3f} > "
                f"untrained {untrained:.3f} + 0.5"),
               (accuracy > floor, f"held-out test accuracy {accuracy:.3f} > {floor}")]
    for name, tolerance in (("float32", 1e-5), ("float64", 1e-10)):
        c = m["twin_vs_kernel"][name]
        results.append((0 <= c["max_abs_diff"] < tolerance and 0 <= c["grad_rel_diff"] < tolerance,
                        f"{name}: the kernel and the composed twin agree (output "
                        f"{c['max_abs_diff']:.1e}, weight gradient {c['grad_rel_diff']:.1e} "
                        f"relative; < {tolerance:.0e})"))
    return results


tg.manual_seed(args.seed)  # the initial weights of the first CNN: what training started from
untrained = float((predict(make_cnn().to(args.device), x_test) == y_test).mean())
print(f"the same CNN untrained: test accuracy {untrained:.2%}")
total_seconds = time.perf_counter() - started
lesson.finish({"test_accuracy": test_accuracy, "untrained_accuracy": untrained,
               "test_loss": result["loss"],
               "test_errors": int(len(wrong)), "test_images": int(len(y_test)),
               "train_images": int(len(y_train)),
               "val_accuracy": history.history["val_accuracy"][-1],
               "epochs": EPOCHS, "train_seconds": train_seconds, "total_seconds": total_seconds,
               "parameters": int(sum(p.size for p in model.parameters())),
               "twin_vs_kernel": twin_check, "fashion": fashion}, args, checks)
