"""Checker for gumbel_softmax_st: a relaxed one-hot sample and the straight-through trick."""

import tinygen as tg
from tinygen.exercises.check import Mismatch, arrays, close, floats, prop, st

TITLE = "Gumbel-softmax sampling with the straight-through trick"
TOPIC = "probability"
DIFFICULTY = 2
LESSON = "20_gumbel_vae"
FUNCTIONS = ["gumbel_softmax"]


@st.composite
def case(draw):
    b, k = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    return draw(arrays((b, k), -3, 3)), draw(arrays((b, k), 0.01, 0.99)), draw(floats(0.3, 2))


def _sample(module, logits, u, tau, hard):
    x = tg.tensor(logits, requires_grad=True)
    y = module.gumbel_softmax(x, u, tau, hard)
    if not isinstance(y, tg.Tensor):
        raise Mismatch(f"gumbel_softmax must return a tinygen Tensor, got {type(y).__name__}")
    return x, y


@prop("soft sample = softmax((logits + g)/τ) with Gumbel noise g = −log(−log u)",
      "Gumbel noise is −log(−log u), two minus signs", data=case())
def soft(student, ref, data):
    logits, u, tau = data
    close(_sample(student, logits, u, tau, False)[1], _sample(ref, logits, u, tau, False)[1],
          "gumbel_softmax(logits, u, tau, hard=False)", logits=logits, u=u, tau=tau)


@prop("hard sample: exactly the one-hot of the soft sample's argmax", "", data=case())
def hard_value(student, ref, data):
    logits, u, tau = data
    close(_sample(student, logits, u, tau, True)[1], _sample(ref, logits, u, tau, True)[1],
          "gumbel_softmax(logits, u, tau, hard=True)", logits=logits, u=u, tau=tau)


@prop("straight-through: the hard sample's gradient w.r.t. the logits is the soft sample's",
      "return y_hard + (y_soft − tg.stop_gradient(y_soft)): the value of y_hard, the "
      "gradient of y_soft", data=case(), weights=arrays((3, 4)))
def straight_through(student, ref, data, weights):
    logits, u, tau = data
    w = weights[:logits.shape[0], :logits.shape[1]]
    x, y = _sample(student, logits, u, tau, True)
    x_ref, y_ref = _sample(ref, logits, u, tau, False)
    if not y.requires_grad:
        raise Mismatch("no gradient reaches the logits from the hard sample: the "
                       "straight-through trick adds y_soft − stop_gradient(y_soft)")
    close(tg.grad(tg.sum(y * tg.tensor(w)), x, allow_unused=True),
          tg.grad(tg.sum(y_ref * tg.tensor(w)), x_ref), "d Σ w·y_hard / d logits",
          logits=logits, u=u, tau=tau, w=w)
