"""Properties of the composites in :mod:`tinygen.functional`.

Forward values match NumPy/SciPy references; first- and second-order gradients match numerical
derivatives (float64, hypothesis-drawn tiny shapes); the losses stay finite, with finite
gradients, at logits of ±1e4; label smoothing and ignore_index agree with hand computations;
Gumbel-softmax and dropout are checked statistically with fixed seeds; every argument check
raises an error naming the function and the shapes. Hypothesis tests take the device as a
parameter (``DEVICES``), plain tests through the ``device`` fixture.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygen as tg
from tests.conftest import DEVICES
from tinygen import F
from tinygen.errors import DeviceError, DTypeError, IndexOutOfRange, ShapeError
from tinygen.testing import arrays, check_grads, shapes

device_param = pytest.mark.parametrize("device", DEVICES)


# -- helpers and references -------------------------------------------------------------------

def T(a, device: str = "cpu", dtype=np.float64, requires_grad: bool = False) -> tg.Tensor:
    return tg.tensor(np.asarray(a), dtype=dtype, device=device, requires_grad=requires_grad)


def labels_on(a, device: str):
    return tg.tensor(np.asarray(a, dtype=np.int64), device=device)


def close(x: tg.Tensor, ref, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    np.testing.assert_allclose(x.numpy(), ref, rtol=rtol, atol=atol)


def reduce_ref(loss: np.ndarray, reduction: str, count: int | None = None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / max(loss.size if count is None else count, 1)


def cross_entropy_ref(logits, target, axis, smoothing, ignore, reduction):
    logp = np.moveaxis(scipy.special.log_softmax(logits, axis=axis), axis, -1)
    k = logp.shape[-1]
    valid = np.ones(target.shape, bool) if ignore is None else target != ignore
    q = (1 - smoothing) * np.eye(k)[np.where(valid, target, 0)] + smoothing / k
    loss = np.where(valid, -(q * logp).sum(-1), 0.0)
    return reduce_ref(loss, reduction, int(valid.sum()))


def gaussian_kl_ref(m1, lv1, m2, lv2):
    """Diagonal-covariance KL from the general matrix formula
    ½[tr(Σ₂⁻¹Σ₁) + (μ₂ − μ₁)ᵀΣ₂⁻¹(μ₂ − μ₁) − k + ln(det Σ₂ / det Σ₁)]."""
    m2, lv2 = np.broadcast_to(m2, m1.shape), np.broadcast_to(lv2, m1.shape)
    out = np.empty(m1.shape[:-1])
    for i in np.ndindex(out.shape):
        s1, s2 = np.diag(np.exp(lv1[i])), np.diag(np.exp(lv2[i]))
        s2i, d = np.linalg.inv(s2), m2[i] - m1[i]
        out[i] = 0.5 * (np.trace(s2i @ s1) + d @ s2i @ d - m1.shape[-1]
                        + np.log(np.linalg.det(s2) / np.linalg.det(s1)))
    return out


@st.composite
def shape_and_axis(draw, min_dims: int = 1, max_dims: int = 3):
    shape = draw(shapes(min_dims=min_dims, max_dims=max_dims))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


@st.composite
def cross_entropy_cases(draw):
    shape, axis = draw(shape_and_axis())
    a = axis % len(shape)
    batch = shape[:a] + shape[a + 1:]
    labels = draw(hnp.arrays(np.int64, batch, elements=st.integers(0, shape[a] - 1)))
    ignore = draw(st.sampled_from([None, -100, 0]))
    if ignore == -100:
        labels = np.where(draw(hnp.arrays(bool, batch)), -100, labels)
    return dict(logits=draw(arrays(shape)), target=labels, axis=axis,
                smoothing=draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])), ignore=ignore,
                reduction=draw(st.sampled_from(["mean", "sum", "none"])))


# -- softmax family ---------------------------------------------------------------------------

@device_param
@given(case=shape_and_axis(), data=st.data())
def test_softmax_and_log_softmax_match_scipy(device, case, data):
    shape, axis = case
    a = data.draw(arrays(shape, low=-30, high=30))
    s, ls = F.softmax(T(a, device), axis), F.log_softmax(T(a, device), axis)
    close(s, scipy.special.softmax(a, axis=axis))
    close(ls, scipy.special.log_softmax(a, axis=axis), atol=1e-10)
    close(s.sum(axis=axis), np.ones(s.shape[:axis % len(shape)] + s.shape[axis % len(shape) + 1:]))


@device_param
@given(case=shape_and_axis(), data=st.data())
def test_softmax_and_log_softmax_gradients(device, case, data):
    shape, axis = case
    a = T(data.draw(arrays(shape)), device)
    check_grads(lambda x: F.softmax(x, axis), [a], order=2, name="softmax")
    check_grads(lambda x: F.log_softmax(x, axis), [a], order=2, name="log_softmax")


# -- cross-entropy ----------------------------------------------------------------------------

@device_param
@given(case=cross_entropy_cases())
def test_cross_entropy_matches_reference(device, case):
    out = F.cross_entropy(T(case["logits"], device), labels_on(case["target"], device),
                          axis=case["axis"], label_smoothing=case["smoothing"],
                          ignore_index=case["ignore"], reduction=case["reduction"])
    ref = cross_entropy_ref(case["logits"], case["target"], case["axis"], case["smoothing"],
                            case["ignore"], case["reduction"])
    close(out, ref, atol=1e-10)


@device_param
@given(case=cross_entropy_cases())
def test_cross_entropy_gradients(device, case):
    target = labels_on(case["target"], device)
    check_grads(lambda x: F.cross_entropy(x, target, axis=case["axis"],
                                          label_smoothing=case["smoothing"],
                                          ignore_index=case["ignore"],
                                          reduction=case["reduction"]),
                [T(case["logits"], device)], order=2, name="cross_entropy")


@device_param
@given(case=cross_entropy_cases(), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**32 - 1))
def test_cross_entropy_fused_gradient_equals_its_twin(device, case, dtype, seed):
    """Without label smoothing the loss is one primitive whose first-order VJP is array code
    and whose recorded VJP (create_graph) differentiates the composed twin: the two must
    agree, or second derivatives would be of another function."""
    x = tg.tensor(case["logits"].astype(dtype), device=device, requires_grad=True)
    target = labels_on(case["target"], device)
    kw = dict(axis=case["axis"], ignore_index=case["ignore"], reduction=case["reduction"])
    loss = F.cross_entropy(x, target, **kw)
    g = tg.tensor(np.random.default_rng(seed).standard_normal(loss.shape).astype(dtype),
                  device=device)
    plain = tg.grad(F.cross_entropy(x, target, **kw), [x], grad_outputs=g)[0]
    recorded = tg.grad(F.cross_entropy(x, target, **kw), [x], grad_outputs=g,
                       create_graph=True)[0]
    assert plain.dtype == recorded.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    close(plain, tg.backend.to_numpy(recorded.data), atol=tol, rtol=tol)


def test_cross_entropy_non_finite_rows_match_the_twin():
    """A row of −inf logits (or with +inf) gives NaN, as log_softmax does, and the gradient
    has NaN exactly where the composed twin's has; finite rows are exact."""
    logits = np.array([[-np.inf, -np.inf, -np.inf], [0.0, np.inf, 1.0], [1.0, 2.0, 3.0]])
    x = tg.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, [0, 1, 2], reduction="none")
    twin = -F.log_softmax(x, -1)[[0, 1, 2], [0, 1, 2]]
    np.testing.assert_array_equal(np.isnan(loss.numpy()), np.isnan(twin.numpy()))
    np.testing.assert_allclose(loss.numpy()[2], twin.numpy()[2], rtol=1e-14)
    for row in range(3):
        got, want = (tg.grad(v[row], [x], retain_graph=True)[0].numpy() for v in (loss, twin))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[2], want[2], rtol=1e-12)


