# %% [markdown]
# # Lesson 14: the determinant of a non-square matrix — volumes, and densities on surfaces
#
# A square matrix B (k × k) maps the unit cube to a parallelotope of volume |det B|: that is
# the factor in the change-of-variables formula of every flow. When B is n × k with n > k
# (a map from k dimensions into more), det B does not exist, but the k columns still span a
# k-dimensional parallelotope in Rⁿ, and its k-volume is (the non-square determinant post)
#
#     vol_k(B) = sqrt(det BᵀB) = σ₁ σ₂ … σ_k        (the singular values of B)
#
# Why: write B = QR with Q (n × k) orthonormal columns; Q is a rigid isometry from R^k onto
# the span, so the volume is |det R|, and BᵀB = RᵀR gives det BᵀB = (det R)². For n = 3,
# k = 2 this is the area of a parallelogram, |b₁ × b₂|.
#
# **Densities on surfaces.** Push a density p(u) on R^k through a smooth injective map
# f: R^k → Rⁿ. The image is a k-dimensional surface, and the small square du around u lands
# on a small parallelogram spanned by the columns of the Jacobian J_f(u) (n × k), of area
# sqrt(det J_fᵀJ_f)·du. Probability is conserved, so the density *on the surface* (with
# respect to its area) is
#
#     p_S(f(u)) = p(u) / sqrt(det J_f(u)ᵀ J_f(u))
#
# which integrates to 1 over the surface. (Injective flows that model data on a
# low-dimensional manifold use exactly this term.)
#
# **What we do.** 1. Check vol_2 = sqrt(det BᵀB) = σ₁σ₂ = |b₁ × b₂| for a 3 × 2 matrix, and
# against a Monte Carlo estimate of the parallelogram's area. 2. Map u ~ N(0, I₂) onto the
# bump surface f(u) = (u₁, u₂, A·exp(−|u|²/2s²)), whose area element is
# sqrt(1 + |∇h|²); compute it with `tinygen` (the Jacobian by `tinygen.grad`, then
# `log_volume` = ½ log det JᵀJ), draw it, and integrate p_S over a triangulated surface whose
# triangle areas come from cross products (geometry, not the formula): it must give 1, and
# the density without the area correction must not.
#
# Run it with `python lessons/14_non_square_determinant.py [--quick] [--out DIR]`.

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygen as tg
from tinygen import lesson
from tinygen.models.flows import logdet as L

args = lesson.parse("14_non_square_determinant", "the k-volume sqrt(det BᵀB) and the density "
                    "of a 2-D → 3-D map")
started = time.perf_counter()
tg.set_default_dtype(np.float64)
rng = np.random.default_rng(args.seed)

MC_POINTS = 200_000 if args.quick else 4_000_000
GRID = 121 if args.quick else 401  # vertices per side of the surface mesh
RADIUS = 6.0  # the mesh covers u ∈ [−6, 6]²: N(0, I) puts 2e−9 of its mass outside
A, S = 1.5, 0.7  # height and width of the bump

# %% [markdown]
# ## 1. The area of a parallelogram in R³, four ways
#
# B has columns b₁, b₂ ∈ R³. Exact: the cross product |b₁ × b₂|; the formula sqrt(det BᵀB);
# the product of singular values; and Monte Carlo: take an orthonormal basis Q of the plane
# (QR), so C = QᵀB gives the parallelogram in plane coordinates; throw uniform points into
# its bounding box and count those with C⁻¹p ∈ [0, 1]².

# %%
B = rng.standard_normal((3, 2))
cross = float(np.linalg.norm(np.cross(B[:, 0], B[:, 1])))
formula = float(np.exp(L.log_volume(tg.tensor(B)).item()))
singular = float(np.prod(np.linalg.svd(B, compute_uv=False)))
Q, _ = np.linalg.qr(B)
C = Q.T @ B  # 2 × 2: the parallelogram in the plane's coordinates
corners = np.array([[0, 0], C[:, 0], C[:, 0] + C[:, 1], C[:, 1]])
low, high = corners.min(0), corners.max(0)
p = low + (high - low) * rng.random((MC_POINTS, 2))
alpha = np.linalg.solve(C, p.T).T
inside = np.all((alpha >= 0) & (alpha <= 1), axis=1)
box = float(np.prod(high - low))
mc = box * inside.mean()
mc_se = box * np.sqrt(inside.mean() * (1 - inside.mean()) / MC_POINTS)
wrong_bbt = float(np.sqrt(max(np.linalg.det(B @ B.T), 0.0)))  # det BBᵀ: a 3 × 3 of rank 2
print(f"|b1 x b2| = {cross:.6f}   sqrt(det BᵀB) = {formula:.6f}   σ1·σ2 = {singular:.6f}   "
      f"Monte Carlo = {mc:.4f} ± {mc_se:.4f}   (sqrt(det BBᵀ) = {wrong_bbt:.1e})")

