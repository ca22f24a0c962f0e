# %% [markdown]
# # Lesson 22: InfoGAN — codes that find the digit classes without labels
#
# A GAN's noise z is used however G likes: no single coordinate means "which digit" or
# "how slanted". InfoGAN (Chen et al. 2016; the GAN survey post) splits the input into
# noise z and a structured code c, and asks that c be recoverable from the image: it
# maximises the mutual information I(c; G(z, c)). That is intractable, but a head Q(c|x)
# gives a lower bound,
#
#     I(c; G(z, c)) ≥ E_{c ~ p(c), x = G(z, c)} log Q(c|x) + H(c),
#
# which G and Q maximise together while G also plays the usual GAN game:
#
#     D, Q:  SGAN critic loss + L_info        G, Q:  −E log σ(D(G(z, c))) + L_info,
#     L_info = CE(Q_cat(x), c_cat) + λ_cont·½‖c_cont − μ_Q(x)‖²      (λ_cont = 0.1),
#
# c_cat a 10-way categorical code (one-hot), c_cont two codes ~ U(−1, 1) (Q: a unit-variance
# Gaussian, so log Q is −½‖c − μ_Q‖² up to a constant). Q is one small head on D's body, so
# it costs almost nothing. No label is ever used. If the easiest way for G to make c_cat
# recoverable is to draw a different digit for each value, c_cat *becomes* the class.
#
# **The check.** Q's categorical guess on real test digits, argmax Q_cat(x), is a
# clustering; mapping each of its 10 values to the most frequent true label among the
# digits it takes (majority mapping) gives an accuracy: chance is about 11% (every
# cluster's majority), a random Q head about 20%. The issue asks ≥ 70% (the paper: 5%
# error on full MNIST, 95%). We also sweep the continuous codes across rows: they should
# change style (width, slant) smoothly while the digit stays.
#
# **Sizes.** The paper's MNIST networks, narrowed and shrunk to 14×14 digits: G is
# Linear 256 → BatchNorm, ReLU → Linear 64·7·7 → BatchNorm, ReLU → ConvTranspose 4×4 stride
# 2 to one channel → tanh (the paper: 1024 and 128·7·7, two transposed convs for 28×28); D's
# body is Conv 32 4×4/2 → LeakyReLU → Conv 64 4×4/2 → BatchNorm, LeakyReLU → Linear 256 →
# BatchNorm, LeakyReLU (the paper: 64, 128, 1024), shared by D's score and Q's head, Linear 64
# → BatchNorm, LeakyReLU → the 10 logits and 2 means (the paper: 128). Noise z: 62 standard
# normals; λ = 1 for the categorical code and λ_cont = 0.1 for the continuous ones, a
# unit-variance Gaussian (the paper's text asks a smaller λ for continuous codes; its released
# MNIST script uses 1 for all, with σ fixed at 1: see the end for what each gave); Adam
# (β₁ = 0.5) at 2·10⁻⁴ for D and Q, 10⁻³ for G, as in the paper. Data:
# the 8,000 training digits of MNIST-10k; 4,000 rounds of one D+Q and one G step on batches
# of 64, 256,000 samples (the released script: 5,000 updates on batches of 128). `--quick`:
# 8×8 digits, half-width networks, 500 rounds at 10⁻³ / 2·10⁻³.
#
# Exercise: frechet_distance (the GAN topic's).

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import lesson
from tinygen.models.image_gans import digit_data, digit_feature_net, plot_sample_rows, sample
from tinygen.models.infogan import (InfoCritic, InfoGenerator, info_latent, majority_accuracy,
                                    q_codes, sweep_consistency, train_infogan)

args = lesson.parse("22_infogan", "InfoGAN on MNIST-5k (14x14): a categorical and two "
                    "continuous codes, the Q head on D's body")
started = time.perf_counter()

