"""Checker for rsgan_losses: the relativistic GAN's losses, computed stably."""

from tinygen.exercises.check import arrays, close, prop, st

TITLE = "RSGAN: the relativistic critic and generator losses"
TOPIC = "GANs"
DIFFICULTY = 1
LESSON = "13_rsgan"
FUNCTIONS = ["critic_loss", "generator_loss"]

scores = st.integers(1, 4).map(lambda b: (b,))


@prop("critic loss = mean softplus(D(x_f) − D(x_r)) = −E log σ(D(x_r) − D(x_f))", "",
      shape=scores, data=st.data())
def critic(student, ref, shape, data):
    r, f = data.draw(arrays(shape)), data.draw(arrays(shape))
    close(student.critic_loss(r, f), ref.critic_loss(r, f), "critic_loss", d_real=r, d_fake=f)


@prop("generator loss = the critic's loss with real and fake swapped",
      "the generator wants fakes judged more real than reals: swap the arguments, do not "
      "negate the critic's loss", shape=scores, data=st.data())
def generator(student, ref, shape, data):
    r, f = data.draw(arrays(shape)), data.draw(arrays(shape))
    close(student.generator_loss(r, f), ref.generator_loss(r, f), "generator_loss",
          d_real=r, d_fake=f)


@prop("stable when the scores differ by up to 2000", "softplus(z) = max(z, 0) + "
      "log(1 + exp(−|z|)) never overflows; log σ of a very negative number does",
      shape=scores, data=st.data())
def stable(student, ref, shape, data):
    r, f = data.draw(arrays(shape, -1000, 1000)), data.draw(arrays(shape, -1000, 1000))
    close(student.critic_loss(r, f), ref.critic_loss(r, f), "critic_loss", d_real=r, d_fake=f)
    close(student.generator_loss(r, f), ref.generator_loss(r, f), "generator_loss",
          d_real=r, d_fake=f)
