"""How fast is the engine? One SGD training step of a small MLP, three ways.

The network is a 784-512-512-10 ReLU MLP with softmax cross-entropy, batch 128, float32, on
random (seeded) data. One step is: forward, backward, and a plain SGD update of every weight.

* **tinygen**: the library, used the way a student would use it.
* **NumPy by hand**: the same arithmetic with backprop written out by hand (no graph, no
  Python objects per op). This is the floor for any engine built on NumPy: the same matmuls
  and elementwise passes, nothing else. It is float32 throughout.
* **PyTorch (CPU)**: for reference, when ``import torch`` works.

Before timing, the gradients of all three are checked to agree on the same weights and batch,
so the timings compare equal work. The goal is tinygen <= 1.3x the hand-written NumPy step.

Reading the numbers: thread counts are the libraries' defaults (printed; ``--threads N`` pins
them). On a machine shared with other jobs, multi-threaded BLAS timings swing wildly, so the
table warns when other processes were busy. Under glibc's default malloc each step of every
implementation pays for over a thousand minor page faults (freed arrays go back to the kernel
and come back as fresh pages); the page-fault column shows them and ``--tune-malloc`` removes
them, which leaves the cleanest measure of the engine's own overhead.

Run it as ``python benchmarks/engine.py [--repeats N] [--threads N] [--tune-malloc]
[--profile]``, or import it and call :func:`run`, which returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import tinygen as tg

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py
from common import clock, optional_torch, peak_memory_mib  # noqa: E402
from common import threads as limit_threads  # noqa: E402

SIZES = (784, 512, 512, 10)
BATCH = 128
LR = 0.01
SEED = 0
GOAL = 1.3  # tinygen may take at most this many times the hand-written NumPy step
RTOL = 1e-4  # gradient agreement, relative ...
ATOL_SCALE = 1e-5  # ... plus this fraction of the largest |gradient| of each parameter


# -- the problem: weights and one batch, as float32 NumPy arrays ------------------------------

def make_problem(seed: int = SEED) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """He-initialised weights (small random biases, so their gradients are tested too), a
    batch of inputs and integer labels, all drawn from tinygen's seeded generator."""
    tg.manual_seed(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        w = tg.randn(fan_in, fan_out, dtype=np.float32).numpy() * np.float32(np.sqrt(2 / fan_in))
        b = tg.randn(fan_out, dtype=np.float32).numpy() * np.float32(0.01)
        params += [np.ascontiguousarray(w, np.float32), np.ascontiguousarray(b, np.float32)]
    x = np.ascontiguousarray(tg.randn(BATCH, SIZES[0], dtype=np.float32).numpy())
    y = tg.default_generator().integers(0, SIZES[-1], BATCH).numpy().astype(np.int64)
    return params, x, y


# -- (a) tinygen --------------------------------------------------------------------------------

def tinygen_loss(params: list, x, y) -> tg.Tensor:
    w1, b1, w2, b2, w3, b3 = params
    h = tg.relu(x @ w1 + b1)
    h = tg.relu(h @ w2 + b2)
    logits = h @ w3 + b3
    rows = np.arange(logits.shape[0])
    # cross-entropy = mean over the batch of logsumexp(logits) - logits[label]
    return (tg.logsumexp(logits, axis=1) - logits[rows, y]).mean()


def tinygen_grads(arrays: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    params = [tg.tensor(a, requires_grad=True) for a in arrays]
    loss = tinygen_loss(params, tg.tensor(x), y)
    loss.backward()
    return [p.grad.numpy() for p in params]


def tinygen_stepper(arrays: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Callable:
    params = [tg.tensor(a, requires_grad=True) for a in arrays]
    xt = tg.tensor(x)

    def step() -> None:
        loss = tinygen_loss(params, xt, y)
        loss.backward()
        with tg.no_grad():
            for p in params:
                p.data -= LR * p.grad.data
                p.grad = None

    return step


# -- (b) NumPy with backprop written by hand ------------------------------------------------------

def numpy_grads(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Forward and backward of the MLP by hand, in float32, with in-place ops where they save a
    pass or an allocation. Returns [dW1, db1, dW2, db2, dW3, db3]."""
    w1, b1, w2, b2, w3, b3 = params
    n = x.shape[0]
    rows = np.arange(n)
    h1 = x @ w1
    h1 += b1
    np.maximum(h1, 0, out=h1)
    h2 = h1 @ w2
    h2 += b2
    np.maximum(h2, 0, out=h2)
    z = h2 @ w3
    z += b3
    # loss = mean(logsumexp(z) - z[y]);  dloss/dz = (softmax(z) - onehot(y)) / n
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    _loss = np.mean(np.log(s[:, 0]) + m[:, 0] - z[rows, y])  # computed, as the others do
    dz = e
    dz /= s
    dz[rows, y] -= 1
    dz *= 1 / n  # a Python float keeps float32 (NEP 50)
    gw3 = h2.T @ dz
    gb3 = dz.sum(axis=0)
    dh2 = dz @ w3.T
    dh2 *= h2 > 0  # ReLU' through the output: h > 0 exactly where the input was > 0
    gw2 = h1.T @ dh2
    gb2 = dh2.sum(axis=0)
    dh1 = dh2 @ w2.T
    dh1 *= h1 > 0
    gw1 = x.T @ dh1
    gb1 = dh1.sum(axis=0)
    return [gw1, gb1, gw2, gb2, gw3, gb3]


def numpy_stepper(arrays: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Callable:
    params = [a.copy() for a in arrays]

    def step() -> None:
        for p, g in zip(params, numpy_grads(params, x, y), strict=True):
            p -= LR * g  # the same update as tinygen's below, so only the engines differ

    return step


# -- (c) PyTorch on the CPU -----------------------------------------------------------------------

def torch_loss(torch, params: list, x, y):
    w1, b1, w2, b2, w3, b3 = params
    h = torch.relu(x @ w1 + b1)
    h = torch.relu(h @ w2 + b2)
    return torch.nn.functional.cross_entropy(h @ w3 + b3, y)


def torch_grads(torch, arrays, x, y) -> list[np.ndarray]:
    params = [torch.tensor(a, requires_grad=True) for a in arrays]
    torch_loss(torch, params, torch.from_numpy(x), torch.from_numpy(y)).backward()
    return [p.grad.numpy() for p in params]


def torch_stepper(torch, arrays, x, y) -> Callable:
    params = [torch.tensor(a, requires_grad=True) for a in arrays]
    xt, yt = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())

    def step() -> None:
        torch_loss(torch, params, xt, yt).backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-LR)
                p.grad = None

    return step


# -- checking and timing --------------------------------------------------------------------------

def max_grad_error(got: list[np.ndarray], ref: list[np.ndarray], who: str) -> float:
    """Assert ``got`` matches ``ref`` parameter by parameter (float32 both); return the largest
    |got - ref| / (atol + rtol |ref|), which is <= 1 when all match."""
    worst = 0.0
    for i, (g, r) in enumerate(zip(got, ref, strict=True)):
        assert g.dtype == np.float32 and g.shape == r.shape, (who, i, g.dtype, g.shape)
        atol = ATOL_SCALE * float(np.abs(r).max())
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=atol,
                                   err_msg=f"{who}: gradient of parameter {i} differs")
        worst = max(worst, float((np.abs(g - r) / (atol + RTOL * np.abs(r))).max()))
    return worst


def _minor_page_faults() -> int | None:
    """Minor page faults of this process so far (None where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_steps(steps: dict[str, Callable], repeats: int, warmup: int,
               turn: int = 5, timer: str = "wall") -> tuple[dict[str, list],
                                                            dict[str, float | None]]:
    """Milliseconds of ``repeats`` calls of each step, after ``warmup`` untimed ones each,
    and the minor page faults per call of each.

    The steps take turns of ``turn`` calls (the order alternating between rounds), so a slow
    spell of the machine (another process on the cores) hits all of them alike, while each
    still runs a few steps in a row as in training. ``timer`` is the clock of
    :func:`common.times_ms` ("cpu": this process's CPU time).
    """
    now = time.process_time if timer == "cpu" else time.perf_counter
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list] = {name: [] for name in steps}
    faults: dict[str, int] = dict.fromkeys(steps, 0)
    order = list(steps.items())
    for i in range(-(-repeats // turn)):
        for name, step in order if i % 2 == 0 else reversed(order):
            f0 = _minor_page_faults()
            for _ in range(min(turn, repeats - len(times[name]))):
                t0 = now()
                step()
                times[name].append((now() - t0) * 1e3)
            if f0 is not None:
                faults[name] += _minor_page_faults() - f0
    per_step = {name: None if _minor_page_faults() is None else faults[name] / repeats
                for name in steps}
    return times, per_step


def thread_counts() -> dict:
    """Threads NumPy's BLAS (and PyTorch, if present) use now."""
    counts: dict = {"numpy_blas": None, "blas": None, "torch": None}
    try:
        from threadpoolctl import threadpool_info
        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        if blas:
            counts["numpy_blas"] = blas[0]["num_threads"]
            counts["blas"] = blas[0]["internal_api"]
    except Exception:
        pass
    torch = optional_torch()
    if torch is not None:
        counts["torch"] = torch.get_num_threads()
    return counts


def tune_malloc() -> bool:
    """Ask glibc's malloc to keep freed memory (no trimming, no mmap below 32 MiB).

    By default glibc hands large freed blocks back to the kernel, so the next step's arrays
    of the same size are fresh pages, each zero-filled on first touch (a minor page fault):
    here over a thousand faults per step, for every implementation, and a count that swings
    with the heap's history. Tuning removes that noise. It is process-wide and cannot be
    undone; returns False where it is not available (not Linux with glibc).
    """
    import ctypes
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_trim_threshold, 1 << 30)) and bool(mallopt(m_mmap_threshold, 32 << 20))


def cpus_busy_elsewhere(seconds: float = 0.3) -> float | None:
    """How many CPUs other processes keep busy, sampled from /proc/stat while we sleep."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(n) for n in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # all jiffies, idle + iowait
    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 == total0:
        return 0.0
    return (os.cpu_count() or 1) * (1 - (idle1 - idle0) / (total1 - total0))


def run(repeats: int = 50, warmup: int = 10, threads: int | None = None,
        malloc_tuned: bool = False) -> dict:
    """Check the gradients agree, then time the three steps; return the figures.

    Keys: ``tinygen_ms``, ``numpy_ms``, ``torch_ms`` (median ms/step; ``torch_ms`` is None
    without PyTorch), ``min_ms`` and ``page_faults`` (per step, per implementation),
    ``tinygen_over_numpy``, ``tinygen_over_torch``, ``goal``, ``goal_met``, ``grads_match``,
    ``grad_error`` (per implementation; <= 1 means within tolerance), ``threads``,
    ``busy_elsewhere``, ``malloc_tuned``, ``repeats``, ``warmup``. ``threads`` (None: the
    libraries' defaults) pins BLAS and PyTorch threads; ``malloc_tuned`` says whether
    :func:`tune_malloc` was called (the caller does that, before anything else).
    """
    if repeats < 1:
        raise ValueError(f"run: repeats must be at least 1, got {repeats}")
    params, x, y = make_problem()
    torch = optional_torch()

    ref = numpy_grads([p.copy() for p in params], x, y)
    grad_error = {"tinygen": max_grad_error(tinygen_grads(params, x, y), ref, "tinygen")}
    if torch is not None:
        grad_error["torch"] = max_grad_error(torch_grads(torch, params, x, y), ref, "torch")

    busy = cpus_busy_elsewhere()
    with limit_threads(threads):
        used = thread_counts()
        # tinygen and NumPy share NumPy's BLAS threads, so they take turns; PyTorch has its
        # own thread pool, which would fight NumPy's for the cores if interleaved: it runs after.
        samples, faults = time_steps({"numpy": numpy_stepper(params, x, y),
                                      "tinygen": tinygen_stepper(params, x, y)}, repeats, warmup,
                                     timer=clock(threads))
        if torch is not None:
            more, more_faults = time_steps({"torch": torch_stepper(torch, params, x, y)},
                                           repeats, warmup, timer=clock(threads))
            samples |= more
            faults |= more_faults
    steps = {"tinygen": tinygen_stepper(params, x, y), "numpy": numpy_stepper(params, x, y)}
    if torch is not None:
        steps["torch"] = torch_stepper(torch, params, x, y)
    peak = {}  # peak memory of one step, after everything was timed (the probe sets malloc)
    for name, step in steps.items():
        step()
        peak[name] = peak_memory_mib(step)["rss"]
    ms = {k: statistics.median(v) for k, v in samples.items()}
    torch_ms = ms.get("torch")
    ratio = ms["tinygen"] / ms["numpy"]
    return {
        "tinygen_ms": ms["tinygen"], "numpy_ms": ms["numpy"], "torch_ms": torch_ms,
        "min_ms": {k: min(v) for k, v in samples.items()}, "page_faults": faults,
        "peak_mib": peak,
        "tinygen_over_numpy": ratio,
        "tinygen_over_torch": None if torch_ms is None else ms["tinygen"] / torch_ms,
        "goal": GOAL, "goal_met": ratio <= GOAL,
        "grads_match": all(e <= 1.0 for e in grad_error.values()), "grad_error": grad_error,
        "threads": used, "threads_pinned": threads is not None, "busy_elsewhere": busy,
        "clock": clock(threads),
        "malloc_tuned": malloc_tuned,
        "torch_version": None if torch is None else torch.__version__,
        "repeats": repeats, "warmup": warmup,
    }


def _mib(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def report(r: dict) -> str:
    """The figures of :func:`run` as a small table."""
    net = "-".join(map(str, SIZES))
    th = r["threads"]
    how = "pinned" if r["threads_pinned"] else "defaults"
    torch_threads = "-" if th["torch"] is None else th["torch"]
    malloc = "tuned (--tune-malloc)" if r["malloc_tuned"] else "defaults"
    lines = [
        f"One SGD step of a {net} ReLU MLP, softmax cross-entropy, batch {BATCH}, float32",
        f"threads ({how}): NumPy BLAS ({th['blas'] or '?'}) {th['numpy_blas'] or '?'}, "
        f"torch {torch_threads}; {os.cpu_count()} CPUs; malloc {malloc}; "
        f"{r['clock']} time",
        "gradients agree with hand-written NumPy (rtol 1e-4): "
        + ", ".join(f"{k} yes (worst {v:.2f} of tolerance)" for k, v in r["grad_error"].items()),
        "",
        f"{'implementation':<18}{'ms/step (median)':>17}{'min':>7}{'page faults/step':>18}"
        f"{'peak MiB':>10}",
    ]
    for label, key in [("tinygen", "tinygen"), ("numpy (by hand)", "numpy"),
                       ("torch (CPU)", "torch")]:
        if key in r["min_ms"]:
            f = r["page_faults"][key]
            lines.append(f"{label:<18}{r[key + '_ms']:>17.2f}{r['min_ms'][key]:>7.2f}"
                         f"{'?' if f is None else f'{f:.0f}':>18}"
                         f"{_mib(r['peak_mib'].get(key)):>10}")
        else:
            lines.append(f"{label:<18}   skipped: torch is not importable")
    lines += ["", f"tinygen / numpy  {r['tinygen_over_numpy']:.2f}x"]
    if r["tinygen_over_torch"] is not None:
        lines.append(f"tinygen / torch  {r['tinygen_over_torch']:.2f}x")
    busy = r["busy_elsewhere"]
    if busy is not None and busy > 0.25:
        lines.append(f"warning: other processes kept {busy:.1f} of {os.cpu_count()} CPUs busy "
                     "just before timing, so these timings are noisy (multi-threaded BLAS most "
                     "of all; --threads 1 is steadier)")
    verdict = "MET" if r["goal_met"] else "NOT MET"
    lines.append(f"goal: tinygen <= {r['goal']}x hand-written NumPy: {verdict} "
                 f"(medians of {r['repeats']} steps after {r['warmup']} warm-up; peak MiB: "
                 "resident memory of one step above the memory before it)")
    return "\n".join(lines)


def profile(steps: int = 50, top: int = 25) -> None:
    """cProfile ``steps`` tinygen steps and print the functions with the most own time."""
    params, x, y = make_problem()
    step = tinygen_stepper(params, x, y)
    step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed steps per implementation")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps before timing")
    parser.add_argument("--threads", type=int, default=None,
                        help="pin NumPy's BLAS and PyTorch to this many threads (default: leave "
                             "the libraries' defaults)")
    parser.add_argument("--tune-malloc", action="store_true",
                        help="keep freed memory in the process (glibc), removing page-fault "
                             "noise; see tune_malloc()")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile the tinygen step and print the top functions")
    args = parser.parse_args(argv)
    tuned = tune_malloc() if args.tune_malloc else False
    if args.tune_malloc and not tuned:
        print("note: --tune-malloc needs glibc's mallopt; running with the defaults")
    r = run(args.repeats, args.warmup, args.threads, tuned)
    if optional_torch() is None:
        print("note: PyTorch is not importable; its column is skipped")
    print(report(r))
    if args.profile:
        profile()
    return r


if __name__ == "__main__":
    main()