def test_label_smoothing_by_hand(device):
    # p = [1/4, 1/2, 1/4], target 1, ε = 0.3:
    # 0.7·log 2 + 0.3·(log 4 + log 2 + log 4)/3 = 0.7·log 2 + 0.5·log 2 = 1.2·log 2.
    logits = T([[0.0, math.log(2.0), 0.0]], device)
    target = labels_on([1], device)
    assert F.cross_entropy(logits, target, label_smoothing=0.3).item() == \
        pytest.approx(1.2 * math.log(2.0), rel=1e-12)
    assert F.cross_entropy(logits, target).item() == pytest.approx(math.log(2.0), rel=1e-12)
    assert F.cross_entropy(logits, [1]).item() == pytest.approx(math.log(2.0), rel=1e-12)
    # ε = 1 is the cross-entropy to the uniform distribution, whatever the target.
    assert F.cross_entropy(logits, labels_on([0], device), label_smoothing=1.0).item() == \
        pytest.approx(5.0 / 3.0 * math.log(2.0), rel=1e-12)


def test_ignore_index_by_hand(device):
    logits_np = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5], [-1.0, 3.0, 0.0]])
    target_np = np.array([0, -100, 1])
    per_row = -scipy.special.log_softmax(logits_np, axis=-1)[[0, 2], [0, 1]]
    logits = T(logits_np, device, requires_grad=True)
    target = labels_on(target_np, device)
    none = F.cross_entropy(logits, target, ignore_index=-100, reduction="none")
    close(none, [per_row[0], 0.0, per_row[1]])
    total = F.cross_entropy(logits, target, ignore_index=-100, reduction="sum")
    assert total.item() == pytest.approx(per_row.sum(), rel=1e-12)
    mean = F.cross_entropy(logits, target, ignore_index=-100)
    assert mean.item() == pytest.approx(per_row.mean(), rel=1e-12)  # over 2 rows, not 3
    mean.backward()
    grad = logits.grad.numpy()
    np.testing.assert_array_equal(grad[1], 0.0)
    expected = (scipy.special.softmax(logits_np[[0, 2]], axis=-1) - np.eye(3)[[0, 1]]) / 2
    np.testing.assert_allclose(grad[[0, 2]], expected, rtol=1e-12, atol=1e-15)


