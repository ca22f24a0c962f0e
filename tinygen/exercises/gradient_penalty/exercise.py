"""Checker for gradient_penalty: WGAN-GP's penalty through tinygen.grad(create_graph=True)."""


import tinygen as tg
from tinygen.exercises.check import Mismatch, arrays, close, prop, st


TITLE = "The gradient penalty with grad(create_graph=True)"
TOPIC = "GANs"
DIFFICULTY = 3
LESSON = "10_gan_mode_coverage"
FUNCTIONS = ["gradient_penalty"]


@st.composite
def case(draw):
    b, d, h = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return (draw(arrays((b, d))), draw(arrays((b, d))), draw(arrays((b, 1), 0.0, 1.0)),
            draw(arrays((d, h), -2, 2)))


def _critic(weights):
    """A small critic D(x) = Σ_h tanh(x @ W)_h and its weight W (requiring grad)."""
    w = tg.tensor(weights, requires_grad=True)
    return (lambda x: tg.sum(tg.tanh(x @ w), axis=1)), w


def _penalty(module, real, fake, eps, weights):
    critic, w = _critic(weights)
    out = module.gradient_penalty(critic, tg.tensor(real), tg.tensor(fake), tg.tensor(eps))
    if not isinstance(out, tg.Tensor):
        raise Mismatch(f"gradient_penalty must return a tinygen Tensor, got {type(out).__name__}")
    return out, w


@prop("penalty = mean over the batch of (‖∇ₓ D(x̂)‖ − 1)², x̂ = ε·x_r + (1 − ε)·x_f", "",
      data=case())
def value(student, ref, data):
    real, fake, eps, weights = data
    got, _ = _penalty(student, real, fake, eps, weights)
    want, _ = _penalty(ref, real, fake, eps, weights)
    close(got, want, "gradient_penalty", real=real, fake=fake, eps=eps, W=weights)


@prop("the penalty can be differentiated w.r.t. the critic's weights (its gradient is the "
      "reference's)", "tg.grad(..., create_graph=True) keeps the graph of the gradient, so "
      "the penalty can train the critic", data=case())
def trainable(student, ref, data):
    real, fake, eps, weights = data
    got, w = _penalty(student, real, fake, eps, weights)
    want, w_ref = _penalty(ref, real, fake, eps, weights)
    if not got.requires_grad:
        raise Mismatch("the penalty does not depend on the critic's weights: did you pass "
                       "create_graph=True to tg.grad?")
    close(tg.grad(got, w, allow_unused=True), tg.grad(want, w_ref),
          "d penalty / d W", real=real, fake=fake, eps=eps, W=weights)
