# %% [markdown]
# # Lesson 4: The Self-Orthogonality Module — orthogonal filters measured through the data
#
# A dense or convolutional layer computes yᵀ = xᵀW with W = (w₁, …, w_k) ∈ ℝ^{d×k}: each
# output yᵢ = xᵀwᵢ looks at the input from the direction of one filter wᵢ. If two filters
# point almost the same way, their outputs say almost the same thing and the layer wastes
# capacity; filters at right angles look at the input from independent directions. Hence
# the many "orthogonality regularisers" (BigGAN uses one), which usually penalise the
# off-diagonal entries of the Gram matrix WᵀW of the normalised filters.
#
# The Self-Orthogonality Module (Zhang, Ma, Wu & Wang, 2020) gets at the angles through the
# data instead, with an idea from locality-sensitive hashing (LSH):
#
# **Signs measure angles.** For an input x drawn from an isotropic distribution (e.g. a
# standard normal), the hyperplane orthogonal to x separates wᵢ from wⱼ with probability
# θᵢⱼ/π, where θᵢⱼ is the angle between them. So
#
#     P[sign(xᵀwᵢ) ≠ sign(xᵀwⱼ)] = θᵢⱼ / π,   E[sign(xᵀwᵢ)·sign(xᵀwⱼ)] = 1 − 2θᵢⱼ/π,
#
# and the last expression is 0 exactly when θᵢⱼ = 90°. The layer already computes xᵀwᵢ for
# every row x of a batch X (n × d): the column Y_{:,i} of Y = XW holds the n values xᵀwᵢ.
#
# **The regulariser**, as the post writes it:
#
# 1. Y = XW (no bias), the layer's own pre-activations on the current batch;
# 2. replace sign by the smooth tanh(γ·Y) with γ = 10, so that there is a gradient;
# 3. l2-normalise every column over the batch: Ŷ_{:,i} = tanh(γY_{:,i}) / ‖tanh(γY_{:,i})‖;
# 4. ϑ = ŶᵀŶ, a k × k matrix; its off-diagonal entry ϑᵢⱼ ≈ mean over the batch of
#    sign(xᵀwᵢ)·sign(xᵀwⱼ) ≈ 1 − 2θᵢⱼ/π estimates how far filters i and j are from 90°;
# 5. R = λ₁·(Σ_{i≠j} ϑᵢⱼ)² + λ₂·Σ_{i≠j} ϑᵢⱼ², with λ₁ = 100 and λ₂ = 1.
#
# The first term pushes the *mean* of the ϑᵢⱼ to 0 (filter angles 90° on average), the
# second their spread (every angle near 90°). R is added to the task loss — here through
# `self.add_loss(R)` inside `forward`, which `tinygen.train.fit` collects after every step.
#
# **Sums or averages?** With the sums as written, the size of R grows with the number of
# pairs N = k(k − 1) (the first term like N²), while the cross-entropy does not. In our
# small run this makes the first term a very stiff spring: Adam spends its steps keeping
# Σϑᵢⱼ at 0 on every batch, and ϑ's spread hardly moves (you will see it in the results).
# The paper describes its goal as pushing the *mean and variance* of the angles, so our main
# variant uses the same formula with per-pair averages, λ₁·(mean ϑᵢⱼ)² + λ₂·mean ϑᵢⱼ²,
# i.e. the sums divided by N² and N, keeping λ₁ = 100 and λ₂ = 1. We train the literal
# sums as well and report them side by side.
#
# **Our setting.** The post discusses CNNs on image benchmarks; we use a single convolution
# layer of k = 8 filters of 3 × 3 pixels on scikit-learn's 8×8 digits (1,257 training, 360
# test images), followed by ReLU and a linear read-out, trained for 80 epochs (3 seeds),
# which takes well under a minute on a laptop CPU; `--quick` trains one seed for 15 epochs.
# A convolution is a dense layer applied to every 3 × 3 patch, so X is "all patches of all
# images in the batch" (64 × 64 = 4,096 rows per batch of 64 images) — many more samples
# for the ϑ estimate than the batch of images alone. LSH assumes isotropic inputs, so we
# whiten the patches first (a fixed linear map, ZCA): then ϑ really measures the angles
# between the filters, and its effect shows up in the plain Gram matrix of the filters.
#
# Run it with `python lessons/04_self_orthogonality.py [--quick] [--out DIR] [--seed N]`.
#
# Exercise: self_orthogonality
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
from tinygen.train import Callback, evaluate, fit