NOISE, CATS, CONTS = 62, 10, 2
CONT_WEIGHT = 0.1  # λ for the continuous codes' term (the categorical one's is 1)
ROUNDS = 500 if args.quick else 4000
LR_D, LR_G = (1e-3, 2e-3) if args.quick else (2e-4, 1e-3)
FC, G_MAPS, D_CHANNELS, Q_HIDDEN = (128, 32, (16, 32), 32) if args.quick else \
    (256, 64, (32, 64), 64)

real, y_train, real_test, y_test, size = digit_data(args.quick, "mnist10k")
print(f"{len(real):,} training images {real.shape[1:]}; {ROUNDS} rounds")

# %% [markdown]
# ## Before training: what a random Q head's clusters score
#
# The same networks, untrained: their "clusters" of the test digits already beat the
# one-cluster chance level a little, because any function of the pixels groups similar
# digits. That is the baseline to beat.

# %%
tg.manual_seed(args.seed)
generator = InfoGenerator(NOISE + CATS + CONTS, size, FC, G_MAPS).to(args.device)
critic = InfoCritic(size, D_CHANNELS, CATS, CONTS, hidden=Q_HIDDEN, q_batchnorm=True,
                    fc=FC).to(args.device)
untrained_accuracy = majority_accuracy(q_codes(critic, real_test, args.device)[0], y_test)
chance = float(np.bincount(y_test).max() / len(y_test))
print(f"majority mapping: one cluster {chance:.1%}, untrained Q head {untrained_accuracy:.1%}")


def consistency(seed: int) -> list[dict[str, float]]:
    """Per continuous code: the mean Spearman correlation of the code with the drawn digit's
    width and slant over 100 random latents (`sweep_consistency`)."""
    return [sweep_consistency(generator, j, noise=NOISE, categories=CATS, continuous=CONTS,
                              rng=np.random.default_rng(seed), device=args.device)
            for j in range(CONTS)]


untrained_consistency = consistency(args.seed + 8)

# %% [markdown]
# ## Training

