"""How fast are the convolution kernels? Two problems, three implementations, float32.

* **conv fwd+bwd**: ``conv2d`` of x (64, 16, 28, 28) with w (32, 16, 3, 3), padding 1, then
  its backward for both x and w: three convolution-sized products (forward, input gradient,
  weight gradient) of 2·N·O·H·W·C·kH·kW = 0.46 GFLOP each, 1.39 GFLOP in all.
* **CNN step**: one SGD step of a small CNN on 28 × 28 images, batch 64:
  conv 1→16 3×3 pad 1, ReLU, max-pool 2 → conv 16→32 3×3 pad 1, ReLU, max-pool 2 →
  linear 32·7·7→10, softmax cross-entropy. (Written with raw ops and tensors as parameters;
  the layers of ``tinygen.nn`` are not needed.)

Implementations: **tinygen** (the Numba kernels of ``tinygen.kernels.cpu.conv``), the
**twin** (the same maps from pad + gather + matmul Tensor ops, :mod:`tinygen.ops.conv_twin`,
on NumPy), and **PyTorch (CPU)** when ``import torch`` works. Before timing, the CNN's
gradients from all three are checked to agree on the same weights and batch.

Throughput is put next to this machine's float32 GEMM, measured in the same process on a
square n × n × n product with the same FLOPs as one conv pass (n = 613): GFLOP/s of the conv
fwd+bwd divided by GEMM GFLOP/s is the fraction of GEMM speed the kernels reach.

Goals: CNN step <= 1.5× PyTorch CPU; conv fwd+bwd >= 60 % of measured GEMM throughput; the CNN
step's peak memory (resident set above the memory before the step, the same probe for both,
``common.peak_memory_mib``) <= 1.5× PyTorch's.
With ``--device cuda`` (CuPy and a GPU) the same runs on the GPU: tinygen's Numba CUDA
kernels against PyTorch's cuDNN and CuPy's GEMM, synchronising after every call (goal there:
tinygen >= 0.5× cuDNN's speed, i.e. conv time <= 2× PyTorch's).

Measured on the repo's 2-core AVX-512 Xeon (quiet moment, medians of 15, float32)::

                         conv fwd+bwd          of GEMM     CNN step
    2 threads (default)  tinygen 23.3 ms  59.5 GFLOP/s  21 % of 277   15.5 ms
                         torch    5.8 ms   238           86 %          7.2 ms  → 2.14×
    1 thread             tinygen 25.7 ms  54.0 GFLOP/s  35 % of 156   16.5 ms
                         torch   11.4 ms   121           78 %         14.2 ms  → 1.16×
    twin (array ops)     ~210–230 ms      ~6 GFLOP/s                   54–74 ms

With another process on the cores, multi-threaded BLAS (and PyTorch) timings swing by 10×
or more; ``--threads 1`` is the steady comparison.

Run ``python benchmarks/conv.py [--repeats N] [--threads N] [--device cuda]``, or import it and call
:func:`run`, which returns the figures as a dict (small sizes make a smoke test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen.ops.conv import conv2d, max_pool2d
from tinygen.ops.conv_twin import conv2d_twin

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py
from common import clock, optional_torch, peak_memory_mib, times_ms  # noqa: E402
from common import threads as limit_threads  # noqa: E402

LR = 0.01
SEED = 0
GOAL_CNN_OVER_TORCH = 1.5   # the CNN step may take at most this many times PyTorch's
GOAL_FRACTION_OF_GEMM = 0.6  # conv fwd+bwd should reach this fraction of GEMM GFLOP/s
GOAL_CNN_MEMORY_OVER_TORCH = 1.5  # the CNN step's peak memory may be this many times PyTorch's
GOAL_GPU_OF_CUDNN = 0.5      # on a GPU: conv fwd+bwd at least this fraction of cuDNN's speed


def gemm_gflops(flops: float, repeats: int, device: str = "cpu", timer: str = "wall"
                ) -> tuple[float, int]:
    """GFLOP/s of a square float32 matmul with about ``flops`` FLOPs (2n³), best of repeats
    (``timer``: the clock of :func:`common.times_ms`)."""
    n = max(16, round((flops / 2) ** (1 / 3)))
    rng = np.random.default_rng(SEED)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    if device == "cuda":
        import cupy
        a, b = cupy.asarray(a), cupy.asarray(b)
    ms = min(times_ms(lambda: a @ b, max(3, repeats), warmup=2, device=device, clock=timer))
    return 2 * n**3 / ms / 1e6, n


# -- problem 1: one conv, forward and backward ----------------------------------------------

def conv_problem(batch: int, c_in: int, c_out: int, size: int, seed: int = SEED):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, c_in, size, size)).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in, 3, 3)) / np.sqrt(9 * c_in)).astype(np.float32)
    g = rng.standard_normal((batch, c_out, size, size)).astype(np.float32)
    return x, w, g


def _torch_device(torch, device: str):
    """PyTorch's device for ``device``, or None when PyTorch cannot run there."""
    if device == "cuda" and not torch.cuda.is_available():
        return None
    return torch.device(device)