# more shapes: sqrt(det BᵀB) = ∏σ for n ≥ k, and = |det B| for n = k
shapes = [(3, 1), (3, 2), (5, 3), (4, 4), (10, 6)]
volume_errors = []
for n, k in shapes:
    M = rng.standard_normal((n, k))
    v = np.exp(L.log_volume(tg.tensor(M)).item())
    volume_errors.append(abs(v - np.prod(np.linalg.svd(M, compute_uv=False))) / v)
print(f"largest relative gap between sqrt(det BᵀB) and ∏σ over {shapes}: "
      f"{max(volume_errors):.1e}")

# %% [markdown]
# ## 2. A density on a surface
#
# f(u) = (u₁, u₂, h(u)) with h(u) = A·exp(−|u|²/2s²). Its Jacobian has columns
# (1, 0, ∂₁h) and (0, 1, ∂₂h), so det JᵀJ = 1 + |∇h|²: the surface is stretched where the
# bump is steep, and the density there is thinned by the same factor.

# %%
def surface(u: tg.Tensor) -> tg.Tensor:
    """f(u) = (u₁, u₂, A·exp(−|u|²/2s²)) for rows u (B, 2) → (B, 3)."""
    h = A * tg.exp(-(u * u).sum(axis=1, keepdims=True) / (2 * S * S))
    return tg.concat([u, h], axis=1)


def log_area_element(u: np.ndarray) -> np.ndarray:
    """½ log det J_fᵀJ_f at rows u, J_f by reverse mode (three passes)."""
    return L.log_volume(L.jacobian(surface, tg.tensor(u))).numpy()


def log_base_density(u: np.ndarray) -> np.ndarray:
    """log N(u; 0, I₂)."""
    return -0.5 * (u * u).sum(1) - np.log(2 * np.pi)


g = np.linspace(-RADIUS, RADIUS, GRID)
U = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
X = surface(tg.tensor(U)).numpy()
log_area = log_area_element(U)
grad_h = np.gradient(X[:, 2].reshape(GRID, GRID), g, g)
closed_form = 0.5 * np.log1p(grad_h[0] ** 2 + grad_h[1] ** 2).reshape(-1)
interior = (np.abs(U) < RADIUS - 0.1).all(1)
fd_gap = float(np.abs(log_area - closed_form)[interior].max())  # finite differences: ~h²

# the mesh: two triangles per grid cell, areas by cross products of their 3-D corners
idx = np.arange(GRID * GRID).reshape(GRID, GRID)
a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
triangles = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
corner = X[triangles]  # (T, 3, 3)
tri_area = 0.5 * np.linalg.norm(np.cross(corner[:, 1] - corner[:, 0],
                                         corner[:, 2] - corner[:, 0]), axis=1)
u_centre = U[triangles].mean(1)
p_surface = np.exp(log_base_density(u_centre) - log_area_element(u_centre))
integral = float((p_surface * tri_area).sum())
integral_uncorrected = float((np.exp(log_base_density(u_centre)) * tri_area).sum())
surface_area = float(tri_area.sum())
print(f"∫ p_S dA over the mesh ({len(triangles):,} triangles, total area {surface_area:.2f}) "
      f"= {integral:.6f};  without the area correction: {integral_uncorrected:.4f}")

# %% [markdown]
# ## Figures
#
# Left: the parallelogram in R³ with the Monte Carlo points that fell inside (in the plane).
# Middle: the surface coloured by its area element sqrt(det JᵀJ) (1 on the flat part, up to
# about 1.6 on the steep ring of the bump; colours run from the smallest value to the
# largest). Right: the density on the surface, p(u)/sqrt(det JᵀJ): the N(0, I) bell,
# thinned on the ring where the surface is stretched.

# %%
fig = plt.figure(figsize=(16, 5))
ax = fig.add_subplot(1, 3, 1, projection="3d")
shown = p[inside][:1500]
pts = shown @ Q.T  # back to R³
ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], s=1, alpha=0.3, color="tab:blue")
poly = np.array([[0, 0, 0], B[:, 0], B[:, 0] + B[:, 1], B[:, 1], [0, 0, 0]])
ax.plot(poly[:, 0], poly[:, 1], poly[:, 2], color="k")
for col, name in ((B[:, 0], "b₁"), (B[:, 1], "b₂")):
    ax.quiver(0, 0, 0, *col, color="tab:red")
    ax.text(*col, name)
