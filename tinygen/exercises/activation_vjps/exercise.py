"""Checker for activation_vjps: the backward rules of tanh, sigmoid and softplus."""

from tinygen.exercises.check import arrays, close, prop

TITLE = "The VJPs of tanh, sigmoid and softplus"
TOPIC = "backward rules"
DIFFICULTY = 1
LESSON = "01_autodiff"
FUNCTIONS = ["tanh_vjp", "sigmoid_vjp", "softplus_vjp"]

SHAPE = (3,)


@prop("tanh_vjp(x, g) = g·(1 − tanh²x)", "d tanh/dx = 1 − tanh²x: mind the sign",
      x=arrays(SHAPE), g=arrays(SHAPE))
def tanh_rule(student, ref, x, g):
    close(student.tanh_vjp(x, g), ref.tanh_vjp(x, g), "tanh_vjp(x, g)", x=x, g=g)


@prop("sigmoid_vjp(x, g) = g·σ(x)(1 − σ(x))", "dσ/dx = σ(x)·(1 − σ(x)), both factors",
      x=arrays(SHAPE), g=arrays(SHAPE))
def sigmoid_rule(student, ref, x, g):
    close(student.sigmoid_vjp(x, g), ref.sigmoid_vjp(x, g), "sigmoid_vjp(x, g)", x=x, g=g)


@prop("softplus_vjp(x, g) = g·σ(x)", "d/dx log(1 + eˣ) = eˣ/(1 + eˣ) = σ(x)",
      x=arrays(SHAPE), g=arrays(SHAPE))
def softplus_rule(student, ref, x, g):
    close(student.softplus_vjp(x, g), ref.softplus_vjp(x, g), "softplus_vjp(x, g)", x=x, g=g)


@prop("stable for large |x| (up to 1000): no overflow to inf or nan",
      "exp(1000) overflows; write σ with exp(−|x|), or through tanh",
      x=arrays(SHAPE, -1000, 1000), g=arrays(SHAPE, -2, 2))
def stable(student, ref, x, g):
    for f in FUNCTIONS:
        close(getattr(student, f)(x, g), getattr(ref, f)(x, g), f"{f}(x, g)", x=x, g=g)
