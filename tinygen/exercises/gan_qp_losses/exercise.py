"""Checker for gan_qp_losses: the critic's quadratic-potential loss and the generator's."""

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, close, floats, prop, st

TITLE = "GAN-QP: the critic and generator losses"
TOPIC = "GANs"
DIFFICULTY = 2
LESSON = "12_gan_qp"
FUNCTIONS = ["critic_loss", "generator_loss"]


@st.composite
def batch(draw):
    b, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    x_real = draw(arrays((b, d)))
    x_fake = x_real + draw(arrays((b, d), 0.1, 2.0))        # d(x_r, x_f) > 0
    return draw(arrays((b,))), draw(arrays((b,))), x_real, x_fake


@prop("critic loss = mean(−ΔT + ΔT² / (2λ·d)), ΔT = T(x_r) − T(x_f), d = mean |x_r − x_f| "
      "per sample", "", case=batch(), lam=floats(1.0, 20.0))
def critic(student, ref, case, lam):
    t_r, t_f, x_r, x_f = case
    close(student.critic_loss(t_r, t_f, x_r, x_f, lam), ref.critic_loss(t_r, t_f, x_r, x_f, lam),
          "critic_loss", t_real=t_r, t_fake=t_f, x_real=x_r, x_fake=x_f, lam=lam)


@prop("the critic's loss falls as T(x_r) − T(x_f) grows from 0 (the critic separates real "
      "from fake)", "the critic maximises E[ΔT − ΔT²/(2λd)], so its loss is −ΔT + ΔT²/(2λd)",
      x_real=arrays((2, 2)))
def direction(student, ref, x_real):
    x_fake = x_real + 1.0
    zero = np.zeros(2)
    small = np.full(2, 0.5)
    at0 = student.critic_loss(zero, zero, x_real, x_fake, 10.0)
    at_small = student.critic_loss(small, zero, x_real, x_fake, 10.0)
    if not float(at_small) < float(at0):
        raise Mismatch(f"with d = 1, λ = 10: critic_loss at ΔT = 0.5 is {float(at_small):.4g}, "
                       f"at ΔT = 0 it is {float(at0):.4g}; the first should be lower")


@prop("generator loss = mean(T(x_r) − T(x_f)), with no quadratic term",
      "the generator only moves T(x_f) up: the quadratic term belongs to the critic",
      case=batch())
def generator(student, ref, case):
    t_r, t_f, _, _ = case
    close(student.generator_loss(t_r, t_f), ref.generator_loss(t_r, t_f), "generator_loss",
          t_real=t_r, t_fake=t_f)