args = lesson.parse("04_self_orthogonality", "Self-Orthogonality regulariser on digits")
started = time.perf_counter()

EPOCHS = 15 if args.quick else 80
SEEDS = [args.seed] if args.quick else [args.seed + i for i in range(3)]
PATCH, K = 3, 8  # 3×3 filters, k = 8 of them (at most d = 9 can be orthogonal)
D = PATCH * PATCH
LAMBDA1, LAMBDA2, GAMMA = 100.0, 1.0, 10.0
VARIANTS = ("none", "averaged", "summed")  # no regulariser, R per pair, R as written
LABELS = {"none": "no regulariser", "averaged": "R, per-pair averages",
          "summed": "R, sums as written"}

# %% [markdown]
# ## Patches, whitened
#
# Every image is padded with one row and column of background on each side, and each of
# its 64 pixels contributes the 3 × 3 patch around it: an array (images, 64, 9). The patch
# vectors are then ZCA-whitened, x ← (x − μ)·Σ^{−1/2}, with the mean μ and covariance Σ of
# all training patches (a small ridge 10⁻³ keeps Σ^{−1/2} finite), so that over the
# training set the patches have zero mean and identity covariance.

# %%
def patches(images: np.ndarray) -> np.ndarray:
    r = PATCH // 2
    padded = np.pad(images, ((0, 0), (r, r), (r, r)))
    cols = [padded[:, i:i + 8, j:j + 8] for i in range(PATCH) for j in range(PATCH)]
    return np.stack(cols, axis=-1).reshape(len(images), 64, D)


train, val, test = load_digits()  # fixed splits: 1,257 / 180 / 360, pixels in [0, 1]
p_train, p_val, p_test = patches(train[0]), patches(val[0]), patches(test[0])
flat = p_train.reshape(-1, D).astype(np.float64)
mean = flat.mean(axis=0)
eigval, eigvec = np.linalg.eigh(np.cov(flat - mean, rowvar=False))
zca = (eigvec / np.sqrt(eigval + 1e-3)) @ eigvec.T


def whiten(p: np.ndarray) -> np.ndarray:
    return ((p - mean) @ zca).astype(np.float32)


x_train, x_val, x_test = whiten(p_train), whiten(p_val), whiten(p_test)
y_train, y_val, y_test = train[1], val[1], test[1]
cov_after = np.cov(x_train.reshape(-1, D), rowvar=False)
print(f"patches: train {x_train.shape}, test {x_test.shape}; after whitening the largest "
      f"|covariance - I| is {np.abs(cov_after - np.eye(D)).max():.3f}")

# %% [markdown]
# ## The regulariser and the model
#
# `self_orthogonality(Y)` is steps 2–5 above, a few lines of tinygen ops (so it is
# differentiable like anything else). The model's convolution is a `Linear(9, 8)` applied to
# every patch; when its `regulariser` is set and the model is training, `forward` computes
# R on the pre-activations of the batch and hands it to `add_loss`.

# %%
def theta_matrix(y: tg.Tensor, gamma: float = GAMMA) -> tg.Tensor:
    """ϑ = ŶᵀŶ with Ŷ = tanh(γY), columns l2-normalised over the rows; diagonal zeroed."""
    z = F.normalize(tg.tanh(y * gamma), axis=0)
    k = y.shape[1]
    return (z.T @ z) * (1.0 - tg.eye(k, device=y.device))


