"""Softmax-type functions keep their digits at every magnitude the dtype holds.

The plain form x − logsumexp(x) loses every digit below the ulp of the max: in float32,
cross_entropy([1e8, 1e8, 1e8, −1e8], 0) came out 0 instead of log 3. Each property here draws
logits up to the dtype's largest value (near-ties a few ulps apart, opposite signs, anything
finite) and holds the result against a reference computed exactly: the shift x − max as a
fraction, then Python floats and ``math.fsum``. The tolerance is a few ulps of the result and
of log n, never of the max.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import functional as F
from tinygen.ops.crf import crf_marginals_twin

DTYPES = [np.float16, np.float32, np.float64]


@st.composite
def logits(draw, dtype, n=None, limit=1.0):
    """A 1-d array of finite logits of ``dtype``: a base of any magnitude up to
    ``limit`` × the dtype's max, entries a few ulps from it, its negative, or any finite value."""
    info = np.finfo(dtype)
    top = float(info.max) * limit
    n = draw(st.integers(1, 6)) if n is None else n
    exponent = draw(st.floats(-math.log10(top), 0.0))  # base = top · 10^exponent ≤ top
    base = dtype(top * 10.0 ** exponent * draw(st.sampled_from([1, -1])))
    entries = []
    for _ in range(n):
        kind = draw(st.sampled_from(["near", "near", "negated", "any"]))
        if kind == "near":
            v = base
            for _ in range(draw(st.integers(0, 3))):
                with np.errstate(over="ignore"):  # past the max: clipped below
                    v = np.nextafter(v, dtype(draw(st.sampled_from([-np.inf, np.inf]))))
        elif kind == "negated":
            v = -base
        else:
            v = draw(st.floats(-top, top, width=info.bits))
        entries.append(dtype(np.clip(v, -top, top)))
    return np.array(entries, dtype=dtype)


def _float(q: Fraction) -> float:
    """A fraction as the nearest Python float (±inf beyond the float64 range)."""
    try:
        return float(q)
    except OverflowError:
        return math.inf if q > 0 else -math.inf


def ref_log_softmax(x: np.ndarray, k: float = 1.0) -> tuple[list[float], list[Fraction], float]:
    """log softmax(k·x) exactly enough: (values, the exact shifts x − m, r = log Σ e^{k(x−m)})."""
    exact = [Fraction(float(v)) for v in x]
    m = max(exact)
    scaled = [Fraction(k) * (v - m) for v in exact]
    r = math.log(math.fsum(math.exp(max(_float(s), -800.0)) for s in scaled))
    return [_float(s - Fraction(r)) for s in scaled], [v - m for v in exact], r


def clipped(values, dtype) -> np.ndarray:
    """``values`` as float64 limited to the dtype's finite range (so tolerances stay finite)."""
    top = float(np.finfo(dtype).max)
    return np.clip(np.asarray(values, dtype=np.float64), -top, top)


def assert_close(got: np.ndarray, want: np.ndarray, tol: np.ndarray, what: str) -> None:
    """|got − want| ≤ tol, with both clipped to the dtype's range first (an overflow to −inf
    on one side of the last ulp is not an error)."""
    top = float(np.finfo(got.dtype).max)
    g = np.clip(got.astype(np.float64), -top, top)
    w = np.clip(np.asarray(want, dtype=np.float64), -top, top)
    assert np.all(np.abs(g - w) <= tol), f"{what}: got {got}, want {w}, tolerance {tol}"


