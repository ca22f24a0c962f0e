"""The clustering VAE of VAE part 4: its loss against the post's formula recomputed in NumPy,
the conv encoder/decoder shapes, and the two cluster accuracies on cases with known answers.
Each test can fail: a loss with the KL's sign flipped, or a majority map that counts a label
once per cluster, breaks the equalities here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.models.variational.clustering import (ClusterVAE, cluster_accuracy, confusion,
                                                   conv_decoder)


@pytest.fixture(autouse=True)
def float64():
    tg.set_default_dtype("float64")
    yield
    tg.set_default_dtype("float32")


def test_loss_is_the_posts_formula():
    tg.manual_seed(0)
    model = ClusterVAE(8, latent=3, classes=4, filters=(4, 6), hidden=5)
    model.means = tg.nn.Parameter(np.random.default_rng(1).standard_normal((4, 3)))
    x = np.random.default_rng(2).random((5, 1, 8, 8))
    terms = model.loss_terms(x, tg.Generator(3), lam=2.5)
    # the same numbers by hand, with the same ε
    mu, logvar = (t.numpy() for t in model.encoder(tg.tensor(x)))
    eps = tg.Generator(3).normal(mu.shape).numpy()
    z = mu + np.exp(0.5 * logvar) * eps
    recon = model.decoder(tg.tensor(z)).numpy()
    logits = model.classifier(tg.tensor(z)).numpy()
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    means = model.means.numpy()
    rec = 0.5 * ((x - recon) ** 2).sum(axis=(1, 2, 3))
    kl = (p * (-0.5 * (logvar[:, None, :] - (z[:, None, :] - means[None]) ** 2).sum(-1))).sum(1)
    cat = (p * np.log(p)).sum(1)
    np.testing.assert_allclose(terms["rec"].numpy(), rec.mean(), rtol=1e-10)
    np.testing.assert_allclose(terms["kl"].numpy(), kl.mean(), rtol=1e-10)
    np.testing.assert_allclose(terms["cat"].numpy(), cat.mean(), rtol=1e-10)
    np.testing.assert_allclose(terms["loss"].numpy(), 2.5 * rec.mean() + kl.mean() + cat.mean(),
                               rtol=1e-10)
    assert -math.log(4) - 1e-12 <= float(terms["cat"].numpy()) <= 0
    g = tg.grad(terms["loss"], model.means)  # the class means learn
    assert np.abs(g.numpy()).max() > 0


def test_shapes_and_samples():
    model = ClusterVAE(16, latent=4, classes=3, filters=(2, 3), hidden=4)
    x = tg.tensor(np.random.default_rng(0).random((7, 1, 16, 16)))
    assert model.decoder(tg.zeros(7, 4)).shape == (7, 1, 16, 16)
    assert model.codes(x, batch=3).shape == (7, 4)
    c = model.cluster(x, batch=3)
    assert c.shape == (7,) and c.min() >= 0 and c.max() < 3
    s = model.sample_cluster(2, 5, tg.Generator(0))
    assert s.shape == (5, 1, 16, 16) and s.min() >= 0 and s.max() <= 1
    with pytest.raises(tg.ShapeError, match="conv_decoder: side 10"):
        conv_decoder(4, 10, (2, 3))


@given(perm=st.permutations(range(5)), seed=st.integers(0, 1000))
def test_accuracy_of_a_relabelled_truth_is_one(perm, seed):
    labels = np.random.default_rng(seed).integers(0, 5, 200)
    clusters = np.asarray(perm)[labels]
    assert cluster_accuracy(clusters, labels) == 1.0
    assert cluster_accuracy(clusters, labels, "hungarian") == 1.0


@given(seed=st.integers(0, 1000))
def test_majority_is_never_below_hungarian(seed):
    rng = np.random.default_rng(seed)
    labels, clusters = rng.integers(0, 4, 60), rng.integers(0, 4, 60)
    assert cluster_accuracy(clusters, labels) >= cluster_accuracy(clusters, labels, "hungarian")


def test_two_clusters_sharing_a_label():
    labels = np.array([0, 0, 0, 0, 1, 1])
    clusters = np.array([0, 0, 1, 1, 2, 2])  # label 0 split in two clusters
    assert cluster_accuracy(clusters, labels) == 1.0                       # majority: fine
    assert cluster_accuracy(clusters, labels, "hungarian") == pytest.approx(4 / 6)
    np.testing.assert_array_equal(confusion(clusters, labels), [[2, 0], [2, 0], [0, 2]])
    with pytest.raises(tg.ShapeError, match="cluster_accuracy: clusters of shape"):
        cluster_accuracy(clusters, labels[:3])
    with pytest.raises(tg.ArgumentError, match="method must be"):
        cluster_accuracy(clusters, labels, "best")


def test_init_means_moves_the_means_to_k_means_centres_of_the_codes():
    model = ClusterVAE(8, latent=2, classes=3, filters=(2, 3), hidden=4)
    x = tg.tensor(np.random.default_rng(0).random((30, 1, 8, 8)))
    centres = model.init_means(x, seed=0)
    np.testing.assert_allclose(model.means.numpy(), centres, rtol=1e-6)
    codes = model.codes(x)
    nearest = ((codes[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    for c in range(3):  # each centre is the mean of the codes nearest to it
        np.testing.assert_allclose(centres[c], codes[nearest == c].mean(0), atol=1e-6)


def test_a_lesson_job_returns_a_model_that_reproduces_its_clusters():
    """fit_cluster_vae (a worker's job: plain values out) returns weights that, loaded into a
    fresh ClusterVAE, give the same test clusters; the curve has the k-means start at warm."""
    from tinygen.models.variational.clustering import cluster_images, fit_cluster_vae

    fit = fit_cluster_vae(data="digits 8x8", steps=4, warm=2, lam=40.0, eval_at=[2, 4],
                          filters=(4, 8), n_train_eval=50)
    assert sorted(fit["curve"]) == [2, 4] and fit["cpu_seconds"] > 0
    assert len(fit["log"]["loss"]) == 4 and len(fit["train_clusters"]) == 50
    model = ClusterVAE(fit["side"], 20, 10, (4, 8))
    model.load_state_dict(fit["state"])
    model.eval()
    _, _, xt, _ = cluster_images("digits 8x8")
    np.testing.assert_array_equal(model.cluster(tg.tensor(xt)), fit["test_clusters"])


def test_a_binary_job_trains_on_binarised_batches(monkeypatch):
    """With binary=True every training batch is 0/1 (the digits' grey levels are drawn, not
    passed through); without it the grey levels reach the loss."""
    from tinygen.models.variational.clustering import fit_cluster_vae

    original, seen = ClusterVAE.loss_terms, []

    def spy(self, x, *args, **kwargs):
        seen.append(np.unique(x.numpy()))
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(ClusterVAE, "loss_terms", spy)
    for binary in (True, False):
        seen.clear()
        fit_cluster_vae(data="digits 8x8", steps=3, warm=1, lam=40.0, eval_at=[3],
                        filters=(2, 4), n_train_eval=10, binary=binary)
        values = np.unique(np.concatenate(seen))
        assert len(seen) == 3
        if binary:
            assert set(values.tolist()) == {0.0, 1.0}
        else:
            assert len(values) > 2


def test_unknown_dataset_raises():
    from tinygen.errors import ArgumentError
    from tinygen.models.variational.clustering import cluster_images

    with pytest.raises(ArgumentError, match="cluster_images: unknown dataset 'MNIST'"):
        cluster_images("MNIST")


def test_learned_variances_enter_the_kl_as_a_gaussians_log_density():
    """With learn_var the KL term is Σ_y p(y|z)·Σ_i −½(log σ_i² − log s_{y,i}² − (z_i −
    μ_{y,i})²/s_{y,i}²) (the post's term with N(μ_y, diag s_y²) in place of N(μ_y, I)); at
    s = 1 it is the post's. Fails if the variance divides the wrong way or its log is dropped."""
    tg.manual_seed(0)
    model = ClusterVAE(8, latent=3, classes=4, filters=(4, 6), hidden=5, learn_var=True)
    x = np.random.default_rng(2).random((5, 1, 8, 8))
    plain = ClusterVAE(8, latent=3, classes=4, filters=(4, 6), hidden=5)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if k != "logvars"})
    np.testing.assert_allclose(model.loss_terms(x, tg.Generator(3))["kl"].numpy(),
                               plain.loss_terms(x, tg.Generator(3))["kl"].numpy(), rtol=1e-12)
    lv = np.random.default_rng(4).standard_normal((4, 3))
    model.logvars = tg.nn.Parameter(lv)
    kl = model.loss_terms(x, tg.Generator(3))["kl"].numpy()
    mu, logvar = (t.numpy() for t in model.encoder(tg.tensor(x)))
    z = mu + np.exp(0.5 * logvar) * tg.Generator(3).normal(mu.shape).numpy()
    logits = model.classifier(tg.tensor(z)).numpy()
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d2 = (z[:, None, :] - model.means.numpy()[None]) ** 2
    want = (p * (-0.5 * (logvar[:, None] - lv[None] - d2 * np.exp(-lv[None])).sum(-1))).sum(1)
    np.testing.assert_allclose(kl, want.mean(), rtol=1e-10)
    assert np.abs(tg.grad(model.loss_terms(x, tg.Generator(3))["loss"],
                          model.logvars).numpy()).max() > 0