def self_orthogonality(y: tg.Tensor, averaged: bool = True) -> tg.Tensor:
    """R = λ₁·(Σ ϑᵢⱼ)² + λ₂·Σ ϑᵢⱼ² over i ≠ j; with ``averaged`` the sums become means."""
    theta = theta_matrix(y)
    total, squares = theta.sum(), (theta * theta).sum()
    if averaged:
        pairs = y.shape[1] * (y.shape[1] - 1)
        total, squares = total / pairs, squares / pairs
    return LAMBDA1 * total * total + LAMBDA2 * squares


class ConvNet(nn.Module):
    def __init__(self, regulariser: str = "none"):
        super().__init__()
        self.regulariser = regulariser
        self.conv = nn.Linear(D, K)  # the k filters are the columns of conv.weight (9 × 8)
        self.head = nn.Linear(64 * K, 10)

    def forward(self, x):
        y = x.reshape(-1, D) @ self.conv.weight  # Y = XW, one row per patch
        if self.training and self.regulariser != "none":
            self.add_loss(self_orthogonality(y, averaged=self.regulariser == "averaged"))
        h = tg.relu(y + self.conv.bias).reshape(x.shape[0], 64 * K)
        return self.head(h)


def filter_cosines(model: ConvNet) -> np.ndarray:
    """The Gram matrix of the normalised filters: cos of the angle between wᵢ and wⱼ."""
    w = model.conv.weight.numpy()
    w = w / np.linalg.norm(w, axis=0, keepdims=True)
    return w.T @ w


def off_diagonal(matrix: np.ndarray) -> np.ndarray:
    return matrix[~np.eye(len(matrix), dtype=bool)]


def data_theta(model: ConvNet) -> np.ndarray:
    """ϑ over all training patches (not just one batch)."""
    with tg.no_grad():
        y = tg.tensor(x_train.reshape(-1, D), device=args.device) @ model.conv.weight
        return theta_matrix(y).numpy()


class FilterAngles(Callback):
    """Log the mean |cos| between different filters after every epoch."""

    def on_epoch_end(self, state) -> None:
        state.logs["filter_cos"] = float(np.abs(off_diagonal(filter_cosines(state.model)))
                                         .mean())


# %% [markdown]
# ## Training with and without R
#
# For each seed the three models start from the same weights and see the same batches.

# %%
val_loader = DataLoader((x_val, y_val), batch_size=len(x_val), shuffle=False)
test_loader = DataLoader((x_test, y_test), batch_size=len(x_test), shuffle=False)
tg.manual_seed(SEEDS[0])  # the first seed's initial weights, before any training
untrained = evaluate(ConvNet().to(args.device), test_loader, metrics=["accuracy"],
                     device=args.device)["accuracy"]
print(f"untrained network: test accuracy {untrained:.2%}")
results = {v: {"accuracy": [], "cos": [], "theta": []} for v in VARIANTS}
first: dict[str, dict] = {}  # seed-0 models, matrices and curves for the figures
init_cos, init_theta = [], []
for seed in SEEDS:
    for variant in VARIANTS:
        tg.manual_seed(seed)
        model = ConvNet(variant).to(args.device)
        if variant == "none":
            init_cos.append(filter_cosines(model))
            init_theta.append(data_theta(model))
        show = not args.quick and seed == SEEDS[0]
        if show:
            print(f"--- {LABELS[variant]} (seed {seed}) ---")
        history = fit(model, DataLoader((x_train, y_train), batch_size=64, seed=seed),
                      F.cross_entropy, Adam(model.parameters(), lr=1e-3), epochs=EPOCHS,
                      metrics=["accuracy"], validation=val_loader, callbacks=[FilterAngles()],
                      device=args.device, verbose=show)
        acc = evaluate(model, test_loader, metrics=["accuracy"], device=args.device)["accuracy"]
        cos, theta = filter_cosines(model), data_theta(model)
        results[variant]["accuracy"].append(acc)
        results[variant]["cos"].append(float(np.abs(off_diagonal(cos)).mean()))
        results[variant]["theta"].append(float(np.abs(off_diagonal(theta)).mean()))
        print(f"seed {seed}  {LABELS[variant]:<22} test accuracy {acc:.2%}   "
              f"mean |cos(w_i, w_j)| {results[variant]['cos'][-1]:.3f}   "
              f"mean |theta_ij| {results[variant]['theta'][-1]:.3f}")
        if seed == SEEDS[0]:
            first[variant] = {"cos": cos, "theta": theta, "history": history.history}

