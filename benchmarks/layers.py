"""How much did the fused layer primitives buy? Forward + backward of three layers, float32,
CPU, each against the composed path it replaced (in this process) and PyTorch's CPU layer.

* **BatchNorm** (training mode): ``nn.BatchNorm2d`` on x (64, 24, 14, 14) and (64, 48, 7, 7),
  ``nn.BatchNorm1d`` on (64, 256), random γ and β. tinygen: :func:`tinygen.standardize` and the
  Numba kernels of ``kernels/cpu/norm.py``; composed: what the module did before, the twin
  :func:`tinygen.ops.norm.standardize_twin` (mean, var, sub, div, sqrt, mul, add) and the
  running estimates by NumPy; PyTorch: ``torch.nn.functional.batch_norm(training=True)``.
* **LSTM**: ``nn.LSTM(64, 64)`` on x (64, 150, 64), twice: with a padding mask (lengths
  drawn from T/2 … T, the first T, the last T/2) and without. tinygen: one input product and
  :func:`tinygen.ops.recurrent.lstm_sequence`; composed: the loop ``nn.LSTM`` ran before,
  ``LSTMCell`` stepped 150 times (with a ``where`` per state at the mask); PyTorch:
  ``torch.nn.LSTM(batch_first=True)`` on the same weights (transposed; our one bias as
  ``bias_ih``, zeros as ``bias_hh``). Masked, PyTorch runs it the way PyTorch masks, on
  ``pack_padded_sequence`` (outputs padded back with zeros), so all three do the same work;
  that path is several times slower than PyTorch's unmasked one on the CPU, which is why the
  unmasked case is there too (PyTorch's fast path against the same work).
* **conv2d to one channel**: x (64, 24, 14, 14), w (1, 24, 3, 3), padding 1 (a generator's
  last conv). tinygen: the stride-1 direct kernels of ``kernels/cpu/conv.py``; composed: the
  same module's im2col + GEMM path (``DIRECT_MAX_OUT = 0`` while it runs); PyTorch:
  ``torch.nn.functional.conv2d``.

Each step returns the output and the gradient of Σ g ⊙ y (g fixed, random) for every input and
parameter. Before timing, every path's output and gradients are checked against tinygen's
(|a − b| ≤ 1e-3·(|b| + max|b|) elementwise). Printed: median ms of each path, the speed-up of
tinygen over the composed path, tinygen's time over PyTorch's, and the peak memory of one
step (resident set above the memory before it, ``common.peak_memory_mib``). The issue sets no
goals for these layers: the ratios are printed, not judged.

Measured on the repo's 2-core AVX-512 Xeon (``--threads 1``, CPU time, medians of 10, other
jobs paused by ``quiet.sh``; PyTorch 2.13 CPU)::

    layer                              tinygen ms  composed ms  PyTorch ms  speed-up  /PyTorch
    BatchNorm2d (64, 24, 14, 14)           0.96        5.36        0.92        5.6×     1.05×
    BatchNorm2d (64, 48, 7, 7)             0.52        2.77        0.43        5.3×     1.22×
    BatchNorm1d (64, 256)                  0.30        0.46        0.06        1.5×     5.1×
    LSTM 64→64, (64, 150, 64), masked     61.7       244         252 (packed) 4.0×     0.24×
    LSTM 64→64, (64, 150, 64), no mask    51.6       203          21.0        3.9×     2.5×
    conv2d (64, 24, 14, 14) → 1, 3×3       1.64        7.11        2.88        4.3×     0.57×

Peak memory of one step (MiB, tinygen / composed / PyTorch): BatchNorm2d 4.6 / 11.5 / 2.3,
LSTM masked 55 / 93 / 63, unmasked 51 / 86 / 43, conv 2.4 / 2.6 / 3.5.

Run ``python benchmarks/layers.py [--repeats N] [--warmup N] [--threads N]`` (``--threads 1``,
the default, times by this process's CPU time), or import it and call :func:`run`, which
returns the figures as a dict (small sizes make a smoke test).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen import nn, ops
from tinygen.kernels.cpu import conv as conv_kernels
from tinygen.ops.conv import conv2d
from tinygen.ops.norm import standardize_twin

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py
from common import clock, optional_torch, peak_memory_mib, times_ms  # noqa: E402
from common import threads as limit_threads  # noqa: E402

SEED = 0
RTOL = 1e-3  # agreement: |a − b| <= RTOL·(|b| + max|b|) for every output and gradient
IMPLEMENTATIONS = ("tinygen", "composed", "torch")

Step = Callable[[], list[np.ndarray]]  # fwd + bwd once; returns [y, gradients...] as arrays


def _f32(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def _leaf(a: np.ndarray) -> tg.Tensor:
    return tg.tensor(a, requires_grad=True)


def _clear(params) -> None:
    for p in params:
        p.grad = None


# -- batch norm ---------------------------------------------------------------------------------

def batchnorm_steps(shape: tuple[int, ...], torch=None, seed: int = SEED) -> dict[str, Step]:
    """fwd + bwd of a training-mode batch norm of x ``shape`` ((N, C) or (N, C, H, W)): the
    module, its old composed formula, and PyTorch's (if ``torch``)."""
    rng = np.random.default_rng(seed)
    c = shape[1]
    x, g = _f32(rng, *shape), _f32(rng, *shape)
    gamma, beta = 1 + _f32(rng, c, scale=0.1), _f32(rng, c, scale=0.1)
    module = nn.BatchNorm2d(c) if len(shape) == 4 else nn.BatchNorm1d(c)
    module.train()
    module.weight.data[...], module.bias.data[...] = gamma, beta
    params = [module.weight, module.bias]
    axes = (0,) + tuple(range(2, len(shape)))
    kept = (1, c) + (1,) * (len(shape) - 2)
    gt = tg.tensor(g)

    def tinygen_step() -> list[np.ndarray]:
        _clear(params)
        xt = _leaf(x)
        y = module(xt)
        y.backward(gt)
        return [y.numpy(), xt.grad.numpy(), module.weight.grad.numpy(),
                module.bias.grad.numpy()]

    running = [np.zeros(c, np.float32), np.ones(c, np.float32)]

    def composed_step() -> list[np.ndarray]:
        """BatchNorm's forward before ``tinygen.standardize``: the twin, affine by broadcasting,
        running estimates by NumPy."""
        _clear(params)
        xt = _leaf(x)
        y = standardize_twin(xt, axes, module.eps, ops.reshape(module.weight, kept),
                           ops.reshape(module.bias, kept))
        n, m = x.size // c, module.momentum
        running[0] = (1 - m) * running[0] + m * x.mean(axis=axes)
        running[1] = (1 - m) * running[1] + m * x.var(axis=axes) * (n / (n - 1))
        y.backward(gt)
        return [y.numpy(), xt.grad.numpy(), module.weight.grad.numpy(),
                module.bias.grad.numpy()]

    steps = {"tinygen": tinygen_step, "composed": composed_step}
    if torch is not None:
        tx = torch.from_numpy(x).requires_grad_()
        tw = torch.from_numpy(gamma.copy()).requires_grad_()
        tb = torch.from_numpy(beta.copy()).requires_grad_()
        tg_, mean, var = torch.from_numpy(g), torch.zeros(c), torch.ones(c)

        def torch_step() -> list[np.ndarray]:
            tx.grad = tw.grad = tb.grad = None
            y = torch.nn.functional.batch_norm(tx, mean, var, tw, tb, training=True,
                                               momentum=module.momentum, eps=module.eps)
            y.backward(tg_)
            return [y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()]

        steps["torch"] = torch_step
    return steps