def eps(dtype) -> float:
    return float(np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@given(data=st.data())
def test_log_softmax_softmax_and_cross_entropy_keep_their_digits(dtype, data):
    x = data.draw(logits(dtype), label="x")
    n = x.size
    ref = clipped(ref_log_softmax(x)[0], dtype)
    tol = 4 * eps(dtype) * (np.abs(ref) + math.log(n) + 1)

    for fn in (tg.log_softmax, F.log_softmax):
        got = fn(tg.tensor(x)).numpy()
        assert got.dtype == dtype
        assert_close(got, ref, tol, "log_softmax")

    p = F.softmax(tg.tensor(x)).numpy()
    p_ref = np.exp(ref)
    assert_close(p, p_ref, tol * p_ref + float(np.finfo(dtype).smallest_subnormal) * 2,
                 "softmax")
    assert abs(float(p.astype(np.float64).sum()) - 1.0) <= (n + 2) * eps(dtype)

    label = data.draw(st.integers(0, n - 1), label="label")
    loss = F.cross_entropy(tg.tensor(x[None]), [label]).numpy()
    assert_close(loss.reshape(1), -ref[label:label + 1], tol[label:label + 1], "cross_entropy")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@given(data=st.data())
def test_gradients_of_logsumexp_and_cross_entropy_are_the_exact_softmax(dtype, data):
    """∂logsumexp/∂x = softmax(x) and ∂CE/∂x = softmax(x) − onehot; the old VJP
    exp(x − logsumexp(x)) gave 1 for every near-max entry at large magnitudes."""
    x = data.draw(logits(dtype), label="x")
    n = x.size
    ref = clipped(ref_log_softmax(x)[0], dtype)
    p_ref = np.exp(ref)
    tol = 4 * eps(dtype) * (np.abs(ref) + math.log(n) + 1) * p_ref + 4 * eps(dtype) ** 2

    xt = tg.tensor(x, requires_grad=True)
    tg.logsumexp(xt).backward()
    assert xt.grad.dtype == dtype
    assert_close(xt.grad.numpy(), p_ref, tol, "logsumexp gradient")

    label = data.draw(st.integers(0, n - 1), label="label")
    xt = tg.tensor(x[None], requires_grad=True)
    F.cross_entropy(xt, [label]).backward()
    want = p_ref - np.eye(n)[label]
    assert_close(xt.grad.numpy()[0], want, tol + eps(dtype) * np.eye(n)[label],
                 "cross_entropy gradient")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@given(data=st.data())
def test_second_derivative_of_logsumexp_keeps_its_digits(dtype, data):
    """The Hessian of logsumexp is diag(p) − p pᵀ, p = softmax(x): the gradient of the
    gradient, built with create_graph, stays exact at large magnitudes too."""
    x = data.draw(logits(dtype), label="x")
    v = np.array(data.draw(st.lists(st.floats(-1, 1), min_size=x.size, max_size=x.size),
                           label="v"), dtype=dtype)
    p = np.exp(clipped(ref_log_softmax(x)[0], dtype))
    want = p * v - p * float(np.dot(p, v.astype(np.float64)))
    xt = tg.tensor(x, requires_grad=True)
    (g,) = [tg.grad(tg.logsumexp(xt), xt, create_graph=True)]
    (hv,) = [tg.grad(tg.sum(g * tg.tensor(v)), xt)]
    assert_close(hv.numpy(), want, 8 * x.size * eps(dtype) * (p + np.abs(want)) + 1e-30,
                 "Hessian-vector product")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@given(data=st.data())
def test_categorical_kl_and_kl_to_uniform_keep_their_digits(dtype, data):
    # within a quarter of the range, so no x − max overflows to −inf (0 · −inf is NaN)
    lp = data.draw(logits(dtype, limit=0.25), label="logits_p")
    lq = data.draw(logits(dtype, n=lp.size, limit=0.25), label="logits_q")
    n = lp.size
    rp, rq = clipped(ref_log_softmax(lp)[0], dtype), clipped(ref_log_softmax(lq)[0], dtype)
    p = np.exp(rp)
    scale = float(np.sum(p * (np.abs(rp) + np.abs(rq)))) + math.log(n) + 1
    tol = 8 * n * eps(dtype) * scale

    kl = F.categorical_kl(tg.tensor(lp), tg.tensor(lq)).numpy()
    want = math.fsum(pi * (a - b) for pi, a, b in zip(p, rp, rq) if pi > 0)
    assert_close(kl.reshape(1), [want], tol, "categorical_kl")

    to_uniform = F.kl_to_uniform(tg.tensor(lp)).numpy()
    want = math.fsum(pi * a for pi, a in zip(p, rp) if pi > 0) + math.log(n)
    assert_close(to_uniform.reshape(1), [want], tol, "kl_to_uniform")


@st.composite
def sharpness(draw, dtype):
    """k (or 1/τ) a power of ten the dtype holds, from 1e-2 to √max: big enough that k·x
    overflows for large x."""
    top = math.log10(float(np.finfo(dtype).max)) / 2
    return float(dtype(10.0 ** draw(st.floats(-2.0, top))))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@given(data=st.data())
def test_smooth_max_and_min_never_overflow(dtype, data):
    """smooth_max = (1/k)·logsumexp(k·x) computed as m + (1/k)·logsumexp(k·(x − m)): the old
    form overflowed to inf (and smooth_argmax to NaN) once k·x passed the dtype's max."""
    x = data.draw(logits(dtype), label="x")
    k = data.draw(sharpness(dtype), label="k")
    n = x.size
    _, shifts, r = ref_log_softmax(x, k)
    m = float(x.astype(np.float64).max())
    want = m + r / k
    tol = 8 * eps(dtype) * (abs(want) + float(np.abs(x.astype(np.float64)).max())
                            + (math.log(n) + 1) / k)
    got = F.smooth_max(tg.tensor(x), k).numpy()
    assert_close(got.reshape(1), [want], tol, "smooth_max")
    got = F.smooth_min(tg.tensor(-x), k).numpy()
    assert_close(got.reshape(1), [-want], tol, "smooth_min")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@given(data=st.data())
def test_smooth_argmax_never_overflows(dtype, data):
    x = data.draw(logits(dtype), label="x")
    k = data.draw(sharpness(dtype), label="k")
    n = x.size
    ref = clipped(ref_log_softmax(x, k)[0], dtype)
    index = math.fsum(i * math.exp(v) for i, v in enumerate(ref))
    got = F.smooth_argmax(tg.tensor(x), k).numpy()
    assert_close(got.reshape(1), [index], 8 * n * n * eps(dtype), "smooth_argmax")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@given(data=st.data())
def test_gumbel_softmax_keeps_its_digits_at_any_logits_and_temperature(dtype, data):
    """softmax((x + g)/τ) for the generator's own noise g: the old form overflowed at a small
    τ and lost the near-ties at large logits."""
    x = data.draw(logits(dtype, limit=0.5), label="x")
    tau = 1.0 / data.draw(sharpness(dtype), label="1/tau")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    g = tg.Generator(seed).gumbel(x.shape, dtype=dtype).numpy()
    z = x + g  # the engine rounds x + g in the dtype too
    ref = clipped(ref_log_softmax(z, 1.0 / float(dtype(tau)))[0], dtype)
    p_ref = np.exp(ref)
    tol = 4 * eps(dtype) * (np.abs(ref) + math.log(x.size) + 1) * p_ref \
        + float(np.finfo(dtype).smallest_subnormal) * 2
    got = F.gumbel_softmax(tg.tensor(x), tau=tau, generator=tg.Generator(seed)).numpy()
    assert got.dtype == dtype
    assert_close(got, p_ref, tol, "gumbel_softmax")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@given(data=st.data())
def test_crf_twin_marginals_are_distributions_at_any_scale(dtype, data):
    """The twin's marginals are gradients of its log Z, i.e. chains of logsumexp VJPs: at
    emissions of 1e8 (float32) the old VJP made them sum to 3 instead of 1."""
    B, L, K = 2, data.draw(st.integers(2, 4), label="L"), data.draw(st.integers(2, 3), label="K")
    top = float(np.finfo(dtype).max) / (4 * L)
    offset = dtype(top * 10.0 ** data.draw(st.floats(-math.log10(top), 0.0), label="log10"))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    h = (rng.integers(-3, 4, (B, L, K)) + offset).astype(dtype)
    G = rng.integers(-2, 3, (K, K)).astype(dtype)
    unary, pair = crf_marginals_twin(tg.tensor(h), tg.tensor(G))
    tol = 16 * K * K * L * eps(dtype)
    np.testing.assert_allclose(unary.numpy().sum(axis=-1), 1.0, atol=tol)
    np.testing.assert_allclose(pair.numpy().sum(axis=(-2, -1)), 1.0, atol=tol)
