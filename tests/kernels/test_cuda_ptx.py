"""Every CUDA kernel (conv, CRF, gradient penalty, log-det series, SSA) compiles to PTX.

Needs the CUDA toolkit's NVVM (not a GPU): ``numba.cuda.compile_ptx`` lowers the kernels
ahead of time for compute capability 7.5. Skipped where no toolkit is found, and under the
CUDA simulator (which cannot compile)."""

from __future__ import annotations

import functools
import types
import warnings

import pytest

from tinygen.backend import cuda_simulator_active

CC = (7, 5)


@functools.cache
def _no_toolkit_reason() -> str | None:
    if cuda_simulator_active():
        return "the CUDA simulator is on; it cannot compile PTX"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from numba import cuda, float32

            def probe(a):
                a[0] = 1

            cuda.compile_ptx(probe, (float32[::1],), cc=CC)
    except Exception as e:  # no numba.cuda, no NVVM, unsupported architecture, ...
        return f"no CUDA toolkit for numba.cuda.compile_ptx: {type(e).__name__}: {e}"
    return None


def _signatures():
    from tinygen.kernels.cuda import conv, crf
    return conv.kernel_signatures() + crf.kernel_signatures()


NAMES = [f"{k}_{t}" for t in ("float32", "float64") for k in ("forward", "input_grad",
                                                                "weight_grad")]
NAMES += [f"crf_{k}_{t}" for t in ("float32", "float64") for k in ("forward", "marginals",
                                                                    "viterbi")]


@pytest.mark.parametrize("name", NAMES)
def test_kernel_compiles_to_ptx(name):
    reason = _no_toolkit_reason()
    if reason:
        pytest.skip(reason)
    from numba import cuda

    (fn, sig), = [(f, s) for n, f, s in _signatures() if n == name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ptx, _ = cuda.compile_ptx(fn, sig, cc=CC)
    assert ".entry" in ptx and f".target sm_{CC[0]}{CC[1]}" in ptx
    assert "ld.shared" in ptx and "bar.sync" in ptx  # tiles in shared memory, synchronised
    if name.startswith("weight_grad"):
        assert "atom.global.add" in ptx  # the split reduction combines partial tiles
    if name.endswith("float64"):
        assert ".f64" in ptx


def test_every_kernel_signature_is_listed():
    assert sorted(n for n, _, _ in _signatures()) == sorted(NAMES)


# -- the gradient-penalty kernels (tinygen.kernels.cuda.gp) ---------------------------------

def _gp_signatures():
    from tinygen.kernels.cuda import gp
    return gp.kernel_signatures()


GP_NAMES = [f"gp_{k}_{t}" for t in ("float32", "float64") for k in (
    "gemm", "activate", "mul", "tanh_zbar", "penalty_rows", "colsum_prod")]


@pytest.mark.parametrize("name", GP_NAMES)
def test_gp_kernel_compiles_to_ptx(name):
    reason = _no_toolkit_reason()
    if reason:
        pytest.skip(reason)
    from numba import cuda

    (fn, sig), = [(f, s) for n, f, s in _gp_signatures() if n == name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ptx, _ = cuda.compile_ptx(fn, sig, cc=CC)
    assert ".entry" in ptx and f".target sm_{CC[0]}{CC[1]}" in ptx
    if "gemm" in name:
        assert "ld.shared" in ptx and "bar.sync" in ptx  # tiles in shared memory, synchronised
    if name.endswith("float64"):
        assert ".f64" in ptx


def test_every_gp_kernel_signature_is_listed():
    assert sorted(n for n, _, _ in _gp_signatures()) == sorted(GP_NAMES)


# -- the log-det kernels (tinygen.kernels.cuda.logdet) --------------------------------------

def _logdet_signatures():
    from tinygen.kernels.cuda import logdet
    return logdet.kernel_signatures()


LOGDET_NAMES = [f"logdet_{k}_{t}" for t in ("float32", "float64") for k in (
    "activate", "scale_rows", "rowdot", "seed", "pbar_sbar", "zeta", "basis", "powers",
    "powers_adj")]


@pytest.mark.parametrize("name", LOGDET_NAMES)
def test_logdet_kernel_compiles_to_ptx(name):
    reason = _no_toolkit_reason()
    if reason:
        pytest.skip(reason)
    from numba import cuda

    (fn, sig), = [(f, s) for n, f, s in _logdet_signatures() if n == name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ptx, _ = cuda.compile_ptx(fn, sig, cc=CC)
    assert ".entry" in ptx and f".target sm_{CC[0]}{CC[1]}" in ptx
    if name.endswith("float64"):
        assert ".f64" in ptx


def test_every_logdet_kernel_signature_is_listed():
    assert sorted(n for n, _, _ in _logdet_signatures()) == sorted(LOGDET_NAMES)


# -- the SSA kernel (tinygen.kernels.cuda.ssa) ----------------------------------------------

@pytest.fixture
def device_functions_for_cc(monkeypatch):
    """Numba's CUDA dispatcher compiles a function that a kernel calls (the SSA kernel's
    ``register_jitable`` helpers from ``ssa_core``) for the *current device*'s compute
    capability, which asks the driver even under ``compile_ptx``. Point that look-up at the
    target capability instead: no driver is needed, and on a machine with a GPU the helpers
    are compiled for the same target as the kernel."""
    from numba.cuda import dispatcher

    if hasattr(dispatcher, "get_current_device"):
        monkeypatch.setattr(dispatcher, "get_current_device",
                            lambda: types.SimpleNamespace(compute_capability=CC))


def test_ssa_kernel_compiles_to_ptx(device_functions_for_cc):
    reason = _no_toolkit_reason()
    if reason:
        pytest.skip(reason)
    from numba import cuda

    from tinygen.kernels.cuda import ssa

    (name, fn, sig), = ssa.kernel_signatures()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ptx, _ = cuda.compile_ptx(fn, sig, cc=CC)
    assert name == "ssa_simulate"
    assert ".entry" in ptx and f".target sm_{CC[0]}{CC[1]}" in ptx
    assert ".f64" in ptx and "mul.lo.s64" in ptx  # float64 times, 64-bit integer hashing