# -- LSTM -------------------------------------------------------------------------------------

def lstm_problem(batch: int, steps: int, features: int, hidden: int, seed: int = SEED):
    """An ``nn.LSTM(features, hidden)`` with random (small) biases, x (B, T, D), the upstream
    gradient g (B, T, H) and the sequence lengths (from T/2 to T: the first T, the last T/2)."""
    rng = np.random.default_rng(seed)
    lstm = nn.LSTM(features, hidden, generator=tg.Generator(seed))
    lstm.cells[0].bias.data[...] = _f32(rng, 4 * hidden, scale=0.1)
    x, g = _f32(rng, batch, steps, features), _f32(rng, batch, steps, hidden)
    lengths = rng.integers(max(1, steps // 2), steps + 1, batch)
    lengths[0], lengths[-1] = steps, max(1, steps // 2)  # one full, one short
    return lstm, x, g, lengths


def lstm_stepwise(cell: nn.LSTMCell, x: tg.Tensor, keep: np.ndarray | None) -> tg.Tensor:
    """The outputs (B, T, H) of one forward LSTM direction as ``nn.LSTM`` computed them before
    ``lstm_sequence``: the cell stepped through time; with a mask, the state carried over and
    the output zero at a padded step (``keep`` False)."""
    b, steps = x.shape[:2]
    zero = np.zeros((b, cell.hidden_size), np.float32)
    state = (tg.Tensor(zero), tg.Tensor(zero))
    hs = []
    for t in range(steps):
        new = cell(x[:, t], state)
        if keep is not None:
            k = keep[:, t:t + 1]
            new = tuple(ops.where(k, a, s) for a, s in zip(new, state))
            hs.append(ops.where(k, new[0], 0.0))
        else:
            hs.append(new[0])
        state = new
    return ops.stack(hs, axis=1)


def lstm_steps(batch: int, steps: int, features: int, hidden: int, torch=None,
               masked: bool = True, seed: int = SEED) -> dict[str, Step]:
    """fwd + bwd of a one-layer LSTM, with the padding mask or without: ``nn.LSTM``, the old
    step loop and PyTorch's (on packed sequences when masked) on the same weights. Gradients:
    x, weight_ih, weight_hh, bias."""
    lstm, x, g, lengths = lstm_problem(batch, steps, features, hidden, seed)
    keep = (np.arange(steps)[None, :] < lengths[:, None]) if masked else None
    cell = lstm.cells[0]
    params = [cell.weight_ih, cell.weight_hh, cell.bias]
    gt = tg.tensor(g)

    def run_tinygen(forward) -> list[np.ndarray]:
        _clear(params)
        xt = _leaf(x)
        y = forward(xt)
        y.backward(gt)
        return [y.numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in params]

    steps_ = {"tinygen": lambda: run_tinygen(lambda xt: lstm(xt, mask=keep)[0]),
              "composed": lambda: run_tinygen(lambda xt: lstm_stepwise(cell, xt, keep))}
    if torch is not None:
        rnn = torch.nn.LSTM(features, hidden, batch_first=True)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(torch.from_numpy(cell.weight_ih.numpy().T.copy()))
            rnn.weight_hh_l0.copy_(torch.from_numpy(cell.weight_hh.numpy().T.copy()))
            rnn.bias_ih_l0.copy_(torch.from_numpy(cell.bias.numpy().copy()))
            rnn.bias_hh_l0.zero_()
        tx, tg_ = torch.from_numpy(x).requires_grad_(), torch.from_numpy(g)
        pack = torch.nn.utils.rnn
        tlengths = torch.from_numpy(lengths)

        def forward(tx):
            if not masked:
                return rnn(tx)[0]
            packed = pack.pack_padded_sequence(tx, tlengths, batch_first=True,
                                               enforce_sorted=False)
            return pack.pad_packed_sequence(rnn(packed)[0], batch_first=True,
                                            total_length=steps)[0]

        def torch_step() -> list[np.ndarray]:
            tx.grad = None
            rnn.zero_grad(set_to_none=True)
            y = forward(tx)
            y.backward(tg_)
            return [y.detach().numpy(), tx.grad.numpy(), rnn.weight_ih_l0.grad.numpy().T,
                    rnn.weight_hh_l0.grad.numpy().T, rnn.bias_ih_l0.grad.numpy()]

        steps_["torch"] = torch_step
    return steps_


# -- conv2d to one channel --------------------------------------------------------------------

@contextlib.contextmanager
def im2col_only() -> Iterator[None]:
    """Inside the block, the CPU conv kernels take im2col + GEMM even where the direct
    kernels would run (the path they replaced)."""
    old = conv_kernels.DIRECT_MAX_OUT
    conv_kernels.DIRECT_MAX_OUT = 0
    try:
        yield
    finally:
        conv_kernels.DIRECT_MAX_OUT = old


def conv_steps(batch: int, channels: int, size: int, torch=None,
               seed: int = SEED) -> dict[str, Step]:
    """fwd + bwd (gradients of x and w) of a 3×3, padding-1 conv from ``channels`` to one:
    the direct kernels, im2col + GEMM and PyTorch's."""
    rng = np.random.default_rng(seed)
    x = _f32(rng, batch, channels, size, size)
    w = _f32(rng, 1, channels, 3, 3, scale=1 / np.sqrt(9 * channels))
    g = _f32(rng, batch, 1, size, size)
    gt = tg.tensor(g)

    def tinygen_step() -> list[np.ndarray]:
        xt, wt = _leaf(x), _leaf(w)
        y = conv2d(xt, wt, padding=1)
        y.backward(gt)
        return [y.numpy(), xt.grad.numpy(), wt.grad.numpy()]

    def composed_step() -> list[np.ndarray]:
        with im2col_only():
            return tinygen_step()

    steps = {"tinygen": tinygen_step, "composed": composed_step}
    if torch is not None:
        tx, tw = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
        tg_ = torch.from_numpy(g)

        def torch_step() -> list[np.ndarray]:
            tx.grad = tw.grad = None
            y = torch.nn.functional.conv2d(tx, tw, padding=1)
            y.backward(tg_)
            return [y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()]

        steps["torch"] = torch_step
    return steps


# -- running ------------------------------------------------------------------------------------

def disagreement(got: list[np.ndarray], ref: list[np.ndarray], rtol: float = RTOL) -> float:
    """Largest |got − ref| / (rtol·(|ref| + max|ref|)) over the arrays (<= 1: they agree);
    inf if the shapes differ or a value is not finite."""
    worst = 0.0
    for a, b in zip(got, ref, strict=True):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.shape != b.shape or not np.isfinite(a).all():
            return float("inf")
        scale = rtol * (np.abs(b) + np.abs(b).max() + 1e-30)
        worst = max(worst, float((np.abs(a - b) / scale).max()))
    return worst


def measure(name: str, what: str, steps: dict[str, Step], repeats: int, warmup: int,
            timer: str) -> dict:
    """Check every path against tinygen's, then time each (peak memory: :func:`add_peaks`)."""
    ref = steps["tinygen"]()
    errors = {k: disagreement(step(), ref) for k, step in steps.items() if k != "tinygen"}
    times = {k: times_ms(step, repeats, warmup, clock=timer) for k, step in steps.items()}
    ms = {k: statistics.median(v) for k, v in times.items()}
    return {
        "name": name, "what": what, "ms": ms, "min_ms": {k: min(v) for k, v in times.items()},
        "peak_mib": {}, "error": errors, "agree": all(e <= 1.0 for e in errors.values()),
        "speedup": ms["composed"] / ms["tinygen"],
        "over_torch": ms["tinygen"] / ms["torch"] if "torch" in ms else None,
    }


def add_peaks(case: dict, steps: dict[str, Step]) -> None:
    """Fill ``case["peak_mib"]`` with each path's peak resident MiB of one step. Done after
    all timing: the probe makes the C allocator return freed blocks of 64 KiB and more to the
    system from then on, which would slow every later timing (page faults)."""
    case["peak_mib"] = {k: peak_memory_mib(step)["rss"] for k, step in steps.items()}


def run(repeats: int = 10, warmup: int = 2, threads: int | None = 1, batch: int = 64,
        channels: int = 24, size: int = 14, features: int = 256, steps: int = 150,
        width: int = 64, use_torch: bool = True) -> dict:
    """Check and time the six cases; return the figures.

    Sizes: batch norm 2-D on (batch, channels, size, size) and (batch, 2·channels, size/2,
    size/2), 1-D on (batch, features); LSTM(width, width) over (batch, steps, width), masked and
    not; conv
    (batch, channels, size, size) → one channel. ``use_torch=False`` leaves PyTorch out even
    where it imports.

    Keys: ``cases``, a list of dicts with ``name``, ``what`` (the shapes), ``ms`` and
    ``min_ms`` (implementation → median / minimum ms; "torch" only with PyTorch),
    ``peak_mib`` (implementation → resident MiB of one step, None off Linux), ``error``
    (implementation → :func:`disagreement` with tinygen's), ``agree``, ``speedup``
    (composed / tinygen) and ``over_torch`` (tinygen / PyTorch, None without it); also
    ``all_agree``, ``threads``, ``clock``, ``repeats``, ``warmup``, ``cpus``, ``load`` and
    ``torch_version``.
    """
    if repeats < 1:
        raise ValueError(f"run: repeats must be at least 1, got {repeats}")
    torch = optional_torch() if use_torch else None
    half = max(1, size // 2)
    problems = [
        ("BatchNorm2d", (batch, channels, size, size),
         lambda: batchnorm_steps((batch, channels, size, size), torch)),
        ("BatchNorm2d", (batch, 2 * channels, half, half),
         lambda: batchnorm_steps((batch, 2 * channels, half, half), torch)),
        ("BatchNorm1d", (batch, features), lambda: batchnorm_steps((batch, features), torch)),
        ("LSTM", f"{width}→{width}, x {(batch, steps, width)}, masked",
         lambda: lstm_steps(batch, steps, width, width, torch)),
        ("LSTM", f"{width}→{width}, x {(batch, steps, width)}, no mask",
         lambda: lstm_steps(batch, steps, width, width, torch, masked=False)),
        ("conv2d", f"x {(batch, channels, size, size)}, w {(1, channels, 3, 3)}, pad 1",
         lambda: conv_steps(batch, channels, size, torch)),
    ]
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    timer = clock(threads)
    with limit_threads(threads):
        made = [(name, what if isinstance(what, str) else f"x {what}", make())
                for name, what, make in problems]
        cases = [measure(name, what, steps, repeats, warmup, timer)
                 for name, what, steps in made]
        for case, (_, _, steps) in zip(cases, made):
            add_peaks(case, steps)
    return {"cases": cases, "all_agree": all(c["agree"] for c in cases), "threads": threads,
            "clock": timer, "repeats": repeats, "warmup": warmup, "cpus": os.cpu_count(),
            "load": load, "torch_version": None if torch is None else torch.__version__}


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def report(r: dict) -> str:
    """The figures of :func:`run` as a table, one row per case."""
    load = "?" if r["load"] is None else f"{r['load']:.2f}"
    torch = r["torch_version"] or "not installed"
    lines = [
        f"Layers, forward + backward (every input and parameter), float32, CPU; threads "
        f"{r['threads'] or 'default'}, {r['cpus']} CPUs, load {load}, {r['clock']} time; "
        f"PyTorch {torch}",
        f"{'layer':<12}{'shape':<44}{'tinygen':>9}{'composed':>9}{'torch':>8}"
        f"{'speed-up':>9}{'/torch':>8}{'agree':>7}  peak MiB tinygen/composed/torch",
    ]
    for c in r["cases"]:
        ms, mib = c["ms"], c["peak_mib"]
        lines.append(
            f"{c['name']:<12}{c['what']:<44}{ms['tinygen']:>9.2f}{ms['composed']:>9.2f}"
            f"{_cell(ms.get('torch'), '.2f'):>8}{c['speedup']:>8.1f}×"
            f"{_cell(c['over_torch'], '.2f'):>7}×{'yes' if c['agree'] else 'NO':>7}  "
            + " / ".join(_cell(mib.get(k), ".1f") for k in IMPLEMENTATIONS))
    worst = {k: max((c["error"].get(k, 0.0) for c in r["cases"]), default=0.0)
             for k in ("composed", "torch")}
    lines += [
        "",
        "ms: medians of {} runs after {} warm-up; speed-up = composed / tinygen; /torch = "
        "tinygen / PyTorch (below 1: tinygen faster)".format(r["repeats"], r["warmup"]),
        "composed: BatchNorm = standardize_twin + NumPy running estimates (the module before "
        "tinygen.standardize); LSTM = LSTMCell stepped with where at the mask (nn.LSTM before "
        "lstm_sequence); conv = im2col + GEMM (DIRECT_MAX_OUT = 0)",
        "PyTorch's LSTM: masked = packed sequences (pack_padded_sequence, the same masked "
        "work; PyTorch's slow path on the CPU), no mask = the plain batch (its fast path)",
        f"agreement with tinygen's output and gradients (tolerance {RTOL:g} relative): worst "
        f"composed {worst['composed']:.2g}"
        + ("" if r["torch_version"] is None else f", torch {worst['torch']:.2g}")
        + " of the tolerance" + ("" if r["all_agree"] else "  -- SOME PATHS DISAGREE"),
        "peak MiB: resident memory of one step above the memory before it",
        "no goals are set for these layers: the ratios are reported, not judged",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and PyTorch threads (default 1: CPU time)")
    args = parser.parse_args()
    print(report(run(args.repeats, args.warmup, args.threads)))


if __name__ == "__main__":
    main()
