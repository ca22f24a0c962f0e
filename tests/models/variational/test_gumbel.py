"""The categorical VAE's estimators against the exact ELBO, enumerated over every code of a
tiny model: the discrete −ELBO estimate and the REINFORCE gradient are unbiased (with or
without a baseline), and the relaxed estimators give finite, low-variance gradients.
Each test can fail: a surrogate with log q's sign flipped, or a decoder fed the relaxed
sample in REINFORCE, moves the averages by many standard errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygen as tg
from tinygen.models.variational.gumbel import CategoricalVAE, gradient_variance


@pytest.fixture(autouse=True)
def float64():
    tg.set_default_dtype("float64")
    yield
    tg.set_default_dtype("float32")


def tiny():
    tg.manual_seed(0)
    model = CategoricalVAE(3, latents=1, classes=4, hidden=(5,))
    x = np.array([[1.0, 0.0, 1.0]])
    return model, x


def exact_neg_elbo(model, x):
    """Σ_k q_k·(−log p(x | k)) + KL(q ‖ uniform), by enumerating the 4 codes."""
    logits = model.logits(tg.tensor(x))[0, 0]
    q = tg.F.softmax(logits)
    codes = tg.tensor(np.eye(4))
    out = model.decoder(codes)
    nll = -(tg.tensor(x) * out - tg.softplus(out)).sum(axis=1)
    return (q * nll).sum() + tg.F.kl_to_uniform(logits)


def test_discrete_neg_elbo_and_reinforce_gradient_are_unbiased():
    model, x = tiny()
    n = 40_000
    batch = tg.tensor(np.repeat(x, n, axis=0))
    exact = exact_neg_elbo(model, x)
    est = model.neg_elbo(batch, tg.Generator(0))
    assert abs(est.mean() - float(exact.numpy())) < 5 * est.std() / np.sqrt(n)
    enc = [p for name, p in model.named_parameters() if name.startswith("encoder")]
    want = np.concatenate([g.numpy().ravel() for g in tg.grad(exact, enc)])
    for b in (0.0, 3.0):
        loss, _ = model.loss(batch, "reinforce", generator=tg.Generator(1), baseline=b)
        got = np.concatenate([g.numpy().ravel() for g in tg.grad(loss, enc)])
        np.testing.assert_allclose(got, want, atol=0.03 * np.abs(want).max())


def test_relaxed_estimators_and_their_variance():
    model, x = tiny()
    batch = tg.tensor(np.repeat(x, 8, axis=0))
    enc = [p for name, p in model.named_parameters() if name.startswith("encoder")]
    for e in ("gumbel", "st"):
        loss, per = model.loss(batch, e, tau=0.5, generator=tg.Generator(2))
        assert per.shape == (8,) and np.isfinite(float(loss.numpy()))
        assert np.isclose(float(loss.numpy()), per.mean())  # the loss is the −ELBO sample
    v = {e: gradient_variance(model, batch, e, enc, repeats=30, tau=1.0)
         for e in ("gumbel", "st", "reinforce")}
    assert v["gumbel"] < v["reinforce"] and v["st"] < v["reinforce"]
    with pytest.raises(tg.ArgumentError, match="estimator must be one of"):
        model.loss(batch, "concrete")