# %% [markdown]
# ## Figure 1: the Gram matrices before and after
#
# Top row: cos(wᵢ, wⱼ), the Gram matrix of the normalised filters. Bottom row: ϑ over all
# training patches, what the regulariser sees. Columns: at initialisation (the same for the
# three models) and after training without R, with R averaged per pair, and with R summed.
# White means orthogonal.

# %%
columns = [("at initialisation", init_cos[0], init_theta[0])] + \
          [(f"trained, {LABELS[v]}", first[v]["cos"], first[v]["theta"]) for v in VARIANTS]
fig, axes = plt.subplots(2, 4, figsize=(15, 7.4))
for j, (title, cos, theta) in enumerate(columns):
    for i, (matrix, name) in enumerate([(cos, "cos(w_i, w_j)"), (theta, "ϑ_ij")]):
        shown = matrix.copy()
        np.fill_diagonal(shown, np.nan)  # the diagonal is 1 (cos) or zeroed (ϑ): hide it
        image = axes[i, j].imshow(shown, cmap="RdBu_r", vmin=-1, vmax=1)
        axes[i, j].set(xticks=range(K), yticks=range(K))
        axes[i, j].tick_params(labelsize=7)
        axes[i, j].set_title(f"{title}\n{name}: mean |off-diag| "
                             f"{np.abs(off_diagonal(matrix)).mean():.3f}", fontsize=9)
fig.colorbar(image, ax=axes, shrink=0.8, label="value (diagonal hidden)")
fig.suptitle(f"3×3 filters of the first layer (seed {SEEDS[0]}): Gram matrix of the "
             "normalised filters (top) and the regulariser's ϑ (bottom)", fontsize=11)
lesson.save_figure(fig, args, "gram_matrices.png")
plt.close(fig)

# %% [markdown]
# ## Figure 2: is ϑ really an angle? And how training moves the filters
#
# Left: for every pair of filters of the three trained seed-0 models, ϑᵢⱼ against the angle
# θᵢⱼ between the filters, with the LSH prediction 1 − 2θ/π. Whitened digit patches are not
# Gaussian (many patches are plain background), so the points scatter around the line, but
# they follow it. Middle: the mean |cos| between filters after each epoch. Right: the
# validation accuracy after each epoch.

# %%
colors = {"none": "tab:gray", "averaged": "tab:red", "summed": "tab:blue"}
fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
angles = np.linspace(0, np.pi, 100)
axes[0].plot(np.degrees(angles), 1 - 2 * angles / np.pi, "k--", label="1 − 2θ/π (LSH)")
for v in VARIANTS:
    angle = np.degrees(np.arccos(np.clip(off_diagonal(first[v]["cos"]), -1, 1)))
    axes[0].scatter(angle, off_diagonal(first[v]["theta"]), s=10, color=colors[v],
                    label=LABELS[v])
axes[0].set(xlabel="angle between filters θ_ij (degrees)", ylabel="ϑ_ij over the data",
            title="ϑ estimates the angle between filters")
axes[0].legend(fontsize=8)
epochs = np.arange(1, EPOCHS + 1)
for v in VARIANTS:
    axes[1].plot(epochs, first[v]["history"]["filter_cos"], color=colors[v], label=LABELS[v])
    axes[2].plot(epochs, first[v]["history"]["val_accuracy"], color=colors[v],
                 label=LABELS[v])