def test_a_pretrained_job_starts_from_the_plain_vaes_weights(monkeypatch):
    """pretrain > 0: the clustering VAE is the baseline's MLP and its encoder starts from the
    plain VAE's trained weights, so at step 0 (before any clustering step) its codes are the
    plain VAE's. Fails if the weights are not copied (a fresh MLP's codes differ)."""
    from tinygen.models.variational import vae as V
    from tinygen.models.variational.clustering import cluster_images, fit_cluster_vae

    trained, codes = [], []
    original_fit, original_init = V.fit_vae, ClusterVAE.init_means

    def fit_spy(vae, *args, **kwargs):
        out = original_fit(vae, *args, **kwargs)
        trained.append(vae)
        return out

    def init_spy(self, x, seed=0, n_init=10):
        codes.append(self.codes(x))
        return original_init(self, x, seed, n_init)

    monkeypatch.setattr(V, "fit_vae", fit_spy)
    monkeypatch.setattr(ClusterVAE, "init_means", init_spy)
    fit = fit_cluster_vae(data="digits 8x8", steps=2, warm=0, lam=40.0, eval_at=[0, 2],
                          n_train_eval=10, pretrain=5)
    assert len(trained) == 1 and sorted(fit["curve"]) == [0, 2]
    x, _, _, _ = cluster_images("digits 8x8")
    with tg.no_grad():
        want = trained[0].encoder(tg.tensor(x[:5000].reshape(len(x[:5000]), -1)))[0].numpy()
    np.testing.assert_allclose(codes[0], want, rtol=1e-5, atol=1e-6)
    model = ClusterVAE(fit["side"], 20, 10, arch="mlp")
    model.load_state_dict(fit["state"])