ax.set_title(f"area: |b₁×b₂| = {cross:.3f}, sqrt(det BᵀB) = {formula:.3f},\n"
             f"Monte Carlo {mc:.3f} ± {mc_se:.3f}", fontsize=9)
step = max(1, GRID // 60)
sub = (slice(None, None, step), slice(None, None, step))
Xg = X.reshape(GRID, GRID, 3)
area_el = np.exp(log_area).reshape(GRID, GRID)
dens = np.exp(log_base_density(U) - log_area).reshape(GRID, GRID)
for i, (values, title, cmap) in enumerate([
        (area_el, "area element sqrt(det JᵀJ)", "magma"),
        (dens, "density on the surface p(u)/sqrt(det JᵀJ)", "viridis")]):
    ax = fig.add_subplot(1, 3, 2 + i, projection="3d")
    lim = (np.abs(Xg[..., 0]) <= 2.5) & (np.abs(Xg[..., 1]) <= 2.5)
    vals = (values - values[lim].min()) / np.ptp(values[lim])
    ax.plot_surface(np.where(lim, Xg[..., 0], np.nan)[sub], np.where(lim, Xg[..., 1], np.nan)[sub],
                    np.where(lim, Xg[..., 2], np.nan)[sub],
                    facecolors=plt.get_cmap(cmap)(vals[sub]), rstride=1, cstride=1,
                    linewidth=0, antialiased=False, shade=False)
    ax.set(xlim=(-2.5, 2.5), ylim=(-2.5, 2.5), zlim=(0, 2))
    ax.set_title(f"{title}\nrange {values[lim].min():.3f} … {values[lim].max():.3f}",
                 fontsize=9)
fig.tight_layout()
lesson.save_figure(fig, args, "non_square_determinant.png")
plt.close(fig)

# %% [markdown]
# ## The key numbers
#
# The four areas agree (Monte Carlo within its standard error), sqrt(det BᵀB) = ∏σ to
# rounding on every shape, and the surface density integrates to 1 over the mesh to the
# mesh's accuracy (quick: 121² vertices, full: 401²), while the density that forgets the area
# element integrates to E_u sqrt(det JᵀJ), the mean stretch (about 1.29 here): it is a density
# on the plane, not on the surface. The checks compare these in the same run.

# %%
metrics = {"area": {"cross": cross, "sqrt_det_BtB": formula, "singular_values": singular,
                    "monte_carlo": mc, "monte_carlo_se": mc_se, "sqrt_det_BBt": wrong_bbt},
           "volume_vs_singular_values": max(volume_errors),
           "surface": {"integral": integral, "integral_without_area": integral_uncorrected,
                       "mesh_area": surface_area, "grid": GRID, "radius": RADIUS,
                       "bump": {"A": A, "s": S}, "log_area_vs_finite_differences": fd_gap},
           "seconds": round(time.perf_counter() - started, 1)}


def checks(m: dict, quick: bool) -> list[tuple[bool, str]]:
    """(passed, message) for each check on the metrics of one run."""
    area, surf = m["area"], m["surface"]
    tol = 5e-3 if quick else 5e-4
    return [
        (abs(area["sqrt_det_BtB"] - area["cross"]) <= 1e-10 * area["cross"],
         f"sqrt(det BᵀB) {area['sqrt_det_BtB']:.6f} = |b₁ × b₂| {area['cross']:.6f}"),
        (abs(area["monte_carlo"] - area["sqrt_det_BtB"]) <= 3 * area["monte_carlo_se"],
         f"Monte Carlo area {area['monte_carlo']:.4f} within 3 s.e. "
         f"({area['monte_carlo_se']:.4f}) of sqrt(det BᵀB) {area['sqrt_det_BtB']:.4f}"),
        (m["volume_vs_singular_values"] <= 1e-10,
         f"sqrt(det BᵀB) = ∏σ on every shape (gap {m['volume_vs_singular_values']:.1e})"),
        (abs(surf["integral"] - 1) <= tol,
         f"the surface density integrates to {surf['integral']:.5f}, within {tol} of 1"),
    ]


print(f"{time.perf_counter() - started:.1f} s")
lesson.finish(metrics, args, checks)