# %%
history = train_infogan(generator, critic, real, ROUNDS, noise=NOISE, categories=CATS,
                        continuous=CONTS, weight=CONT_WEIGHT, batch=64, lr=LR_D, lr_g=LR_G,
                        seed=args.seed,
                        device=args.device,
                        log_every=0 if args.quick else ROUNDS // 10)
clusters, test_means = q_codes(critic, real_test, args.device)
accuracy = majority_accuracy(clusters, y_test)
table = np.zeros((CATS, 10), int)
np.add.at(table, (clusters, y_test), 1)
mapping = table.argmax(axis=1)
print(f"{history['seconds']:.0f} s; Q's categorical code on test digits: majority-mapping "
      f"accuracy {accuracy:.1%} (untrained {untrained_accuracy:.1%}); code → digit "
      f"{dict(enumerate(mapping.tolist()))}")

# %% [markdown]
# ## What each code value draws, and what the classifier says
#
# Row k: c_cat = k with the same ten (z, c_cont) in every row. The held-out classifier of
# lesson 21 reads the samples: how often does the digit drawn for code k match the digit
# that code k was mapped to on real data?

# %%
net = digit_feature_net("digits" if args.quick else "mnist", device=args.device)
rng = np.random.default_rng(args.seed + 5)
n_per = 50 if args.quick else 100
cat_eval = np.repeat(np.arange(CATS), n_per)
latent, _, _ = info_latent(rng, len(cat_eval), NOISE, CATS, CONTS, cat=cat_eval)
generated = sample(generator, latent, args.device)
generated_agreement = float((net.probabilities(generated).argmax(1) == mapping[cat_eval]).mean())
print(f"generated digits classified as their code's mapped digit: {generated_agreement:.1%}")

order = np.argsort(mapping, kind="stable")  # rows sorted by the digit each code draws
base, _, _ = info_latent(np.random.default_rng(args.seed + 6), 10, NOISE, CATS, CONTS,
                         cat=np.zeros(10, int))
rows = []
for k in order:
    lat = base.copy()
    lat[:, NOISE:NOISE + CATS] = np.eye(CATS)[k]
    rows.append(sample(generator, lat, args.device))
fig = plot_sample_rows(rows, [f"c = {k} (→ {mapping[k]})" for k in order],
                       f"InfoGAN: one row per categorical code ({accuracy:.1%} by majority "
                       "mapping, no labels used)")
lesson.save_figure(fig, args, "categorical.png")
plt.close(fig)

# %% [markdown]
# ## Sweeping the continuous codes
#
# For three code values, c_cont,1 (then c_cont,2) goes from −2 to 2 along a row (beyond the
# training range [−1, 1]), everything else fixed. To put a number on "smooth variation of
# width or slant", `sweep_consistency` sweeps each code over [−1, 1] for 100 random latents
# and averages the Spearman correlation between the code and the digit's width and slant
# (from its ink's moments, `shape_moments`). It is reported next to the same number for the
# untrained generator and not checked: a random network is already a smooth function of its
# input, and its codes too can move the slant consistently (|ρ| 0.74 for one code in the
# quick run), so "smooth" alone is no evidence of a learned meaning.

# %%
sweep = np.linspace(-2, 2, 9)
rows, labels = [], []
z_one = np.random.default_rng(args.seed + 7).standard_normal(NOISE).astype(np.float32)
for j in range(CONTS):
    for k in order[:3]:
        lat = np.zeros((len(sweep), NOISE + CATS + CONTS), np.float32)
        lat[:, :NOISE] = z_one
        lat[:, NOISE + k] = 1.0
        lat[:, NOISE + CATS + j] = sweep
        rows.append(sample(generator, lat, args.device))
        labels.append(f"c_cont{j + 1}, c = {k}")
fig = plot_sample_rows(rows, labels, "continuous codes from −2 to 2")
code_consistency = consistency(args.seed + 8)
for j, (after, before) in enumerate(zip(code_consistency, untrained_consistency)):
    print(f"c_cont{j + 1}: Spearman with width {after['width']:+.2f}, slant "
          f"{after['slant']:+.2f} (untrained {before['width']:+.2f}, {before['slant']:+.2f})")
lesson.save_figure(fig, args, "continuous.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# **What changed, and what it measured.** The first versions of this lesson used lesson 21's
# DCGAN networks (no fully connected layers; the code could only add a pattern to G's first
# maps) at 2·10⁻³ for both players, on MNIST-5k. The best of those runs reached 69.7% after
# 4,000 rounds (68.5% after 3,000 and after 4,500; 39–57% at lower rates or larger λ), with
# two codes drawing 8s and none drawing 5s: the check failed. With the paper's layout above
# (fully connected layers in G and in the shared body, BatchNorm in Q, the paper's rates,
# 62 noise dimensions, the 8,000 digits of MNIST-10k), a run of the same networks and
# settings outside the lesson (seed 0, Q scored on these test digits every 500 rounds) gave:
#
# | rounds                | 500   | 1,000 | 1,500 | 2,000 | 2,500 | 3,000 | 3,500 | 4,000 |
# |-----------------------|-------|-------|-------|-------|-------|-------|-------|-------|
# | Q on real test digits | 24.6% | 34.4% | 60.2% | 63.8% | 70.1% | 69.9% | 71.9% | 69.7% |
#
# (255 s of CPU for the 4,000 rounds and the eight scorings.) So the paper's layout levels
# off at the same 70% as the first versions, give or take two points from one scoring to
# the next: it is not the 80% and more that would make the check safe.
#
# **This lesson's full runs with λ_cont = 1** (4,000 rounds, 4.2 minutes of CPU each):
#
# | seed | Q on real test digits | random Q head | distinct digits | generated agreement |
# |------|-----------------------|---------------|-----------------|---------------------|
# | 0    | **64.4%** ✗           | 15.2%         | 9 (two codes take the 1s, none the 9s) | 66.7% |
# | 1    | **72.4%** ✓           | 24.2%         | 10              | 68.6%               |
#
# With the same-settings run's 69.7%, three runs give 64–72%: the categorical code does
# find the digits for most of them (one cluster alone scores 12.4%), but whether it clears
# 70% is a matter of the seed, and seed 0, the default, fails the check. The first
# versions' 69.7% was one seed of the same spread. What the paper's layout did not fix is a
# pair of codes sharing one digit while another digit has no code of its own (in seed 0's
# grid the code mapped to 4 draws 4s and 9s alike), and its samples are speckled: one
# transposed conv straight to pixels, as in the paper, is rough at 14×14.
#
# **Tried since: other settings, chosen on other seeds.** So that the choice would not rest
# on the checked seeds' test labels, each setting was first run on development seeds 2, 3
# and 4 for 2,500 rounds (at which the curve above is within a few points of its plateau),
# Q scored on 2,000 *training* digits (labels used only for this scoring), and only the
# best then run in full on seeds 0 and 1:
#
# | setting (2,500 rounds)                           | seed 2 | seed 3 | seed 4 | mean  |
# |--------------------------------------------------|--------|--------|--------|-------|
# | this lesson's (Q's head with D at 2·10⁻⁴)        | 66.8%  | 62.0%  | 63.0%  | 63.9% |
# | Q's head at G's rate 10⁻³ (`lr_q`)               | 67.4%  | 66.2%  | 62.4%  | 65.3% |
# | λ = 2 for the categorical term                   | 63.1%  |        |        |       |
# | one-hot code ×3 into G (more weight in G's input)| 62.1%  |        |        |       |
# | D and Q at 4·10⁻⁴                                | 55.2%  | 64.1%  |        |       |
#
# (The last three were stopped once they lost on seed 2; about 145 s of CPU per run.) Q's
# head at 10⁻³, the only one ahead, in this lesson's full runs: seed 0 **67.7%** (8 distinct
# digits), seed 1 **63.9%** (9), both ✗ (213 s of CPU each), against 64.4% and 72.4% with
# Q at D's rate. Over the five seeds it changed the result by −8.5 (seed 1) to +4.2 (seed 3)
# points, the size of the spread between seeds, so the lesson keeps the paper's rates.
# Longer training does not help either: the same settings run on to 5,500 rounds (about
# the most the 5-minute budget allows) scored, at 3,000 / 4,000 / 4,500 / 5,000 / 5,500
# rounds, 65.3 / 68.5 / 70.1 / 67.9 / 72.3% on seed 2 and 62.0 / 61.8 / 60.5 / 61.3 / 61.3%
# on seed 3: a plateau that wobbles by a few points from one scoring to the next.
#
# **Then: the continuous codes' weight, and four more levers** (same protocol: seeds 2, 3, 4,
# 2,500 rounds, 2,000 training digits; a setting was dropped once it lost on seed 2):
#
# | setting (2,500 rounds)                                   | seed 2 | seed 3 | seed 4 | mean  |
# |----------------------------------------------------------|--------|--------|--------|-------|
# | λ_cont = 0.1 (the paper's text: smaller for continuous)  | 70.9%  | 68.6%  | 59.5%  | 66.3% |
# | 16 noise dimensions instead of 62                        | 60.3%  |        |        |       |
# | stratified c_cat, each code ≥ 6 times a batch (`balanced`) | 62.6% |       |        |       |
# | Q's head without BatchNorm                               | 59.4%  |        |        |       |
# | D spectrally normalised, no BatchNorm in D or Q          | 49.2%  |        |        |       |
#
# (λ_cont = 3 was stopped at 1,000 rounds, 26.4% against the baseline's 34.3%.) Two
# diagnostics were logged with each score. Q recovers the code of G's *own* samples 96–100%
# of the time from round 500 on, in every setting: the information term is won early, and
# what differs between runs is which partition of the digits G's ten codes settle on.
# And Q with batch statistics on real batches of 64 scores within 1.5 points of Q with
# BatchNorm's running statistics at 2,500 rounds (e.g. 59.4 / 60.5%, 70.9 / 69.6%), so the
# running statistics are not what holds the score back; removing BatchNorm did not help.
#
# λ_cont = 0.1, ahead on two of the three development seeds (mean 66.3% against 63.9%), is
# what this lesson now uses. Its full runs (4,000 rounds; 289 and 288 s of CPU, measured with
# `/usr/bin/time` while the two cores ran about thirteen jobs, so somewhat above the 4.2
# minutes of the same work on a quieter machine):
#
# | seed | Q on real test digits | random Q head | distinct digits | generated agreement |
# |------|-----------------------|---------------|-----------------|---------------------|
# | 0    | **70.7%** ✓           | 15.2%         | 9 (two codes take the 1s, none the 5s) | 72.6% |
# | 1    | **62.1%** ✗           | 24.2%         | 8 (4 and 2 twice; no 5s, 9s) | 56.0%       |
#
# So the default seed now clears the bar, but this is not the reliable fix the check would
# need: against λ_cont = 1 the change was +4.1, +6.6, −3.5 points on seeds 2, 3, 4 (2,500
# rounds) and +6.3, −10.3 on seeds 0, 1 (4,000 rounds), a mean of +0.6, the size of the
# spread between seeds; with λ_cont = 0.1 the five seeds score 59.5–70.9%. The same two
# failures (one digit split between two codes, 4s and 9s merged under one) recur in every
# setting tried. With the weaker continuous term the continuous codes
# mean less: on seed 0, c_cont1's width correlation is −0.61 (untrained −0.64) and c_cont2's
# +0.21, on seed 1 c_cont1's slant correlation −0.58 (untrained −0.18) and c_cont2's +0.09.
#
# **Then the engine changed under it.** Batch normalisation became one primitive with Numba
# kernels (`tinygen.standardize`; the same formula, rounded differently), and GAN training
# amplifies the last bit of a product. The same seed 0 now gives **67.8%** ✗ (8 distinct
# digits, generated agreement 73.2%; c_cont1's slant correlation +0.65, c_cont2's +0.31):
# a fresh draw from the same spread, and one more sign that the seed, not the settings,
# decides this check.

# %%
elapsed = time.perf_counter() - started
metrics = {"data": "digits 8x8" if args.quick else "mnist10k 14x14", "rounds": ROUNDS,
           "lr_d": LR_D, "lr_g": LR_G, "cont_weight": CONT_WEIGHT,
           "categorical_accuracy": accuracy, "untrained_accuracy": untrained_accuracy,
           "chance": chance, "code_to_digit": mapping.tolist(),
           "digits_found": int(len(set(mapping.tolist()))),
           "generated_agreement": generated_agreement,
           "code_consistency": code_consistency, "untrained_consistency": untrained_consistency,
           "final_info_loss": float(np.mean(history["info_loss"][-50:])),
           "max_abs_loss": float(max(np.abs(history[k]).max()
                                     for k in ("d_loss", "g_loss", "info_loss"))),
           "train_seconds": round(history["seconds"], 1), "seconds": round(elapsed, 1)}
print(f"categorical code = digit class for {accuracy:.1%} of test digits; "
      f"{metrics['digits_found']} distinct digits; total {elapsed:.0f} s")


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """The categorical code, learned without labels, matches the digit classes well above a
    random Q head (≥ 70% in the full run), and the losses stay finite."""
    need = 0.3 if quick else 0.7
    acc, base = m["categorical_accuracy"], m["untrained_accuracy"]
    return [(acc >= need and acc > base + 0.1,
             f"Q's categorical code matches digit classes for {acc:.1%} of test digits by "
             f"majority mapping (≥ {need:.0%} and > untrained {base:.1%} + 10 points)"),
            (m["max_abs_loss"] < float("inf"),
             f"losses stayed finite (max |loss| {m['max_abs_loss']:.2f})")]


lesson.finish(metrics, args, checks)
