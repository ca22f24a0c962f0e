"""Checker for fvae_loss: the f-VAE's per-image loss, a VAE's −ELBO with a flow prior."""

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, close, floats, prop, st

TITLE = "The f-VAE loss: a Gaussian decoder, a flow prior and the log-det through σ₁"
TOPIC = "probability"
DIFFICULTY = 2
LESSON = "17_f_vae"
FUNCTIONS = ["fvae_loss"]

sizes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3))  # B, D, d


def _inputs(data, b, big_d, d):
    return {"x": data.draw(arrays((b, big_d), -2, 2)), "g": data.draw(arrays((b, big_d), -2, 2)),
            "log_var2": data.draw(floats(-3, 2)), "f": data.draw(arrays((b, d), -3, 3)),
            "logdet_f": data.draw(arrays((b,), -3, 3)), "log_var1": data.draw(floats(-3, 2)),
            "u": data.draw(arrays((b, d), -3, 3))}


@prop("fvae_loss = ‖G − x‖²/(2σ₂²) + (D/2)·log 2πσ₂² + ½‖F‖² − log|det ∂F/∂z| − d·log σ₁ "
      "− ½‖u‖² per image", "compare term by term with the docstring's formula",
      size=sizes, data=st.data())
def formula(student, ref, size, data):
    kw = _inputs(data, *size)
    close(student.fvae_loss(**kw), ref.fvae_loss(**kw), "fvae_loss(...)", **kw)


@prop("with F = identity, E(x) = 0 and σ₁ = 1 the latent terms cancel: the loss is "
      "−log N(x; G, σ₂²)", "the prior's ½‖F‖² and the posterior's −½‖u‖² cancel when F(z) = u",
      size=sizes, data=st.data())
def identity_flow(student, ref, size, data):
    kw = _inputs(data, *size)
    kw.update(f=kw["u"], logdet_f=np.zeros(size[0]), log_var1=0.0)
    d2 = (kw["x"] - kw["g"]) ** 2
    expected = 0.5 * (d2 / np.exp(kw["log_var2"]) + kw["log_var2"] + np.log(2 * np.pi)).sum(-1)
    close(student.fvae_loss(**kw), expected, "fvae_loss with an identity flow", **kw)


@prop("the decoder term is a normalised density of x: ∫ exp(−loss) dx = 1 (D = 1, identity "
      "flow), whatever σ₂", "the learned σ₂ needs its log σ₂ term", sigma=floats(-3, 1))
def normalised(student, ref, sigma):
    xs = np.linspace(-40, 40, 80_001)[:, None]
    z = np.zeros((len(xs), 1))
    loss = student.fvae_loss(xs, z, sigma, z, np.zeros(len(xs)), 0.0, z)
    total = np.trapezoid(np.exp(-np.asarray(loss)), dx=xs[1, 0] - xs[0, 0])
    if abs(total - 1) > 1e-4:
        raise Mismatch(f"∫ exp(−fvae_loss) dx = {total:.6f} for log σ₂² = {sigma:.3f}, not 1")


@prop("raising log σ₁² by c (u, F(z), log|det ∂F/∂z| held) lowers the loss by (d/2)·c: "
      "log|det ∂F/∂u| = d·log σ₁ + log|det ∂F/∂z|", "∂F/∂u = σ₁·∂F/∂z, since z = σ₁u + E(x)",
      size=sizes, data=st.data(), c=floats(-2, 2))
def sigma1(student, ref, size, data, c):
    kw = _inputs(data, *size)
    before = np.asarray(student.fvae_loss(**kw))
    kw["log_var1"] += c
    close(before - np.asarray(student.fvae_loss(**kw)), np.full(size[0], size[2] / 2 * c),
          "loss(log σ₁²) − loss(log σ₁² + c)", c=c, **kw)