def test_ignore_index_all_ignored_gives_zero(device):
    logits = T(np.ones((2, 3)), device, requires_grad=True)
    loss = F.cross_entropy(logits, labels_on([-1, -1], device), ignore_index=-1)
    assert loss.item() == 0.0
    loss.backward()
    np.testing.assert_array_equal(logits.grad.numpy(), 0.0)


def test_cross_entropy_class_axis(device):
    # (N, C, L) with classes on axis 1 equals the same logits moved to (N, L, C).
    rng = np.random.default_rng(0)
    logits, target = rng.standard_normal((2, 4, 3)), rng.integers(0, 4, (2, 3))
    a = F.cross_entropy(T(logits, device), labels_on(target, device), axis=1, reduction="none")
    b = F.cross_entropy(T(np.moveaxis(logits, 1, -1), device), labels_on(target, device),
                        reduction="none")
    close(a, b.numpy())


def test_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logits, target = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    target[2] = -100
    for smoothing in (0.0, 0.2):
        ours = F.cross_entropy(T(logits), target, label_smoothing=smoothing, ignore_index=-100)
        theirs = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target),
                                                   label_smoothing=smoothing, ignore_index=-100)
        assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)


# -- binary cross-entropy, mse, l1 ------------------------------------------------------------

@device_param
@given(shape=shapes(), data=st.data(), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_binary_cross_entropy(device, shape, data, reduction):
    p = data.draw(arrays(shape, low=0.02, high=0.98))
    t = data.draw(arrays(shape, low=0.01, high=0.99))
    ref = -(t * np.log(p) + (1 - t) * np.log1p(-p))
    close(F.binary_cross_entropy(T(p, device), T(t, device), reduction=reduction),
          reduce_ref(ref, reduction))
    check_grads(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
                [T(p, device), T(t, device)], order=2, name="binary_cross_entropy")


@device_param
@given(shape=shapes(), data=st.data(), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_binary_cross_entropy_with_logits(device, shape, data, reduction):
    x = data.draw(arrays(shape, low=-8, high=8))
    t = data.draw(arrays(shape, low=0.01, high=0.99))
    ref = -(t * np.log(scipy.special.expit(x)) + (1 - t) * np.log(scipy.special.expit(-x)))
    out = F.binary_cross_entropy_with_logits(T(x, device), T(t, device), reduction=reduction)
    close(out, reduce_ref(ref, reduction), rtol=1e-9, atol=1e-10)
    via_probs = F.binary_cross_entropy(tg.sigmoid(T(x, device)), T(t, device), eps=0.0,
                                       reduction=reduction)
    close(out, via_probs.numpy(), rtol=1e-6, atol=1e-9)
    check_grads(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction),
                [T(x, device), T(t, device)], order=2, name="binary_cross_entropy_with_logits")


def test_binary_cross_entropy_clips(device):
    p = T([0.0, 1.0], device, requires_grad=True)
    loss = F.binary_cross_entropy(p, T([1.0, 0.0], device), eps=1e-7, reduction="none")
    close(loss, [-math.log(1e-7)] * 2, rtol=1e-9)
    loss.sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), 0.0)  # clipped: no gradient


