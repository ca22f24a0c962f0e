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

Run it as ``python benchmarks/engine.py [--repeats N] [--profile]``, or import it and call
:func:`run`, which returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import statistics
import time
from collections.abc import Callable, Iterator

import numpy as np

import tinygen as tg

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

def _torch():
    try:
        import torch
    except Exception:  # not installed, or a broken install
        return None
    return torch


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


def time_steps(steps: dict[str, Callable], repeats: int, warmup: int) -> dict[str, list]:
    """Milliseconds of ``repeats`` calls of each step, after ``warmup`` untimed ones each.

    The steps take turns, one call each per round (the order alternating between rounds), so
    a slow spell of the machine (another process on the cores) hits all of them alike.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list] = {name: [] for name in steps}
    order = list(steps.items())
    for i in range(repeats):
        for name, step in order if i % 2 == 0 else reversed(order):
            t0 = time.perf_counter()
            step()
            times[name].append((time.perf_counter() - t0) * 1e3)
    return times


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
    torch = _torch()
    if torch is not None:
        counts["torch"] = torch.get_num_threads()
    return counts


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """Limit NumPy's BLAS and PyTorch to ``n`` threads inside the block (None: defaults)."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits
    torch = _torch()
    old = None if torch is None else torch.get_num_threads()
    with threadpool_limits(limits=n, user_api="blas"):
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(old)


def run(repeats: int = 50, warmup: int = 10, threads: int | None = None) -> dict:
    """Check the gradients agree, then time the three steps; return the figures.

    Keys: ``tinygen_ms``, ``numpy_ms``, ``torch_ms`` (median ms/step; ``torch_ms`` is None
    without PyTorch), ``min_ms`` (per implementation), ``tinygen_over_numpy``,
    ``tinygen_over_torch``, ``goal``, ``goal_met``, ``grads_match``, ``grad_error`` (per
    implementation; <= 1 means within tolerance), ``threads``, ``load_average``, ``repeats``,
    ``warmup``. ``threads`` (None: the libraries' defaults) pins BLAS and PyTorch threads.
    """
    if repeats < 1:
        raise ValueError(f"run: repeats must be at least 1, got {repeats}")
    params, x, y = make_problem()
    torch = _torch()

    ref = numpy_grads([p.copy() for p in params], x, y)
    grad_error = {"tinygen": max_grad_error(tinygen_grads(params, x, y), ref, "tinygen")}
    if torch is not None:
        grad_error["torch"] = max_grad_error(torch_grads(torch, params, x, y), ref, "torch")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    with _threads(threads):
        used = thread_counts()
        # tinygen and NumPy share NumPy's BLAS threads, so they take turns; PyTorch has its
        # own thread pool, which would fight NumPy's for the cores if interleaved: it runs after.
        samples = time_steps({"numpy": numpy_stepper(params, x, y),
                              "tinygen": tinygen_stepper(params, x, y)}, repeats, warmup)
        if torch is not None:
            samples |= time_steps({"torch": torch_stepper(torch, params, x, y)}, repeats,
                                  warmup)
    ms = {k: statistics.median(v) for k, v in samples.items()}
    torch_ms = ms.get("torch")
    ratio = ms["tinygen"] / ms["numpy"]
    return {
        "tinygen_ms": ms["tinygen"], "numpy_ms": ms["numpy"], "torch_ms": torch_ms,
        "min_ms": {k: min(v) for k, v in samples.items()},
        "tinygen_over_numpy": ratio,
        "tinygen_over_torch": None if torch_ms is None else ms["tinygen"] / torch_ms,
        "goal": GOAL, "goal_met": ratio <= GOAL,
        "grads_match": all(e <= 1.0 for e in grad_error.values()), "grad_error": grad_error,
        "threads": used, "threads_pinned": threads is not None, "load_average": load,
        "torch_version": None if torch is None else torch.__version__,
        "repeats": repeats, "warmup": warmup,
    }


def report(r: dict) -> str:
    """The figures of :func:`run` as a small table."""
    net = "-".join(map(str, SIZES))
    th = r["threads"]
    how = "pinned" if r["threads_pinned"] else "defaults"
    load = "" if r["load_average"] is None else f", load average {r['load_average']:.2f}"
    lines = [
        f"One SGD step of a {net} ReLU MLP, softmax cross-entropy, batch {BATCH}, float32",
        f"threads ({how}): NumPy BLAS ({th['blas'] or '?'}) {th['numpy_blas'] or '?'}, "
        f"torch {th['torch'] if th['torch'] is not None else '-'}; {os.cpu_count()} CPUs{load}",
        "gradients agree with hand-written NumPy (rtol 1e-4): "
        + ", ".join(f"{k} yes (worst {v:.2f} of tolerance)" for k, v in r["grad_error"].items()),
        "",
        f"{'implementation':<20}{'ms/step (median)':>18}{'min':>8}",
    ]
    for label, key in [("tinygen", "tinygen"), ("numpy (by hand)", "numpy"),
                       ("torch (CPU)", "torch")]:
        if key in r["min_ms"]:
            lines.append(f"{label:<20}{r[key + '_ms']:>18.2f}{r['min_ms'][key]:>8.2f}")
        else:
            lines.append(f"{label:<20}{'skipped (torch not importable)':>34}")
    lines += ["", f"tinygen / numpy  {r['tinygen_over_numpy']:.2f}x"]
    if r["tinygen_over_torch"] is not None:
        lines.append(f"tinygen / torch  {r['tinygen_over_torch']:.2f}x")
    if r["load_average"] is not None and r["load_average"] > 0.5:
        lines.append(f"warning: other processes are using the CPUs (load average "
                     f"{r['load_average']:.2f}); multi-threaded timings are then unreliable "
                     "(try --threads 1, or a quiet machine)")
    verdict = "MET" if r["goal_met"] else "NOT MET"
    lines.append(f"goal: tinygen <= {r['goal']}x hand-written NumPy: {verdict} "
                 f"(medians of {r['repeats']} steps after {r['warmup']} warm-up)")
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
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile the tinygen step and print the top functions")
    parser.add_argument("--threads", type=int, default=None,
                        help="pin NumPy's BLAS and PyTorch to this many threads (default: leave "
                             "the libraries' defaults)")
    args = parser.parse_args(argv)
    r = run(args.repeats, args.warmup, args.threads)
    if _torch() is None:
        print("note: PyTorch is not importable; its column is skipped")
    print(report(r))
    if args.profile:
        profile()
    return r


if __name__ == "__main__":
    main()
