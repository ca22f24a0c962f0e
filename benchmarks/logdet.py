"""How much faster are the log-det kernels than the composed twin, and how close to the
matrix products they cannot avoid? float32, CPU or CUDA.

Two i-ResNet residual blocks (ELU, spectrally normalised, c = 0.9), one Rademacher probe
per sample, n = 10 terms of the series:

* **toy**: 2 → 128 → 128 → 2, batch 512 (the 2-D density models of lesson 15);
* **image**: 196 → 512 → 512 → 196, batch 128 (14 × 14 digits).

Two steps each: **forward** (the truncated-series estimate per sample) and **gradient** (the
estimate and its gradient for every (normalised) weight and bias; the spectral normalisation
is done once, outside the timed steps, as it is the same for both paths). **generic**:
``series_terms(block.jvp(x), v, n)`` (n JVP chains op by op) and ``tinygen.grad`` through them;
**fused**: :func:`tinygen.models.flows.logdet_fused.fused_series_terms`, one kernel call (and one
more for the gradient). Before timing, the two paths are checked to agree.

**The GEMM floor.** The kernel's matrix products, at their shapes, timed alone (NumPy's or
CuPy's matmul): for the probe chain, L − 1 for the forward pass on B rows and n·L on B·m rows;
the gradient step calls the terms kernel and then the gradient kernel, which runs the forward
pass and the chain again (keeping every intermediate) and adds n·L − 1 products for the
adjoint chain, L for the weight gradients over all n·B·m rows and 2(L − 1) for the backward
pass of the network. (Keeping the probe chain for the backward would save the repeated
L − 1 + n·L, a quarter of the gradient step, at the price of n·B·m·Σd_l floats held from the
forward to the backward.) For d = 2 the kernel forms each sample's 2 × 2 Jacobian instead
(two chain rows per sample and no powers of the network: this is where the toy speed-up comes
from); that chain is small, so the forward call keeps it with the forward pass and the
gradient kernel does not repeat them, and the floor counts those products. Goals: fused ≥ 5×
generic on the toy block (medians); on the image block, fused within 1.15× of its floor
(minimum times). The three are timed in turns, call by call.

Run ``python benchmarks/logdet.py [--device cuda] [--repeats N] [--threads N]``, or import it
and call :func:`run` (small sizes make a smoke test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen import backend
from tinygen.kernels.logdet_args import jacobian_mode
from tinygen.models.flows import logdet as L
from tinygen.models.flows.iresnet import ResidualMLP
from tinygen.models.flows.logdet_fused import fused_series_terms

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py
from common import clock, peak_memory_mib, synchronize  # noqa: E402
from common import threads as limit_threads  # noqa: E402

SPEEDUP_GOAL = 5.0  # toy: fused at least this many times faster than generic
FLOOR_GOAL = 1.15  # image: fused within this factor of its GEMM floor
SEED = 0
PROBLEMS = {"toy": dict(dims=(2, 128, 128, 2), batch=512),
            "image": dict(dims=(196, 512, 512, 196), batch=128)}


def interleaved(fns: dict[str, Callable], repeats: int, warmup: int,
                device: str = "cpu", timer: str = "wall") -> dict[str, list[float]]:
    """Milliseconds of ``repeats`` calls of each function, taking turns call by call (after
    ``warmup`` untimed calls each), so that a busy spell of a shared machine hits all alike;
    by the wall clock or (``timer="cpu"``) the process's CPU time."""
    now = time.process_time if timer == "cpu" else time.perf_counter
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    out: dict[str, list[float]] = {name: [] for name in fns}
    synchronize(device)
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = now()
            fn()
            synchronize(device)
            out[name].append((now() - t0) * 1e3)
    return out


def make_problem(dims, batch: int, m: int = 1, device: str = "cpu", seed: int = SEED):
    """The block (eval mode, float32, weights scaled so that the normalisation is active),
    samples x (B, d) and Rademacher probes (B, m, d) on ``device``."""
    block = ResidualMLP(dims, "elu", c=0.9, n_power_iterations=50,
                        generator=tg.Generator(seed)).to(device, np.float32)
    block.weights()  # converge the power iteration
    block.eval()
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.standard_normal((batch, dims[0])).astype(np.float32), device=device)
    v = L.probes(batch, m, dims[0], generator=tg.Generator(seed), dtype=np.float32).to(device)
    return block, x, v