axes[1].axhline(np.abs(off_diagonal(init_cos[0])).mean(), color="k", lw=0.8, ls=":",
                label="at initialisation")
axes[1].set(xlabel="epoch", ylabel="mean |cos(w_i, w_j)|, i ≠ j", title="filter overlap")
axes[1].legend(fontsize=8)
axes[2].set(xlabel="epoch", ylabel="validation accuracy", title="accuracy (180 images)")
axes[2].legend(fontsize=8)
fig.tight_layout()
lesson.save_figure(fig, args, "training.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# With R averaged per pair, ϑ over the data drops to a third of its value and the filters
# end up clearly closer to orthogonal than without it (mean |cos| about 0.16 against 0.24),
# at the same accuracy within the spread of the seeds. The filter cosines do not fall as far
# as ϑ: the patches are whitened but not Gaussian, so ϑ = 0 is not exactly θ = 90° (the
# scatter in figure 2). On this small, easy problem orthogonality does not buy accuracy,
# and we do not claim it does (the paper reports its gains for deep CNNs). The literal sums
# move the filters much less in the same number of steps (see "Sums or averages?" above).

# %%
elapsed = time.perf_counter() - started
summary = {v: {key: float(np.mean(values)) for key, values in results[v].items()}
           for v in VARIANTS}
for v in VARIANTS:
    summary[v]["accuracy_std"] = float(np.std(results[v]["accuracy"]))
    summary[v]["per_seed"] = results[v]
init = {"cos": float(np.mean([np.abs(off_diagonal(c)).mean() for c in init_cos])),
        "theta": float(np.mean([np.abs(off_diagonal(t)).mean() for t in init_theta]))}
print(f"mean |off-diagonal| of the filter Gram matrix: init {init['cos']:.3f}, "
      + ", ".join(f"{LABELS[v]} {summary[v]['cos']:.3f}" for v in VARIANTS))
print(f"mean |off-diagonal| of theta over the data:     init {init['theta']:.3f}, "
      + ", ".join(f"{LABELS[v]} {summary[v]['theta']:.3f}" for v in VARIANTS))
print("test accuracy: " + ", ".join(
    f"{LABELS[v]} {summary[v]['accuracy']:.2%} ± {summary[v]['accuracy_std']:.2%}"
    for v in VARIANTS) + f"; {elapsed:.0f} s")



def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """Every variant learns (far above the network untrained); the regulariser makes filters
    and ϑ more orthogonal than none."""
    floor = 0.6 if quick else 0.9
    acc, cos, theta = (m["test_accuracy"], m["gram_mean_abs_offdiag"],
                       m["theta_mean_abs_offdiag"])
    untrained = m["untrained_accuracy"]
    results = [(acc[v] > max(floor, untrained + 0.5), f"{v}: test accuracy {acc[v]:.3f} > "
                f"{floor} and > untrained {untrained:.3f} + 0.5")
               for v in ("none", "averaged", "summed")]
    return results + [
        (cos["averaged"] < cos["none"], f"filters are more orthogonal with R: mean |cos| "
         f"{cos['averaged']:.3f} < {cos['none']:.3f} without"),
        (theta["averaged"] < theta["none"], f"and so is ϑ over the data: mean |ϑ| "
         f"{theta['averaged']:.3f} < {theta['none']:.3f} without")]


lesson.finish({
    "gram_mean_abs_offdiag": {"init": init["cos"], **{v: summary[v]["cos"] for v in VARIANTS}},
    "theta_mean_abs_offdiag": {"init": init["theta"],
                               **{v: summary[v]["theta"] for v in VARIANTS}},
    "test_accuracy": {v: summary[v]["accuracy"] for v in VARIANTS},
    "untrained_accuracy": untrained, "details": summary, "epochs": EPOCHS, "seeds": SEEDS,
    "filters": K, "patch": PATCH,
    "lambda1": LAMBDA1, "lambda2": LAMBDA2, "gamma": GAMMA, "seconds": round(elapsed, 1)},
    args, checks)
