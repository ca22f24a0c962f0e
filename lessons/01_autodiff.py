# %% [markdown]
# # Lesson 1: Automatic differentiation, and how to trust it
#
# Training a network means nudging its parameters against the gradient of a loss, so every
# later lesson leans on one ability: getting exact derivatives of a function that exists only
# as code. Automatic differentiation (autodiff) does this without symbolic algebra and
# without the rounding trouble of finite differences.
#
# The idea in reverse mode, the one tinygen uses:
#
# * While the function runs, every primitive op (`*`, `sin`, `tanh`, ...) is recorded in a
#   graph, together with its *local* derivative.
# * To get ∂f/∂x for every input at once, walk that graph from the output back to the inputs,
#   applying the chain rule at each node:  ∂f/∂a = Σ over the ops b that use a of
#   ∂f/∂b · ∂b/∂a.
# * Each node multiplies an incoming gradient by its local derivative (a vector-Jacobian
#   product), so one backward walk costs a small multiple of one forward run, however many
#   inputs there are.
#
# In this lesson we check the machine three ways: against derivatives worked out by hand,
# against finite differences, and against known closed forms, including second and third
# derivatives and a Hessian-vector product. Every check records its largest error; the script
# stops with an error if any of them is above the tolerance, so you can rerun it after
# changing the engine and know at once whether something broke.
#
# Run it with `python lessons/01_autodiff.py [--quick] [--out DIR] [--device cuda] [--seed N]`.
#
# Exercises: activation_vjps, matmul_vjp, unbroadcast
# (`tinygen exercise start NAME`, then `tinygen exercise check NAME`).

# %%
import matplotlib

matplotlib.use("Agg")  # draw to files, no window needed
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import lesson

args = lesson.parse("01_autodiff", "Lesson 1: automatic differentiation")
DEVICE = args.device  # every tensor below lives there; the closed forms are NumPy on the CPU

# Checks down to 1e-10 need more digits than float32's seven: work in float64 throughout.
tg.set_default_dtype(np.float64)
errors: dict[str, float] = {}


def compare(name: str, got, want) -> float:
    """Record and print the largest |got - want| (Tensors, arrays or numbers)."""
    got = got.numpy() if isinstance(got, tg.Tensor) else np.asarray(got)
    want = want.numpy() if isinstance(want, tg.Tensor) else np.asarray(want)
    err = float(np.max(np.abs(got - want)))
    errors[name] = err
    print(f"  {name:<44} max |error| = {err:.1e}")
    return err


# %% [markdown]
# ## 1. A small graph, built by hand
#
# Take f(x, y) = tanh(x·y + sin x). As code it is four primitive ops:
#
#     u = x·y        v = sin x        s = u + v        f = tanh s
#
# The chain rule through these nodes, with tanh' = 1 − tanh², gives
#
#     ∂f/∂x = (1 − f²) · (y + cos x)      (x reaches s twice: through u and through v)
#     ∂f/∂y = (1 − f²) · x
#
# `tg.grad(f, [x, y])` walks the recorded graph backwards and returns both partials at once.

# %%
x = tg.tensor(0.7, device=DEVICE, requires_grad=True)
y = tg.tensor(-1.3, device=DEVICE, requires_grad=True)
u = x * y
v = tg.sin(x)
s = u + v
f = tg.tanh(s)
print("f(0.7, -1.3) =", f)

dfdx, dfdy = tg.grad(f, [x, y])
print(f"autodiff:  df/dx = {dfdx.item():+.12f}   df/dy = {dfdy.item():+.12f}")

# The same partials from the hand-derived formulas (plain NumPy, no graph).
x0, y0 = 0.7, -1.3
f0 = np.tanh(x0 * y0 + np.sin(x0))
by_hand = ((1 - f0**2) * (y0 + np.cos(x0)), (1 - f0**2) * x0)
print(f"by hand:   df/dx = {by_hand[0]:+.12f}   df/dy = {by_hand[1]:+.12f}")

# %% [markdown]
# A third opinion that needs no calculus at all is the *central difference*
#
#     ∂f/∂x ≈ (f(x + h) − f(x − h)) / 2h,
#
# whose error is about h²·f'''/6 from the truncated Taylor series plus about ε/h from
# rounding (ε ≈ 1e-16 in float64). With h = 1e-5 both are near 1e-10. Finite differences are
# too slow for training (two evaluations per input) but perfect for testing.