def steps(block, x, v, n: int) -> dict[str, dict[str, Callable]]:
    """{path: {"forward": f, "gradient": f}}: the estimate, and the estimate with the gradient
    of its sum for every parameter."""
    coef = L.power_series_coefficients(n)
    with tg.no_grad():  # the normalised weights, as leaves: both paths time the log-det only
        ws = [tg.Tensor(w.data, requires_grad=True) for w in block.weights()]
    params = ws + [lin.bias for lin in block.linears]

    def estimate(fused: bool):
        terms = (fused_series_terms(block, x, v, n, weights=ws) if fused
                 else L.series_terms(block.jvp(x, ws), v, n))
        return L.logdet_estimate(terms, coef)

    def forward(fused):
        with tg.no_grad():
            return estimate(fused)

    def gradient(fused):
        est = estimate(fused)
        return est, tg.grad(est.sum(), params, allow_unused=True)

    return {name: {"forward": lambda f=fused: forward(f), "gradient": lambda f=fused: gradient(f)}
            for name, fused in (("generic", False), ("fused", True))}


def agreement(path_steps) -> float:
    """The largest difference between the paths' estimates and gradients, relative to each
    one's largest entry (float32: ~1e-5 expected)."""
    (eg, gg), (ef, gf) = (path_steps[p]["gradient"]() for p in ("generic", "fused"))
    err = float(np.abs(eg.numpy() - ef.numpy()).max() / max(np.abs(eg.numpy()).max(), 1e-30))
    for a, b in zip(gg, gf):
        if a is None or b is None:
            if (a is None) != (b is None) and np.any((a if b is None else b).numpy()):
                return float("inf")
            continue
        err = max(err, float(np.abs(a.numpy() - b.numpy()).max()
                             / max(np.abs(a.numpy()).max(), 1e-30)))
    return err


def products(dims, batch: int, m: int, n: int, gradient: bool) -> list[tuple]:
    """The kernel's matrix products as (rows, inner, cols) shapes (see the module docstring)."""
    d, L_ = dims[0], len(dims) - 1
    pairs = list(zip(dims[:-1], dims[1:]))
    jac = jacobian_mode(d, m, n, "auto")
    rows, powers = (batch * d, 1) if jac else (batch * m, n)
    out = [(batch, a, b) for a, b in pairs[:-1]]  # the forward pass
    out += [(rows, a, b) for _ in range(powers) for a, b in pairs]  # the chain
    if gradient:  # the step calls the terms kernel, then the gradient kernel: in chain mode
        # it runs the forward pass and the chain again (keeping them; in Jacobian mode the
        # terms kernel kept them), then their adjoints
        if not jac:
            out += [(batch, a, b) for a, b in pairs[:-1]]
            out += [(rows, a, b) for _ in range(powers) for a, b in pairs]
        out += [(rows, b, a) for _ in range(powers) for a, b in pairs][1:]  # adjoint chain
        out += [(a, powers * rows, b) for a, b in pairs]  # weight gradients
        out += [(a, batch, b) for a, b in pairs[:-1]] + [(batch, b, a) for a, b in pairs[:-1]]
    assert len(out) == (L_ - 1 + powers * L_ if not gradient
                        else (3 if jac else 4) * (L_ - 1) + (2 if jac else 3) * powers * L_
                        - 1 + L_)
    return out


def gemm_floor(shapes: list[tuple], device: str) -> Callable:
    """A function doing all the products in ``shapes`` (float32 matmuls into preallocated
    outputs): the floor's work, to be timed."""
    xp = backend.module_of_device(device)
    rng = np.random.default_rng(SEED)
    ops = [(xp.asarray(rng.standard_normal((r, k)).astype(np.float32)),
            xp.asarray(rng.standard_normal((k, c)).astype(np.float32)),
            xp.empty((r, c), dtype=np.float32)) for r, k, c in shapes]

    def run_all():
        for a, b, out in ops:
            xp.matmul(a, b, out=out)

    return run_all