def conv_steps(x, w, g, device: str = "cpu") -> dict[str, Callable]:
    """Callables that run conv fwd+bwd (gradients for x and w) once each."""
    xd, wd, gd = (tg.tensor(a, device=device) for a in (x, w, g))

    def tinygen_step(conv=conv2d):
        xt, wt = tg.Tensor(xd.data, requires_grad=True), tg.Tensor(wd.data, requires_grad=True)
        conv(xt, wt, padding=1).backward(gd)

    steps = {"tinygen": tinygen_step, "twin": lambda: tinygen_step(conv2d_twin)}
    torch = optional_torch()
    dev = None if torch is None else _torch_device(torch, device)
    if dev is not None:
        xt = torch.from_numpy(x).to(dev).requires_grad_()
        wt = torch.from_numpy(w).to(dev).requires_grad_()
        gt = torch.from_numpy(g).to(dev)

        def torch_step():
            xt.grad = wt.grad = None
            torch.nn.functional.conv2d(xt, wt, padding=1).backward(gt)

        steps["torch"] = torch_step
    return steps


# -- floors: the GEMMs alone, at the shapes the im2col kernels give them ----------------------

def conv_gemms(batch: int, c_in: int, c_out: int, size: int, input_grad: bool = True,
               seed: int = SEED) -> list[Callable]:
    """The matrix products a 3×3, padding-1 conv's fwd+bwd makes in
    :mod:`tinygen.kernels.cpu.conv` (``size``² ≥ its ``PER_IMAGE_COLUMNS``: one product per
    image, K = 9·c_in rows of columns, P = size² columns), as callables on random arrays of
    those shapes and layouts: forward (O × K)(K × P), input gradient (K × O)(O × P) (the
    weight read transposed), weight gradient (O × P)(P × K) (the columns read transposed).
    No im2col, col2im or copies: what they take is what the kernels add to this."""
    rng = np.random.default_rng(seed)
    k, p = 9 * c_in, size * size

    def f32(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    w, cols, g = f32(c_out, k), f32(batch, k, p), f32(batch, c_out, p)
    y, dcols, dw = f32(batch, c_out, p), f32(batch, k, p), f32(batch, c_out, k)
    steps = [lambda: np.matmul(w, cols, out=y),
             lambda: np.matmul(g, cols.transpose(0, 2, 1), out=dw)]
    if input_grad:
        steps.append(lambda: np.matmul(w.T, g, out=dcols))
    return steps


def cnn_gemms(batch: int, size: int = 28) -> list[Callable]:
    """Every matrix product of one step of the small CNN (:func:`cnn_problem`), as the
    kernels and the engine make them: conv1 (no input gradient: the images need none), conv2
    and the linear layer with its two gradients."""
    rng = np.random.default_rng(SEED)
    feat = 32 * (size // 4) ** 2
    h, w3, g3 = (rng.standard_normal(s).astype(np.float32)
                 for s in ((batch, feat), (feat, 10), (batch, 10)))
    return (conv_gemms(batch, 1, 16, size, input_grad=False)
            + conv_gemms(batch, 16, 32, size // 2)
            + [lambda: h @ w3, lambda: h.T @ g3, lambda: g3 @ w3.T])


def _all(steps: list[Callable]) -> Callable:
    def run_all() -> None:
        for step in steps:
            step()
    return run_all


# -- problem 2: a small CNN's training step -------------------------------------------------

def cnn_problem(batch: int, size: int = 28, seed: int = SEED):
    """He-initialised weights (conv1, b1, conv2, b2, fc, bfc), images and labels, float32."""
    rng = np.random.default_rng(seed)
    feat = 32 * (size // 4) ** 2

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(np.float32)

    params = [he((16, 1, 3, 3), 9), np.full(16, 0.01, np.float32),
              he((32, 16, 3, 3), 144), np.full(32, 0.01, np.float32),
              he((feat, 10), feat), np.zeros(10, np.float32)]
    x = rng.standard_normal((batch, 1, size, size)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return params, x, y


def tinygen_cnn_loss(params, x, y, conv=conv2d):
    w1, b1, w2, b2, w3, b3 = params
    h = max_pool2d(tg.relu(conv(x, w1, b1, padding=1)), 2)
    h = max_pool2d(tg.relu(conv(h, w2, b2, padding=1)), 2)
    logits = h.reshape(h.shape[0], -1) @ w3 + b3
    return F.cross_entropy(logits, y)


def tinygen_cnn_grads(arrays, x, y, conv=conv2d) -> list[np.ndarray]:
    params = [tg.tensor(a, requires_grad=True) for a in arrays]
    tinygen_cnn_loss(params, tg.tensor(x), y, conv).backward()
    return [p.grad.numpy() for p in params]


def tinygen_cnn_stepper(arrays, x, y, conv=conv2d, device: str = "cpu") -> Callable:
    params = [tg.tensor(a, device=device, requires_grad=True) for a in arrays]
    xt, y = tg.tensor(x, device=device), tg.tensor(y, device=device)

    def step() -> None:
        tinygen_cnn_loss(params, xt, y, conv).backward()
        with tg.no_grad():
            for p in params:
                p.data -= LR * p.grad.data
                p.grad = None

    return step


def torch_cnn_loss(torch, params, x, y):
    tf = torch.nn.functional
    w1, b1, w2, b2, w3, b3 = params
    h = tf.max_pool2d(torch.relu(tf.conv2d(x, w1, b1, padding=1)), 2)
    h = tf.max_pool2d(torch.relu(tf.conv2d(h, w2, b2, padding=1)), 2)
    return tf.cross_entropy(h.reshape(h.shape[0], -1) @ w3 + b3, y)


def torch_cnn_grads(torch, arrays, x, y) -> list[np.ndarray]:
    params = [torch.tensor(a, requires_grad=True) for a in arrays]
    torch_cnn_loss(torch, params, torch.from_numpy(x), torch.from_numpy(y)).backward()
    return [p.grad.numpy() for p in params]


def torch_cnn_stepper(torch, arrays, x, y, device: str = "cpu") -> Callable:
    dev = torch.device(device)
    params = [torch.tensor(a, device=dev, requires_grad=True) for a in arrays]
    xt, yt = torch.from_numpy(x.copy()).to(dev), torch.from_numpy(y.copy()).to(dev)

    def step() -> None:
        torch_cnn_loss(torch, params, xt, yt).backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-LR)
                p.grad = None

    return step


def grad_error(got: list[np.ndarray], ref: list[np.ndarray], rtol: float = 1e-3) -> float:
    """Largest |got − ref| / (rtol·(|ref| + max|ref|)) over the parameters: <= 1 agrees."""
    worst = 0.0
    for g, r in zip(got, ref, strict=True):
        scale = rtol * (np.abs(r) + np.abs(r).max() + 1e-30)
        worst = max(worst, float((np.abs(g - r) / scale).max()))
    return worst


# -- running ------------------------------------------------------------------------------------

def run(repeats: int = 10, warmup: int = 2, batch: int = 64, channels: tuple = (16, 32),
        size: int = 28, cnn_batch: int = 64, threads: int | None = None,
        twin: bool = True, device: str = "cpu") -> dict:
    """Check the CNN gradients agree, time both problems; return the figures.

    Keys: ``conv`` and ``cnn`` (per implementation: ``ms``, the median, ``min_ms``; for
    conv also ``gflops`` from the median), ``conv_gflop`` (FLOPs of fwd+bwd / 1e9),
    ``gemm_gflops`` and ``gemm_n``, ``fraction_of_gemm`` (tinygen conv GFLOP/s over GEMM's),
    ``cnn_over_torch`` and ``conv_over_torch`` (tinygen time / PyTorch time, None without
    torch), ``goals`` (name → (value, goal, met, "<=" or ">=")), ``grads_match`` and
    ``grad_error``.
    ``twin=False`` skips timing the (slow) twin; ``device="cuda"`` runs everything on the
    GPU (the gradient check stays on the CPU).
    """
    if repeats < 1:
        raise ValueError(f"run: repeats must be at least 1, got {repeats}")
    torch = optional_torch()
    torch_here = torch is not None and _torch_device(torch, device) is not None
    c_in, c_out = channels
    x, w, g = conv_problem(batch, c_in, c_out, size)
    pass_flops = 2 * batch * c_out * size * size * c_in * 9
    params, cx, cy = cnn_problem(cnn_batch, size)

    ref = tinygen_cnn_grads(params, cx, cy)
    errors = {"twin": grad_error(tinygen_cnn_grads(params, cx, cy, conv2d_twin), ref)}
    if torch is not None:
        errors["torch"] = grad_error(torch_cnn_grads(torch, params, cx, cy), ref)

    with limit_threads(threads):
        timer = clock(threads, device)
        gemm, gemm_n = gemm_gflops(pass_flops, repeats, device, timer)
        conv_times, cnn_times = {}, {}
        for name, step in conv_steps(x, w, g, device).items():
            if name == "twin" and not twin:
                continue
            conv_times[name] = times_ms(step, repeats, warmup, device, timer)
        cnn_steps = {"tinygen": tinygen_cnn_stepper(params, cx, cy, device=device)}
        if twin:
            cnn_steps["twin"] = tinygen_cnn_stepper(params, cx, cy, conv2d_twin, device)
        if torch_here:
            cnn_steps["torch"] = torch_cnn_stepper(torch, params, cx, cy, device)
        for name, step in cnn_steps.items():
            cnn_times[name] = times_ms(step, repeats, warmup, device, timer)
        floors = {}
        if device == "cpu":
            floors["conv_gemms_ms"] = statistics.median(times_ms(
                _all(conv_gemms(batch, c_in, c_out, size)), repeats, warmup, device, timer))
    if device == "cpu":  # the CNN step on one thread, and its GEMMs alone: what is serial
        with limit_threads(1):
            one = clock(1, device)
            floors["cnn_1thread_ms"] = statistics.median(
                times_ms(cnn_steps["tinygen"], repeats, warmup, device, one))
            floors["cnn_gemms_1thread_ms"] = statistics.median(
                times_ms(_all(cnn_gemms(cnn_batch, size)), repeats, warmup, device, one))
    memory = {}  # peak MiB of one CNN step above what was in use before (CPU only)
    if device == "cpu":
        memory = {k: peak_memory_mib(v)["rss"] for k, v in cnn_steps.items() if k != "twin"}

    def summary(times: list[float], flops: float | None = None) -> dict:
        med = statistics.median(times)
        out = {"ms": med, "min_ms": min(times)}
        if flops is not None:
            out["gflops"] = flops / med / 1e6
        return out

    conv = {k: summary(v, 3 * pass_flops) for k, v in conv_times.items()}
    cnn = {k: summary(v) for k, v in cnn_times.items()}
    fraction = conv["tinygen"]["gflops"] / gemm
    cnn_ratio = cnn["tinygen"]["ms"] / cnn["torch"]["ms"] if "torch" in cnn else None
    conv_ratio = conv["tinygen"]["ms"] / conv["torch"]["ms"] if "torch" in conv else None
    if floors:
        floors["conv_gemms_fraction"] = 3 * pass_flops / floors["conv_gemms_ms"] / 1e6 / gemm
        n = threads or os.cpu_count() or 1
        rest = floors["cnn_1thread_ms"] - floors["cnn_gemms_1thread_ms"]
        floors["cnn_best_ms"] = rest + floors["cnn_gemms_1thread_ms"] / n
        floors["cnn_threads"] = n
        if "torch" in cnn:
            floors["cnn_best_over_torch"] = floors["cnn_best_ms"] / cnn["torch"]["ms"]
    goals = {"conv fwd+bwd / GEMM throughput": (fraction, GOAL_FRACTION_OF_GEMM,
                                                fraction >= GOAL_FRACTION_OF_GEMM, ">=")}
    if cnn_ratio is not None and device == "cpu":
        goals["CNN step / PyTorch CPU"] = (cnn_ratio, GOAL_CNN_OVER_TORCH,
                                           cnn_ratio <= GOAL_CNN_OVER_TORCH, "<=")
    memory_ratio = None
    if memory.get("torch") and memory.get("tinygen"):  # both measured and above zero
        memory_ratio = memory["tinygen"] / memory["torch"]
        goals["CNN step peak memory / PyTorch"] = (
            memory_ratio, GOAL_CNN_MEMORY_OVER_TORCH,
            memory_ratio <= GOAL_CNN_MEMORY_OVER_TORCH, "<=")
    if conv_ratio is not None and device == "cuda":
        goals["conv fwd+bwd speed / cuDNN"] = (1 / conv_ratio, GOAL_GPU_OF_CUDNN,
                                               1 / conv_ratio >= GOAL_GPU_OF_CUDNN, ">=")
    return {
        "conv": conv, "cnn": cnn, "conv_gflop": 3 * pass_flops / 1e9,
        "gemm_gflops": gemm, "gemm_n": gemm_n, "fraction_of_gemm": fraction,
        "cnn_over_torch": cnn_ratio, "conv_over_torch": conv_ratio, "goals": goals,
        "cnn_peak_mib": memory, "cnn_memory_over_torch": memory_ratio, "floors": floors,
        "grads_match": all(e <= 1.0 for e in errors.values()), "grad_error": errors,
        "shapes": {"x": x.shape, "w": w.shape, "cnn_batch": cnn_batch}, "device": device,
        "threads": threads, "cpus": os.cpu_count(), "clock": timer,
        "torch_version": None if torch is None else torch.__version__,
        "repeats": repeats, "warmup": warmup,
    }


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(r: dict) -> str:
    """The figures of :func:`run` as a small table."""
    s = r["shapes"]
    lines = [
        f"conv2d fwd+bwd: x {s['x']}, w {s['w']}, padding 1 ({r['conv_gflop']:.2f} GFLOP); "
        f"CNN step: batch {s['cnn_batch']}; float32; device {r['device']}; {r['cpus']} CPUs, "
        f"threads {r['threads'] or 'default'}; times by the {r['clock']} clock",
        f"float32 GEMM {r['gemm_n']}³: {r['gemm_gflops']:.0f} GFLOP/s",
        "CNN gradients agree with tinygen's (rtol 1e-3): "
        + ", ".join(f"{k} {'yes' if v <= 1 else 'NO'} ({v:.2g} of tolerance)"
                    for k, v in r["grad_error"].items()),
        "",
        f"{'implementation':<16}{'conv ms':>9}{'GFLOP/s':>9}{'of GEMM':>9}{'CNN ms':>9}"
        f"{'CNN MiB':>9}",
    ]
    torch_label = "torch (CPU)" if r["device"] == "cpu" else "torch (cuDNN)"
    for name, label in [("tinygen", "tinygen"), ("twin", "twin (array ops)"),
                        ("torch", torch_label)]:
        if name not in r["conv"]:
            continue
        c, n = r["conv"][name], r["cnn"].get(name)
        lines.append(f"{label:<16}{c['ms']:>9.2f}{c['gflops']:>9.1f}"
                     f"{c['gflops'] / r['gemm_gflops']:>9.0%}"
                     f"{'-' if n is None else format(n['ms'], '.2f'):>9}"
                     f"{_mib(r['cnn_peak_mib'].get(name)):>9}")
    lines.append("")
    for goal, (value, target, met, sign) in r["goals"].items():
        shown, target_shown = f"{value:.2f}x", f"{target}x"
        if "GEMM" in goal:
            shown, target_shown = f"{value:.0%}", f"{target:.0%}"
        lines.append(f"goal {goal} {sign} {target_shown}: {shown}  "
                     f"{'MET' if met else 'NOT MET'}")
    f = r.get("floors") or {}
    if f:
        lines.append(
            f"floor of im2col + BLAS: the conv's own GEMMs alone, at the shapes im2col gives, "
            f"take {f['conv_gemms_ms']:.2f} ms ({f['conv_gemms_fraction']:.0%} of GEMM "
            f"throughput); im2col, col2im and the copies add the rest. Past that floor only a "
            f"direct (register-blocked) kernel goes")
        best = f"{f['cnn_best_ms']:.2f} ms"
        if "cnn_best_over_torch" in f:
            best += f" = {f['cnn_best_over_torch']:.2f}x PyTorch's"
    if f and f["cnn_threads"] > 1:
        lines.append(
            f"floor of the CNN step with {f['cnn_threads']} thread(s): on one thread it takes "
            f"{f['cnn_1thread_ms']:.2f} ms, of which its GEMMs {f['cnn_gemms_1thread_ms']:.2f} "
            f"ms; with every GEMM {f['cnn_threads']}x faster and the rest (serial kernels, "
            f"engine) as it is, {best}")
    lines.append(f"(medians of {r['repeats']} runs after {r['warmup']} warm-up; CNN MiB: peak "
                 "resident memory of one step above the memory before it)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-twin", action="store_true", help="skip timing the twin")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    print(report(run(args.repeats, args.warmup, threads=args.threads, twin=not args.no_twin,
                     device=args.device)))


if __name__ == "__main__":
    main()