@device_param
@given(shape=shapes(), data=st.data(), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_mse_and_l1(device, shape, data, reduction):
    a = data.draw(arrays(shape))
    d = data.draw(arrays(shape, kinks=(0.0,), margin=0.1))  # keep a − b off l1's kink
    b = a - d
    close(F.mse(T(a, device), T(b, device), reduction=reduction),
          reduce_ref(d * d, reduction))
    close(F.l1(T(a, device), T(b, device), reduction=reduction),
          reduce_ref(np.abs(d), reduction))
    for fn in (F.mse, F.l1):
        check_grads(lambda x, y, fn=fn: fn(x, y, reduction=reduction),
                    [T(a, device), T(b, device)], order=2, name=fn.__name__)


# -- divergences ------------------------------------------------------------------------------

@device_param
@given(shape=shapes(min_dims=1), data=st.data())
def test_gaussian_kl_to_standard_normal(device, shape, data):
    mu, lv = data.draw(arrays(shape, low=-2, high=2)), data.draw(arrays(shape, low=-2, high=2))
    ref = gaussian_kl_ref(mu, lv, np.zeros(shape), np.zeros(shape))
    close(F.gaussian_kl(T(mu, device), T(lv, device)), ref, rtol=1e-9, atol=1e-10)
    general = F.gaussian_kl(T(mu, device), T(lv, device), T(np.zeros(shape), device),
                            T(np.zeros(shape), device))
    close(general, ref, rtol=1e-9, atol=1e-10)
    check_grads(F.gaussian_kl, [T(mu, device), T(lv, device)], order=2)


@device_param
@given(shape=shapes(min_dims=1), data=st.data(), prior_1d=st.booleans())
def test_gaussian_kl_between_two_gaussians(device, shape, data, prior_1d):
    mu, lv = data.draw(arrays(shape, low=-2, high=2)), data.draw(arrays(shape, low=-2, high=2))
    prior = shape[-1:] if prior_1d else shape  # a prior shared by the batch broadcasts
    mu2, lv2 = data.draw(arrays(prior, low=-2, high=2)), data.draw(arrays(prior, low=-2, high=2))
    out = F.gaussian_kl(*(T(v, device) for v in (mu, lv, mu2, lv2)))
    close(out, gaussian_kl_ref(mu, lv, mu2, lv2), rtol=1e-9, atol=1e-10)
    assert np.all(out.numpy() >= -1e-12)
    check_grads(F.gaussian_kl, [T(v, device) for v in (mu, lv, mu2, lv2)], order=2)


@device_param
@given(case=shape_and_axis(), data=st.data())
def test_categorical_kl_and_kl_to_uniform(device, case, data):
    shape, axis = case
    lp, lq = data.draw(arrays(shape)), data.draw(arrays(shape))
    p = scipy.special.softmax(lp, axis=axis)
    q = scipy.special.softmax(lq, axis=axis)
    kl = F.categorical_kl(T(lp, device), T(lq, device), axis)
    close(kl, scipy.special.rel_entr(p, q).sum(axis=axis), atol=1e-10)
    u = F.kl_to_uniform(T(lp, device), axis)
    close(u, scipy.special.rel_entr(p, 1.0 / shape[axis]).sum(axis=axis), atol=1e-10)
    close(u, F.categorical_kl(T(lp, device), T(np.zeros(shape), device), axis).numpy(),
          atol=1e-10)
    check_grads(lambda a, b: F.categorical_kl(a, b, axis), [T(lp, device), T(lq, device)],
                order=2, name="categorical_kl")
    check_grads(lambda a: F.kl_to_uniform(a, axis), [T(lp, device)], order=2,
                name="kl_to_uniform")


def test_kl_to_uniform_extremes(device):
    close(F.kl_to_uniform(T(np.zeros((2, 5)), device)), [0.0, 0.0])
    close(F.kl_to_uniform(T([[1e4, 0.0, 0.0, 0.0]], device)), [math.log(4.0)])


# -- Gumbel-softmax ---------------------------------------------------------------------------

@device_param
@given(case=shape_and_axis(), data=st.data(), tau=st.sampled_from([0.1, 0.5, 1.0, 3.0]),
       seed=st.integers(0, 2**16))
def test_gumbel_softmax_samples(device, case, data, tau, seed):
    shape, axis = case
    logits = T(data.draw(arrays(shape)), device)
    soft = F.gumbel_softmax(logits, tau, axis=axis, generator=tg.Generator(seed, device))
    hard = F.gumbel_softmax(logits, tau, hard=True, axis=axis,
                            generator=tg.Generator(seed, device))
    reduced = soft.shape[:axis % len(shape)] + soft.shape[axis % len(shape) + 1:]
    close(soft.sum(axis=axis), np.ones(reduced))
    assert np.all(soft.numpy() >= 0)
    h = hard.numpy()
    assert set(np.unique(h)) <= {0.0, 1.0}  # exact one-hots
    np.testing.assert_array_equal(h.sum(axis=axis), 1.0)
    np.testing.assert_array_equal(h.argmax(axis=axis), soft.numpy().argmax(axis=axis))
    again = F.gumbel_softmax(logits, tau, axis=axis, generator=tg.Generator(seed, device))
    np.testing.assert_array_equal(again.numpy(), soft.numpy())  # same seed, same sample


@device_param
@given(case=shape_and_axis(), data=st.data(), tau=st.sampled_from([0.5, 1.0, 2.0]))
def test_gumbel_softmax_gradients(device, case, data, tau):
    shape, axis = case
    a = data.draw(arrays(shape))
    check_grads(lambda x: F.gumbel_softmax(x, tau, axis=axis, generator=tg.Generator(7, device)),
                [T(a, device)], order=2, name="gumbel_softmax")
    # straight-through: the hard sample's gradient is the soft sample's
    w = T(np.random.default_rng(0).standard_normal(shape), device)
    grads = []
    for hard in (False, True):
        x = T(a, device, requires_grad=True)
        y = F.gumbel_softmax(x, tau, hard=hard, axis=axis, generator=tg.Generator(7, device))
        grads.append(tg.grad((y * w).sum(), x).numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


def test_gumbel_softmax_frequencies_match_softmax(device):
    # argmax of logits + Gumbel noise is a sample of softmax(logits), whatever τ
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    n = 20_000
    logits = T(np.tile(np.log(probs), (n, 1)), device)
    for tau in (0.5, 2.0):
        hard = F.gumbel_softmax(logits, tau, hard=True, generator=tg.Generator(123, device))
        counts = hard.numpy().sum(axis=0)
        chi2 = float(((counts - n * probs) ** 2 / (n * probs)).sum())
        assert chi2 < scipy.stats.chi2.ppf(0.999, df=len(probs) - 1), (counts, chi2)


def test_gumbel_softmax_default_generator(device):
    logits = T([[0.3, -0.2, 1.0]], device)
    gen = tg.default_generator(device)
    gen.manual_seed(11)
    a = F.gumbel_softmax(logits)
    gen.manual_seed(11)
    b = F.gumbel_softmax(logits)
    c = F.gumbel_softmax(logits, generator=tg.Generator(11, device))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy(), c.numpy())
    assert a.device == device and a.dtype == np.float64


# -- dropout ----------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(device, p):
    n = 100_000
    x = T(np.ones(n), device, requires_grad=True)
    y = F.dropout(x, p, generator=tg.Generator(0, device))
    values = y.numpy()
    kept = values != 0
    np.testing.assert_allclose(values[kept], 1.0 / (1.0 - p), rtol=1e-12)
    sd_mean = math.sqrt(p / (1 - p) / n)  # sd of the mean of x·m/(1 − p)
    assert abs(values.mean() - 1.0) < 5 * sd_mean
    assert abs((~kept).mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    y.sum().backward()  # gradient: the same mask, scaled
    np.testing.assert_array_equal(x.grad.numpy(), values)


def test_dropout_eval_and_p_zero_are_identity(device):
    x = T([[1.0, -2.0], [3.0, 4.0]], device)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_same_seed_same_mask(device):
    x = T(np.ones((4, 5)), device)
    a = F.dropout(x, 0.5, generator=tg.Generator(3, device))
    b = F.dropout(x, 0.5, generator=tg.Generator(3, device))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@device_param
@given(shape=shapes(), data=st.data())
def test_dropout_gradients(device, shape, data):
    check_grads(lambda x: F.dropout(x, 0.3, generator=tg.Generator(5, device)),
                [T(data.draw(arrays(shape)), device)], order=2, name="dropout")


# -- normalize --------------------------------------------------------------------------------

@device_param
@given(case=shape_and_axis(), data=st.data())
def test_normalize(device, case, data):
    shape, axis = case
    a = data.draw(arrays(shape, kinks=(0.0,), margin=0.2))  # norms ≥ 0.2: smooth there
    out = F.normalize(T(a, device), axis)
    close(out, a / np.linalg.norm(a, axis=axis, keepdims=True))
    close(tg.sum(out * out, axis=axis), np.ones(np.delete(shape, axis % len(shape))))
    check_grads(lambda x: F.normalize(x, axis), [T(a, device)], order=2, name="normalize")


def test_normalize_zero_vector(device):
    x = T(np.zeros((2, 3)), device, requires_grad=True)
    y = F.normalize(x)
    np.testing.assert_array_equal(y.numpy(), 0.0)
    y.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    close(F.normalize(T([[1e-13, 0.0]], device), eps=1e-12), [[0.1, 0.0]])  # x / eps


# -- smooth relaxations -----------------------------------------------------------------------

@device_param
@given(case=shape_and_axis(), data=st.data(), k=st.sampled_from([0.5, 1.0, 4.0]))
def test_smooth_max_min_argmax(device, case, data, k):
    shape, axis = case
    a = data.draw(arrays(shape))
    x = T(a, device)
    close(F.smooth_max(x, k, axis), scipy.special.logsumexp(k * a, axis=axis) / k)
    close(F.smooth_min(x, k, axis), -scipy.special.logsumexp(-k * a, axis=axis) / k)
    index = np.arange(shape[axis]).reshape([-1] + [1] * (len(shape) - axis % len(shape) - 1))
    close(F.smooth_argmax(x, k, axis),
          (scipy.special.softmax(k * a, axis=axis) * index).sum(axis=axis))
    for fn in (F.smooth_max, F.smooth_min, F.smooth_argmax):
        check_grads(lambda t, fn=fn: fn(t, k, axis), [x], order=2, name=fn.__name__)


@device_param
@given(shape=shapes(min_dims=1), data=st.data())
def test_smooth_max_tends_to_max(device, shape, data):
    a = data.draw(arrays(shape))
    n = shape[-1]
    gaps = []
    for k in (1.0, 10.0, 100.0, 1000.0):
        hi = F.smooth_max(T(a, device), k).numpy() - a.max(axis=-1)
        lo = a.min(axis=-1) - F.smooth_min(T(a, device), k).numpy()
        for gap in (hi, lo):  # max ≤ smooth_max ≤ max + log(n)/k, mirrored for min
            assert np.all(gap >= -1e-12) and np.all(gap <= math.log(n) / k + 1e-12)
        gaps.append(hi)
    assert all(np.all(g2 <= g1 + 1e-12) for g1, g2 in zip(gaps, gaps[1:], strict=False))


@device_param
@given(a=arrays((5,)))
def test_smooth_argmax_tends_to_argmax(device, a):
    i = int(a.argmax())
    a = a.copy()
    a[i] += 1.0  # a unique max, at least 1 above the rest
    assert F.smooth_argmax(T(a, device), 50.0).item() == pytest.approx(i, abs=1e-12)


@device_param
@given(case=cross_entropy_cases())
def test_smooth_accuracy(device, case):
    logits, axis = case["logits"], case["axis"]
    target = np.where(case["target"] < 0, 0, case["target"])
    probs = np.moveaxis(scipy.special.softmax(logits, axis=axis), axis, -1)
    picked = np.take_along_axis(probs, target[..., None], -1)
    got = F.smooth_accuracy(T(logits, device), labels_on(target, device), axis)
    assert got.item() == pytest.approx(picked.mean(), rel=1e-10)
    check_grads(lambda x: F.smooth_accuracy(x, labels_on(target, device), axis),
                [T(logits, device)], order=2, name="smooth_accuracy")


def test_smooth_accuracy_tends_to_accuracy(device):
    logits = np.array([[2.0, 0.0, 1.0], [0.0, 1.0, -1.0], [3.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    target = np.array([0, 1, 1, 2])  # argmax hits 3 of 4
    got = F.smooth_accuracy(T(100.0 * logits, device), labels_on(target, device))
    assert got.item() == pytest.approx(0.75, abs=1e-12)
    flat = F.smooth_accuracy(T(np.zeros((4, 3)), device), labels_on(target, device))
    assert flat.item() == pytest.approx(1.0 / 3.0, rel=1e-12)


# -- numerical stability at ±1e4 --------------------------------------------------------------

def value_and_grad(fn, a, device, dtype):
    x = T(a, device, dtype=dtype, requires_grad=True)
    y = fn(x)
    (g,) = [tg.grad(y.sum(), x)]
    assert np.all(np.isfinite(y.numpy())), y
    assert np.all(np.isfinite(g.numpy())), g
    return y.numpy(), g.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stability_at_1e4(device, dtype):
    big = [1e4, -1e4]
    y, g = value_and_grad(lambda x: tg.logsumexp(x), big, device, dtype)
    assert y == pytest.approx(1e4) and np.allclose(g, [1.0, 0.0])
    y, g = value_and_grad(tg.softplus, big, device, dtype)
    np.testing.assert_allclose(y, [1e4, 0.0])
    np.testing.assert_allclose(g, [1.0, 0.0])
    y, g = value_and_grad(F.log_softmax, big, device, dtype)
    np.testing.assert_allclose(y, [0.0, -2e4])
    np.testing.assert_allclose(g, [-1.0, 1.0], atol=1e-6)  # 1 − 2·softmax
    y, g = value_and_grad(F.softmax, big, device, dtype)
    np.testing.assert_allclose(y, [1.0, 0.0])
    logits = [[1e4, -1e4], [1e4, -1e4]]
    target = labels_on([0, 1], device)
    y, g = value_and_grad(lambda x: F.cross_entropy(x, target, reduction="none"), logits,
                          device, dtype)
    np.testing.assert_allclose(y, [0.0, 2e4])
    np.testing.assert_allclose(g, [[0.0, 0.0], [1.0, -1.0]])
    y, g = value_and_grad(lambda x: F.cross_entropy(x, target[:1], label_smoothing=0.1),
                          logits[:1], device, dtype)
    np.testing.assert_allclose(y, 0.1 * 2e4 / 2)
    xs, ts = [1e4, 1e4, -1e4, -1e4], [1.0, 0.0, 1.0, 0.0]
    y, g = value_and_grad(lambda x: F.binary_cross_entropy_with_logits(
        x, T(ts, device, dtype), reduction="none"), xs, device, dtype)
    np.testing.assert_allclose(y, [0.0, 1e4, 1e4, 0.0])
    np.testing.assert_allclose(g, [0.0, 1.0, -1.0, 0.0])  # σ(x) − t


def test_second_derivatives_finite_at_1e4(device):
    x = T([[1e4, -1e4, 0.0]], device, requires_grad=True)
    target = labels_on([1], device)
    for loss in (lambda v: F.cross_entropy(v, target, label_smoothing=0.1),
                 lambda v: F.binary_cross_entropy_with_logits(v, T(np.ones((1, 3)), device))):
        (g,) = [tg.grad(loss(x), x, create_graph=True)]
        (h,) = [tg.grad((g * g).sum(), x)]
        assert np.all(np.isfinite(g.numpy())) and np.all(np.isfinite(h.numpy()))


# -- dtypes -----------------------------------------------------------------------------------

FLOAT32_CASES = {
    "softmax": lambda x, t: F.softmax(x),
    "log_softmax": lambda x, t: F.log_softmax(x),
    "cross_entropy": lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
    "binary_cross_entropy": lambda x, t: F.binary_cross_entropy(tg.sigmoid(x), tg.sigmoid(x)),
    "bce_with_logits": lambda x, t: F.binary_cross_entropy_with_logits(x, tg.sigmoid(x)),
    "mse": lambda x, t: F.mse(x, x * 2.0),
    "l1": lambda x, t: F.l1(x, x * 2.0),
    "gaussian_kl": lambda x, t: F.gaussian_kl(x, x),
    "gaussian_kl2": lambda x, t: F.gaussian_kl(x, x, x * 0.5, x),
    "categorical_kl": lambda x, t: F.categorical_kl(x, x * 2.0),
    "kl_to_uniform": lambda x, t: F.kl_to_uniform(x),
    "gumbel_softmax": lambda x, t: F.gumbel_softmax(x, hard=True, generator=tg.Generator(0)),
    "dropout": lambda x, t: F.dropout(x, 0.5, generator=tg.Generator(0)),
    "normalize": lambda x, t: F.normalize(x),
    "smooth_max": lambda x, t: F.smooth_max(x, 3.0),
    "smooth_min": lambda x, t: F.smooth_min(x, 3.0),
    "smooth_argmax": lambda x, t: F.smooth_argmax(x, 3.0),
    "smooth_accuracy": lambda x, t: F.smooth_accuracy(x, t),
}


@pytest.mark.parametrize("name", list(FLOAT32_CASES))
def test_float32_in_float32_out(name):
    x = T([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]], dtype=np.float32, requires_grad=True)
    y = FLOAT32_CASES[name](x, labels_on([2, 0], "cpu"))
    assert y.dtype == np.float32
    assert tg.grad(y.sum(), x).dtype == np.float32


def test_module_exports_documented_functions():
    assert tg.F is tg.functional
    for name in F.__all__:
        fn = getattr(F, name)
        assert fn.__doc__ and fn.__annotations__, name


# -- argument checks: each error names the function and the shapes ----------------------------

x23 = T(np.zeros((2, 3)))
x3 = T(np.zeros(3))
y2 = labels_on([0, 1], "cpu")

ERROR_CASES = [
    # (call, error, fragments the message must contain)
    (lambda: F.softmax(x23, axis=2), ShapeError, ["softmax", "axis 2", "(2, 3)"]),
    (lambda: F.log_softmax(T(0.0), axis=-1), ShapeError, ["log_softmax", "shape ()"]),
    (lambda: F.cross_entropy(x23, T([0.0, 1.0])), DTypeError,
     ["cross_entropy", "integer", "float64", "(2,)"]),
    (lambda: F.cross_entropy(x23, labels_on([0, 3], "cpu")), IndexOutOfRange,
     ["cross_entropy", "[0, 3)", "[0, 3]", "(2, 3)"]),
    (lambda: F.cross_entropy(x23, labels_on([-1, 0], "cpu")), IndexOutOfRange,
     ["cross_entropy", "[0, 3)", "[-1, 0]"]),
    (lambda: F.cross_entropy(x23, labels_on([5, 0], "cpu"), ignore_index=-100),
     IndexOutOfRange, ["cross_entropy", "[0, 3)", "ignore_index=-100"]),
    (lambda: F.cross_entropy(x23, labels_on([0, 1, 2], "cpu")), ShapeError,
     ["cross_entropy", "(2, 3)", "(2,)", "(3,)"]),
    (lambda: F.cross_entropy(x23, y2, axis=0), ShapeError,
     ["cross_entropy", "(2, 3)", "axis 0", "(3,)", "(2,)"]),
    (lambda: F.cross_entropy(x23, y2, axis=5), ShapeError, ["cross_entropy", "axis 5", "(2, 3)"]),
    (lambda: F.cross_entropy(T(1.0), labels_on(0, "cpu")), ShapeError,
     ["cross_entropy", "shape ()", "num_classes"]),
    (lambda: F.cross_entropy(x23, y2, reduction="avg"), ValueError,
     ["cross_entropy", "'avg'", "'mean'"]),
    (lambda: F.cross_entropy(x23, y2, label_smoothing=1.5), ValueError,
     ["cross_entropy", "label_smoothing", "1.5"]),
    (lambda: F.binary_cross_entropy(x3, T(np.zeros((2, 3)))), ShapeError,
     ["binary_cross_entropy", "(3,)", "(2, 3)"]),
    (lambda: F.binary_cross_entropy(T([0.5, 1.5]), T([0.0, 1.0])), ValueError,
     ["binary_cross_entropy", "probs", "(2,)", "[0.5, 1.5]", "with_logits"]),
    (lambda: F.binary_cross_entropy(T([0.5, 0.5]), T([0.0, 2.0])), ValueError,
     ["binary_cross_entropy", "target", "(2,)", "[0.0, 2.0]"]),
    (lambda: F.binary_cross_entropy(T([0.5]), T([1.0]), eps=0.7), ValueError,
     ["binary_cross_entropy", "eps", "0.7"]),
    (lambda: F.binary_cross_entropy(T([0.5]), T([1.0]), reduction=None), ValueError,
     ["binary_cross_entropy", "reduction", "None"]),
    (lambda: F.binary_cross_entropy_with_logits(x23, x3), ShapeError,
     ["binary_cross_entropy_with_logits", "(2, 3)", "(3,)"]),
    (lambda: F.binary_cross_entropy_with_logits(x3, T([0.0, -1.0, 1.0])), ValueError,
     ["binary_cross_entropy_with_logits", "target", "(3,)", "[-1.0, 1.0]"]),
    (lambda: F.binary_cross_entropy_with_logits(x3, x3, reduction="max"), ValueError,
     ["binary_cross_entropy_with_logits", "'max'"]),
    (lambda: F.mse(x23, x3), ShapeError, ["mse", "(2, 3)", "(3,)", "broadcast"]),
    (lambda: F.mse(x3, x3, reduction="mena"), ValueError, ["mse", "'mena'"]),
    (lambda: F.l1(T(np.zeros((3, 1))), x3), ShapeError, ["l1", "(3, 1)", "(3,)"]),
    (lambda: F.l1(x3, x3, reduction="total"), ValueError, ["l1", "'total'"]),
    (lambda: F.gaussian_kl(x23, x3), ShapeError, ["gaussian_kl", "(2, 3)", "(3,)"]),
    (lambda: F.gaussian_kl(T(0.0), T(0.0)), ShapeError, ["gaussian_kl", "shape ()"]),
    (lambda: F.gaussian_kl(x23, x23, mu2=x3), ValueError, ["gaussian_kl", "mu2", "logvar2"]),
    (lambda: F.gaussian_kl(x23, x23, T(np.zeros(2)), x3), ShapeError,
     ["gaussian_kl", "mu2", "(2,)", "(2, 3)"]),
    (lambda: F.gaussian_kl(x3, x3, x3, x23), ShapeError,
     ["gaussian_kl", "logvar2", "(2, 3)", "(3,)"]),
    (lambda: F.categorical_kl(x23, x3), ShapeError, ["categorical_kl", "(2, 3)", "(3,)"]),
    (lambda: F.categorical_kl(x3, x3, axis=1), ShapeError,
     ["categorical_kl", "axis 1", "(3,)"]),
    (lambda: F.kl_to_uniform(x23, axis=-3), ShapeError, ["kl_to_uniform", "axis -3", "(2, 3)"]),
    (lambda: F.gumbel_softmax(x23, tau=0.0), ValueError, ["gumbel_softmax", "tau", "0.0"]),
    (lambda: F.gumbel_softmax(x23, axis=2), ShapeError, ["gumbel_softmax", "axis 2", "(2, 3)"]),
    (lambda: F.dropout(x23, 1.0), ValueError, ["dropout", "[0, 1)", "1.0"]),
    (lambda: F.dropout(x23, -0.1), ValueError, ["dropout", "[0, 1)", "-0.1"]),
    (lambda: F.dropout(x23, float("nan")), ValueError, ["dropout", "nan"]),
    (lambda: F.dropout(x23, True), ValueError, ["dropout", "True"]),
    (lambda: F.normalize(x23, eps=0.0), ValueError, ["normalize", "eps", "0.0"]),
    (lambda: F.normalize(x23, axis=-3), ShapeError, ["normalize", "axis -3", "(2, 3)"]),
    (lambda: F.smooth_max(x23, 0.0), ValueError, ["smooth_max", "k", "0.0"]),
    (lambda: F.smooth_min(x23, -1.0), ValueError, ["smooth_min", "k", "-1.0"]),
    (lambda: F.smooth_argmax(x23, 1.0, axis=3), ShapeError,
     ["smooth_argmax", "axis 3", "(2, 3)"]),
    (lambda: F.smooth_max(T(1.0), 1.0), ShapeError, ["smooth_max", "shape ()"]),
    (lambda: F.smooth_accuracy(x23, T([0.0, 1.0])), DTypeError,
     ["smooth_accuracy", "integer", "float64"]),
    (lambda: F.smooth_accuracy(x23, labels_on([[0, 1]], "cpu")), ShapeError,
     ["smooth_accuracy", "(2, 3)", "(1, 2)", "(2,)"]),
    (lambda: F.smooth_accuracy(x23, labels_on([0, 7], "cpu")), IndexOutOfRange,
     ["smooth_accuracy", "[0, 3)", "[0, 7]"]),
    (lambda: F.smooth_accuracy(T(np.zeros((0, 3))), labels_on(np.zeros(0), "cpu")),
     ShapeError, ["smooth_accuracy", "(0, 3)"]),
    (lambda: F.softmax(np.array(["a", "b"])), DTypeError, ["softmax", "<U1"]),
]


@pytest.mark.parametrize("call, error, fragments", ERROR_CASES,
                         ids=[f"{i}-{case[2][0]}" for i, case in enumerate(ERROR_CASES)])
def test_argument_errors(call, error, fragments):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_device_mismatch_errors():
    if not tg.cuda_available():
        pytest.skip("needs a CUDA GPU to put inputs on two devices")
    logits = T(np.zeros((2, 3)), "cuda")
    with pytest.raises(DeviceError, match=re.escape("gumbel_softmax")):
        F.gumbel_softmax(logits, generator=tg.Generator(0, "cpu"))
    with pytest.raises(DeviceError, match=re.escape("dropout")):
        F.dropout(logits, 0.5, generator=tg.Generator(0, "cpu"))
    with pytest.raises(DeviceError, match=re.escape("cross_entropy")):
        F.cross_entropy(logits, labels_on([0, 1], "cpu"))