def test_baselines_and_the_means_start_use_one_k_means_procedure(monkeypatch):
    """Every k-means of lesson 19 (pixels, plain-VAE codes, the clustering VAE's means start)
    gets the same restarts (``n_init``) and the seed as random_state, and the start is fitted
    on the first ``kmeans_fit`` images. Fails if any of them keeps its own restart count."""
    import sklearn.cluster

    from tinygen.models.variational.clustering import fit_cluster_vae, kmeans_baselines

    original, made = sklearn.cluster.KMeans, []

    def spy(*args, **kwargs):
        made.append(kwargs)
        km = original(*args, **kwargs)
        fit = km.fit

        def fit_spy(data):
            made[-1]["rows"] = len(data)
            return fit(data)

        km.fit = fit_spy
        return km

    monkeypatch.setattr(sklearn.cluster, "KMeans", spy)
    kmeans_baselines(data="digits 8x8", steps=2, seed=3, n_init=2, n_fit=200)
    fit_cluster_vae(data="digits 8x8", steps=2, warm=1, lam=40.0, eval_at=[2], seed=3,
                    filters=(2, 4), n_train_eval=10, n_init=2, kmeans_fit=100)
    assert [(k["n_init"], k["random_state"], k["rows"]) for k in made] == [
        (2, 3, 200), (2, 3, 200), (2, 3, 100)]


def test_unknown_architecture_raises():
    from tinygen.errors import ArgumentError

    with pytest.raises(ArgumentError, match="ClusterVAE: arch must be 'conv' or 'mlp'"):
        ClusterVAE(8, arch="resnet")