# %%
def f_of(x, y):
    return tg.tanh(x * y + tg.sin(x))


def central_difference(fn, point: list[float], i: int, h: float = 1e-5) -> float:
    """(fn(p + h e_i) − fn(p − h e_i)) / 2h, evaluated without recording a graph."""
    up, down = list(point), list(point)
    up[i] += h
    down[i] -= h
    with tg.no_grad():
        f_up, f_down = (fn(*[tg.tensor(v, device=DEVICE) for v in p]).item() for p in (up, down))
    return (f_up - f_down) / (2 * h)


numeric = [central_difference(f_of, [x0, y0], i) for i in range(2)]
print(f"numeric:   df/dx = {numeric[0]:+.12f}   df/dy = {numeric[1]:+.12f}")
compare("f(x,y): autodiff vs hand formula", [dfdx.item(), dfdy.item()], by_hand)
compare("f(x,y): autodiff vs central differences", [dfdx.item(), dfdy.item()], numeric)

# %% [markdown]
# ## 2. Differentiating a derivative
#
# In tinygen the backward rule of each op is itself written with tinygen ops (the rule for
# tanh is `g * (1 - y*y)`). With `create_graph=True` the backward walk is recorded like any
# other computation, so its result can be differentiated again. For tanh:
#
#     tanh'  = 1 − tanh²
#     tanh'' = −2 · tanh · (1 − tanh²)
#
# One trick makes this work on a whole vector of points at once. `grad` wants a scalar
# output, and since tanh acts elementwise, ∂(Σⱼ tanh xⱼ)/∂xᵢ = tanh'(xᵢ): the gradient of the
# *sum* is the vector of derivatives at every point.

# %%
xs = tg.tensor(np.linspace(-3.0, 3.0, 13), device=DEVICE, requires_grad=True)
t = tg.tanh(xs)
d1 = tg.grad(t.sum(), xs, create_graph=True)  # keep the graph of the derivative ...
d2 = tg.grad(d1.sum(), xs)  # ... so it can be differentiated once more

tv = np.tanh(xs.numpy())
compare("tanh': autodiff vs 1 - tanh^2", d1, 1 - tv**2)
compare("tanh'': autodiff vs -2 tanh (1 - tanh^2)", d2, -2 * tv * (1 - tv**2))

# %% [markdown]
# ## 3. Hessian-vector products
#
# For f: ℝⁿ → ℝ the Hessian H = ∇²f is an n × n matrix: for a network with a million
# parameters it has 10¹² entries and cannot even be stored. Yet many methods (Newton-CG,
# curvature estimates, influence functions) only need H·v for some vector v, and that is
# one gradient away:
#
#     H v = ∇ₓ ( ∇f(x) · v ).
#
# ∇f(x) · v is a scalar; differentiating it once more costs about as much as a gradient.
# So: one backward pass with `create_graph=True`, a dot product with v, one more backward.
#
# Test case with a known answer: the quadratic form f(x) = xᵀ A x. Since
# f = Σᵢⱼ Aᵢⱼ xᵢ xⱼ, its gradient is (A + Aᵀ) x and its Hessian is A + Aᵀ for every x, also
# when A is not symmetric.

# %%
def hvp(fn, x: tg.Tensor, v: tg.Tensor) -> tg.Tensor:
    """H(x) v for a scalar function ``fn`` by double backward; H is never formed."""
    g = tg.grad(fn(x), x, create_graph=True)
    return tg.grad((g * v).sum(), x)


n = 5  # lesson.parse seeded the generators with --seed
A = tg.randn(n, n, device=DEVICE)
x_q = tg.randn(n, device=DEVICE, requires_grad=True)
v_q = tg.randn(n, device=DEVICE)


def quadratic(x):
    return x @ (A @ x)


H = A.numpy() + A.numpy().T
compare("x^T A x: gradient vs (A + A^T) x", tg.grad(quadratic(x_q), x_q), H @ x_q.numpy())
compare("x^T A x: Hessian-vector vs (A + A^T) v", hvp(quadratic, x_q, v_q), H @ v_q.numpy())

