"""Matrix products and linear algebra, batched over leading axes (which broadcast).

VJPs (with Y the output and Gᵀ the transpose of the upstream gradient):
matmul  ∂A = G Bᵀ, ∂B = Aᵀ G          inv     ∂A = −Yᵀ G Yᵀ
solve   ∂B = A⁻ᵀ G, ∂A = −∂B Yᵀ        det     ∂A = G · Y · A⁻ᵀ
slogdet ∂A = G · A⁻ᵀ (for log|det|)    cholesky ∂A = sym(L⁻ᵀ Φ(Lᵀ G) L⁻¹), Φ = lower
triangle with the diagonal halved (Murray, 2016).
"""

from __future__ import annotations

from .. import backend
from ..autograd import Tensor, apply
from ..errors import ShapeError, TinygenError
from . import args as A
from .elementwise import _const, _operands
from .shape import reshape, squeeze, transpose, unsqueeze


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands are promoted and the added axis
    removed; leading (batch) axes broadcast."""
    a, b = _operands("matmul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape}: matmul needs at least 1-D "
                         "operands; use * for scalars")
    if a.ndim == 1 or b.ndim == 1:
        y = matmul(unsqueeze(a, 0) if a.ndim == 1 else a, unsqueeze(b, -1) if b.ndim == 1 else b)
        added = ([y.ndim - 2] if a.ndim == 1 else []) + ([y.ndim - 1] if b.ndim == 1 else [])
        return squeeze(y, added)
    if a.shape[-1] != b.shape[-2]:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not line up "
                         f"({a.shape[-1]} != {b.shape[-2]})")
    try:
        y = a.data @ b.data
    except ValueError as e:
        raise ShapeError(f"matmul: batch shapes of {a.shape} and {b.shape} do not "
                         "broadcast") from e
    return apply("matmul", y, [(a, lambda g, out: g @ transpose(b)),
                               (b, lambda g, out: _matrix_grad(a, g, b.ndim))])


def linear(x, weight, bias=None) -> Tensor:
    """x W + b for x (..., in), W (in, out) and b (out,) or None: a dense layer's affine map
    as one primitive. Its VJPs are matmul's, and the bias gets g summed over the leading
    axes; one graph node instead of two, and the product is not kept alive for an add's
    backward pass. A bias of another dtype than x W takes the composed path (x @ W + b, with
    NumPy's promotion)."""
    x, w = _operands("linear", x, weight)
    if w.ndim != 2 or x.ndim < 1 or x.shape[-1] != w.shape[0]:
        raise ShapeError(f"linear: expected x of shape (..., n) and a weight of shape (n, m), "
                         f"got x {x.shape} and weight {w.shape}")
    b = None
    if bias is not None:
        b = A.tensor("linear", bias, "bias", like=x)
        if b.shape != (w.shape[1],):
            raise ShapeError(f"linear: bias must have shape ({w.shape[1]},) (one per output), "
                             f"got {b.shape}")
    if x.ndim == 1:
        y = matmul(x, w)
        return y if b is None else y + b
    y = x.data @ w.data
    if b is not None and b.dtype != y.dtype:  # NumPy's promotion, through the composed ops
        return matmul(x, w) + b
    parents = [(x, lambda g, out: g @ transpose(w)),
               (w, lambda g, out: _matrix_grad(x, g, 2))]
    if b is not None:
        backend.xp_of(y, b.data, op="linear")
        y += b.data
        parents.append((b, lambda g, out: g.sum(axis=tuple(range(g.ndim - 1)))))
    return apply("linear", y, parents)


def _matrix_grad(a: Tensor, g: Tensor, b_ndim: int) -> Tensor:
    """The VJP for b, aᵀg. When b is one matrix shared by a batch of a (a Linear layer on
    (B, L, d) input), the batch sum is one product over the flattened leading axes,
    (B·L, d)ᵀ (B·L, n), instead of B products summed afterwards (a (B, d, n) temporary)."""
    if b_ndim == 2 and a.ndim > 2:
        return transpose(reshape(a, (-1, a.shape[-1]))) @ reshape(g, (-1, g.shape[-1]))
    return transpose(a) @ g


def _square(op: str, a) -> Tensor:
    a = A.floating(op, a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{op}: expected square matrices of shape (..., n, n), got {a.shape}")
    return a


def _linalg(op: str, fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # numpy.linalg.LinAlgError or CuPy's equivalent
        if isinstance(e, ValueError | TypeError) and "singular" not in str(e).lower() \
                and "positive" not in str(e).lower():
            raise ShapeError(f"{op}: {e} (shapes {[tuple(x.shape) for x in args]})") from e
        raise TinygenError(f"{op}: {e} (shape {tuple(args[0].shape)})") from e


def _last2(g: Tensor) -> Tensor:
    """A batch of scalars as (..., 1, 1) so it scales matrices."""
    return unsqueeze(unsqueeze(g, -1), -1)


def inv(a) -> Tensor:
    """Matrix inverse A⁻¹."""
    a = _square("inv", a)
    y = _linalg("inv", a.xp.linalg.inv, a.data)
    return apply("inv", y, [(a, lambda g, out: -(transpose(out) @ g @ transpose(out)))])


def solve(a, b) -> Tensor:
    """X with A X = B; B is (..., n) or (..., n, k)."""
    a = _square("solve", a)
    a, b = _operands("solve", a, b)
    if b.ndim == 0:
        raise ShapeError(f"solve: B must have shape (..., n) or (..., n, k), got shape () "
                         f"(A of shape {a.shape})")
    if b.ndim == 1:
        return squeeze(solve(a, unsqueeze(b, -1)), -1)
    if b.shape[-2] != a.shape[-1]:
        raise ShapeError(f"solve: A of shape {a.shape} and B of shape {b.shape} do not line up "
                         f"({a.shape[-1]} != {b.shape[-2]})")
    y = _linalg("solve", a.xp.linalg.solve, a.data, b.data)
    return apply("solve", y, [(a, lambda g, out: -(solve(transpose(a), g) @ transpose(out))),
                              (b, lambda g, out: solve(transpose(a), g))])


def det(a) -> Tensor:
    """Determinant det A."""
    a = _square("det", a)
    y = _linalg("det", a.xp.linalg.det, a.data)
    return apply("det", y, [(a, lambda g, out: _last2(g * out) * transpose(inv(a)))])


def slogdet(a) -> tuple[Tensor, Tensor]:
    """(sign, log|det A|); only log|det A| carries a gradient."""
    a = _square("slogdet", a)
    sign, logabs = _linalg("slogdet", a.xp.linalg.slogdet, a.data)
    return Tensor(sign), apply("slogdet", logabs,
                               [(a, lambda g, out: _last2(g) * transpose(inv(a)))])


def _phi(x: Tensor) -> Tensor:
    n = x.shape[-1]
    xp = x.xp
    mask = xp.tril(xp.ones((n, n))) - 0.5 * xp.eye(n)
    return x * _const(x, mask)


def cholesky(a) -> Tensor:
    """Lower-triangular L with L Lᵀ = A, for symmetric positive-definite A."""
    a = _square("cholesky", a)
    y = _linalg("cholesky", a.xp.linalg.cholesky, a.data)

    def vjp(g, out):
        lt = transpose(out)
        m = solve(lt, _phi(lt @ g))
        s = transpose(solve(lt, transpose(m)))
        return 0.5 * (s + transpose(s))

    return apply("cholesky", y, [(a, vjp)])