def run(repeats: int = 20, warmup: int = 3, n: int = 10, m: int = 1, device: str = "cpu",
        threads: int | None = None, problems: dict | None = None) -> dict:
    """Check the paths agree, then time both steps of both paths and the GEMM floor, for each
    problem ({name: dict(dims, batch)}; default :data:`PROBLEMS`). Returns
    {name: {step: {"generic_ms", "fused_ms", "floor_ms" (medians), "speedup" (of the
    medians), "fused_min_ms", "floor_min_ms", "over_floor" (of the minima: both are pure
    compute, and the minimum is the least disturbed by other work on a shared machine),
    "products"}, "agree", "error", "dims", "batch"}, "goals": {...}, ...}."""
    if repeats < 1:
        raise ValueError(f"run: repeats must be at least 1, got {repeats}")
    device = backend.check_device(device)
    out: dict = {"device": device, "n": n, "m": m, "threads": threads, "repeats": repeats}
    for name, spec in (problems or PROBLEMS).items():
        block, x, v = make_problem(spec["dims"], spec["batch"], m, device)
        path_steps = steps(block, x, v, n)
        error = agreement(path_steps)  # also compiles the kernels
        r = {"dims": list(spec["dims"]), "batch": spec["batch"], "error": error,
             "agree": bool(error <= 1e-3)}
        with limit_threads(threads):
            for step in ("forward", "gradient"):
                shapes = products(spec["dims"], spec["batch"], m, n, step == "gradient")
                ms = interleaved({"generic": path_steps["generic"][step],
                                  "fused": path_steps["fused"][step],
                                  "floor": gemm_floor(shapes, device)}, repeats, warmup, device,
                                 clock(threads, device))
                med = {k: statistics.median(t) for k, t in ms.items()}
                low = {k: min(t) for k, t in ms.items()}
                r[step] = {"generic_ms": med["generic"], "fused_ms": med["fused"],
                           "floor_ms": med["floor"], "speedup": med["generic"] / med["fused"],
                           "fused_min_ms": low["fused"], "floor_min_ms": low["floor"],
                           "over_floor": low["fused"] / low["floor"], "products": len(shapes)}
        if device == "cpu":  # peak memory of one gradient step, each path
            r["gradient_peak_mib"] = {k: peak_memory_mib(path_steps[k]["gradient"])["rss"]
                                      for k in ("generic", "fused")}
        out[name] = r
    out["clock"] = clock(threads, device)
    goals = {}
    if "toy" in out:
        for step in ("forward", "gradient"):
            s = out["toy"][step]["speedup"]
            goals[f"toy {step}: fused / generic speed-up"] = (s, SPEEDUP_GOAL, ">=",
                                                              bool(s >= SPEEDUP_GOAL))
    if "image" in out:
        for step in ("forward", "gradient"):
            f = out["image"][step]["over_floor"]
            goals[f"image {step}: fused / GEMM floor"] = (f, FLOOR_GOAL, "<=",
                                                          bool(f <= FLOOR_GOAL))
    out["goals"] = goals
    try:
        out["load"] = os.getloadavg()[0]
    except OSError:
        out["load"] = None
    return out


def report(r: dict) -> str:
    """The figures of :func:`run` as a small table with the verdicts."""
    load = "?" if r["load"] is None else f"{r['load']:.1f}"
    lines = [f"log-det series terms, n = {r['n']}, {r['m']} probe(s) per sample, float32, "
             f"{r['device']}, BLAS threads {r['threads'] or 'default'}, load {load}, "
             f"{r['clock']} time",
             f"{'block':<34}{'step':<10}{'generic ms':>11}{'fused ms':>10}{'speed-up':>10}"
             f"{'floor ms':>10}{'fused/floor (min)':>18}"]
    for name, p in r.items():
        if not isinstance(p, dict) or "dims" not in p:
            continue
        label = f"{name} {'→'.join(map(str, p['dims']))}, B {p['batch']}"
        for step in ("forward", "gradient"):
            s = p[step]
            lines.append(f"{label:<34}{step:<10}{s['generic_ms']:>11.2f}{s['fused_ms']:>10.2f}"
                         f"{s['speedup']:>9.2f}×{s['floor_ms']:>10.2f}{s['over_floor']:>17.2f}×")
            label = ""
        lines.append(f"{'':<34}paths agree: {p['agree']} (largest relative difference "
                     f"{p['error']:.1e}); floor = {p['gradient']['products']} products for "
                     "the gradient")
        if "gradient_peak_mib" in p:
            m = p["gradient_peak_mib"]
            lines.append(f"{'':<34}peak memory of a gradient step (resident, above the memory "
                         f"before it): generic {m['generic']:.1f}, fused {m['fused']:.1f} MiB")
    for goal, (value, target, sign, met) in r["goals"].items():
        lines.append(f"goal {goal} {value:.2f} {sign} {target}: {'met' if met else 'NOT met'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--n", type=int, default=10, help="terms of the series")
    parser.add_argument("--probes", type=int, default=1, help="probes per sample")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (default: the libraries' defaults)")
    args = parser.parse_args()
    print(report(run(args.repeats, args.warmup, args.n, args.probes, args.device,
                     args.threads)))


if __name__ == "__main__":
    main()