# %% [markdown]
# A quadratic has a constant Hessian, which makes it an easy test. The Rosenbrock function
# (the classic banana-shaped valley of optimisation)
#
#     f(a, b) = (1 − a)² + 100 (b − a²)²
#
# has one that changes from point to point:
#
#     H = [[2 − 400 b + 1200 a²,  −400 a],
#          [−400 a,                200   ]]
#
# We check H·v at the usual starting point (−1.2, 1).

# %%
def rosenbrock(p):
    a, b = p[0], p[1]
    return (1 - a) ** 2 + 100 * (b - a**2) ** 2


p0 = tg.tensor([-1.2, 1.0], device=DEVICE, requires_grad=True)
v_r = tg.tensor([0.3, -0.7], device=DEVICE)
a0, b0 = p0.numpy()
H_rosen = np.array([[2 - 400 * b0 + 1200 * a0**2, -400 * a0],
                    [-400 * a0, 200.0]])
compare("Rosenbrock: Hessian-vector vs exact H v", hvp(rosenbrock, p0, v_r), H_rosen @ v_r.numpy())

# %% [markdown]
# ## 4. Derivatives of any order, in a picture
#
# Nothing stops us at two. Each call of `grad(..., create_graph=True)` returns a tensor with
# its own graph, so we can keep going. The closed forms to compare with, writing t = tanh x:
#
#     tanh'   = 1 − t²
#     tanh''  = −2 t (1 − t²)
#     tanh''' = −2 (1 − t²)(1 − 3t²)
#
# (each follows from the previous one with the product rule and t' = 1 − t²). The figure
# draws the autodiff curves as thick lines and the closed forms as dashed lines on top: if
# the engine is right, each dashed line runs exactly along its thick one.

# %%
n_points = 41 if args.quick else 401
grid = tg.linspace(-4.0, 4.0, n_points, device=DEVICE).requires_grad_()
curves = [tg.tanh(grid)]
for _ in range(3):
    curves.append(tg.grad(curves[-1].sum(), grid, create_graph=True))

xg = grid.numpy()
tg_ = np.tanh(xg)
closed = [tg_, 1 - tg_**2, -2 * tg_ * (1 - tg_**2), -2 * (1 - tg_**2) * (1 - 3 * tg_**2)]
names = ["tanh", "tanh'", "tanh''", "tanh'''"]
for k in range(1, 4):
    compare(f"{names[k]} on the grid: autodiff vs closed form", curves[k], closed[k])

fig, ax = plt.subplots(figsize=(7, 4.2))
for k, (curve, exact) in enumerate(zip(curves, closed, strict=True)):
    line, = ax.plot(xg, curve.numpy(), lw=4, alpha=0.45, label=names[k])
    ax.plot(xg, exact, ls="--", lw=1.2, color=line.get_color())
ax.axhline(0, color="grey", lw=0.5)
ax.set_xlabel("x")
ax.set_title("tanh and its derivatives by repeated tg.grad (thick)\n"
             "and their closed forms (dashed)", fontsize=10)
ax.legend(loc="upper left", fontsize=9)
fig.tight_layout()
lesson.save_figure(fig, args, "tanh_derivatives.png")
plt.close(fig)

# %% [markdown]
# ## 5. The verdict
#
# All comparisons go into `metrics.json` in the output folder, and `checks` judges the run
# from that record alone. The largest error is the one number to remember. Expect about
# 1e-11 from the finite differences and 1e-14 or less from the exact comparisons, far below
# the tolerance of 1e-6. If any comparison exceeds the tolerance, or one is missing, the
# script exits with status 1, so a test, or you after editing the engine, can rely on it.

# %%
def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """Every one of the ten comparisons within 1e-6 (a missing one would fail unseen)."""
    tolerance = 1e-6
    errors = m["errors"]
    results = [(len(errors) == 10, f"{len(errors)} comparisons recorded (10 expected)")]
    results += [(0 <= err <= tolerance, f"{name}: max |error| {err:.1e} <= {tolerance:.0e}")
                for name, err in errors.items()]
    return results


worst = max(errors.values())
print(f"largest error over {len(errors)} comparisons: {worst:.1e}")
lesson.finish({"max_abs_error": worst, "grid_points": n_points, "errors": errors}, args, checks)
