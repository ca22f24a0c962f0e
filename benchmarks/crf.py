"""How fast are the CRF kernels? NLL + gradient and Viterbi decoding, float32.

Problem: batch 64, length 64 (sequence lengths drawn in [32, 64], so masks matter),
K ∈ {4, 16, 64} tags, random emissions, transitions, start/end scores and labels.

* **NLL + gradient**: ``crf_nll(h, G, y, mask, start, end)`` (mean over sequences), then
  ``backward()`` for h, G, start and end.
* **Viterbi**: best paths and scores of the batch.

Implementations: **kernel** (:func:`tinygen.ops.crf.crf_nll` / ``crf_viterbi`` on the Numba
kernels), the **twin** (the same recursions as Tensor ops: ``crf_log_partition_twin`` −
``crf_score``, ``crf_viterbi_twin``), and **pytorch-crf** (``torchcrf.CRF``, the ``ref``
extra) when it imports. Before timing, the kernel's gradients are checked against the twin's
(and pytorch-crf's) on the same problem. Goal: kernel ≥ 10× faster than pytorch-crf on CPU,
for both NLL + gradient and Viterbi.

Measured on the repo's 2-core AVX-512 Xeon (``--threads 1``: medians of CPU time, so the
other processes on the cores do not count; float32; PyTorch 2.13, load ≈ 8)::

       K  task      kernel   pytorch-crf   pytorch-crf/kernel
       4  nll         0.83      12.60          15.2x
       4  viterbi     0.23       8.55          37.2x
      16  nll         2.73      39.33          14.4x
      16  viterbi     0.31      14.57          46.3x
      64  nll        15.96     244.24          15.3x
      64  viterbi     1.70      76.63          45.0x

The NLL step runs each sequence in scaled probabilities where that is exact (see
:mod:`tinygen.kernels.cpu.crf`); before that fast path the same run gave 7.2× / 10.1× /
13.2× for the NLL. With ``--parallel`` the kernels' prange variants use both cores, but next
to BLAS work they lose (see the kernel module), so they are off by default.

With ``--device cuda`` (CuPy and a GPU): batch 1,024 throughput of the CUDA kernels
(sequences per second for NLL + gradient and for Viterbi), synchronising after every call.

Run ``python benchmarks/crf.py [--repeats N] [--threads N] [--parallel] [--no-twin]
[--device cuda]``, or import it and call :func:`run`, which returns the figures as a dict
(small sizes make a smoke test).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen.ops.crf import (
    crf_log_partition_twin,
    crf_nll,
    crf_score,
    crf_viterbi,
    crf_viterbi_twin,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py
from common import clock, peak_memory_mib, times_ms  # noqa: E402

SEED = 0
GOAL_OVER_TORCH = 10.0  # the kernel should be at least this many times faster than pytorch-crf


def _torchcrf():
    try:
        import torch
        from torchcrf import CRF
    except Exception:  # not installed, or a broken install
        return None, None
    return torch, CRF


def problem(batch: int, length: int, K: int, seed: int = SEED) -> dict:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(max(1, length // 2), length + 1, batch)
    lengths[0] = length
    return dict(
        h=rng.standard_normal((batch, length, K)).astype(np.float32),
        G=(0.5 * rng.standard_normal((K, K))).astype(np.float32),
        start=(0.5 * rng.standard_normal(K)).astype(np.float32),
        end=(0.5 * rng.standard_normal(K)).astype(np.float32),
        y=rng.integers(0, K, (batch, length)),
        mask=(np.arange(length)[None] < lengths[:, None]).astype(np.int64),
    )


def twin_nll(h, G, y, mask, start, end):
    z = crf_log_partition_twin(h, G, mask, start, end)
    return (z - crf_score(h, G, y, mask, start, end)).mean()


def tinygen_steps(p: dict, device: str = "cpu") -> dict[str, dict[str, Callable]]:
    params = [tg.tensor(p[k], device=device, requires_grad=True)
              for k in ("h", "G", "start", "end")]
    y, mask = tg.tensor(p["y"], device=device), tg.tensor(p["mask"], device=device)

    def nll_step(loss_fn=crf_nll) -> list:
        for t in params:
            t.grad = None
        h, G, s, e = params
        loss_fn(h, G, y, mask, s, e).backward()
        return [t.grad for t in params]

    def viterbi(decode=crf_viterbi):
        h, G, s, e = (t.detach() for t in params)
        return decode(h, G, mask, s, e)

    return {"nll": {"kernel": nll_step, "twin": lambda: nll_step(twin_nll)},
            "viterbi": {"kernel": viterbi, "twin": lambda: viterbi(crf_viterbi_twin)}}


def torch_steps(p: dict, torch, CRF) -> dict[str, Callable]:
    K = p["h"].shape[2]
    crf = CRF(K, batch_first=True)
    with torch.no_grad():
        crf.transitions.copy_(torch.from_numpy(p["G"]))
        crf.start_transitions.copy_(torch.from_numpy(p["start"]))
        crf.end_transitions.copy_(torch.from_numpy(p["end"]))
    h = torch.from_numpy(p["h"]).requires_grad_()
    y, mask = torch.from_numpy(p["y"]), torch.from_numpy(p["mask"].astype(bool))

    def nll_step() -> list:
        crf.zero_grad()
        h.grad = None
        (-crf(h, y, mask, reduction="mean")).backward()
        return [h.grad, crf.transitions.grad, crf.start_transitions.grad,
                crf.end_transitions.grad]

    def viterbi():
        with torch.no_grad():
            return crf.decode(h, mask)

    return {"nll": nll_step, "viterbi": viterbi}


def _max_rel_error(a: list, b: list) -> float:
    return max(float(np.abs(np.asarray(x) - np.asarray(y)).max()
                     / max(1e-6, float(np.abs(np.asarray(y)).max()))) for x, y in zip(a, b))


def run(batch: int = 64, length: int = 64, tags=(4, 16, 64), repeats: int = 5,
        warmup: int = 1, threads: int | None = None, device: str = "cpu",
        twin: bool = True) -> dict:
    """Time every implementation; return the figures (ms and ratios) as a dict."""
    torch, CRF = _torchcrf() if device == "cpu" else (None, None)
    if torch is not None and threads:
        torch.set_num_threads(threads)
    results, errors = {}, []
    for K in tags:
        p = problem(batch, length, K)
        ours = tinygen_steps(p, device)
        ref = torch_steps(p, torch, CRF) if torch is not None else None
        grads = [tg.tensor(g).numpy() for g in ours["nll"]["kernel"]()]
        if twin:
            errors.append(_max_rel_error(grads, [g.numpy() for g in ours["nll"]["twin"]()]))
        if ref is not None:
            errors.append(_max_rel_error(grads, [g.numpy() for g in ref["nll"]()]))
            paths = ours["viterbi"]["kernel"]()[0].numpy()
            for b, best in enumerate(ref["viterbi"]()):
                if list(paths[b, :len(best)]) != best:
                    errors.append(float("inf"))
        row: dict = {"nll": {}, "viterbi": {}}
        for task in ("nll", "viterbi"):
            impls = dict(ours[task]) if twin else {"kernel": ours[task]["kernel"]}
            if ref is not None:
                impls["pytorch-crf"] = ref[task]
            for name, fn in impls.items():
                row[task][name] = statistics.median(
                    times_ms(fn, repeats, warmup, device, clock(threads, device)))
            if twin:
                row[f"{task}_twin_over_kernel"] = row[task]["twin"] / row[task]["kernel"]
            if ref is not None:
                row[f"{task}_over_torch"] = row[task]["pytorch-crf"] / row[task]["kernel"]
        row["sequences_per_s"] = {task: batch / row[task]["kernel"] * 1e3
                                  for task in ("nll", "viterbi")}
        row["nll_peak_mib"] = {}  # peak memory of one NLL + gradient step (CPU only)
        if device == "cpu":
            steps = {"kernel": ours["nll"]["kernel"]}
            if ref is not None:
                steps["pytorch-crf"] = ref["nll"]
            row["nll_peak_mib"] = {k: peak_memory_mib(v)["rss"] for k, v in steps.items()}
        results[K] = row
    worst = max(errors) if errors else 0.0
    return {"batch": batch, "length": length, "tags": tuple(tags), "device": device,
            "clock": clock(threads, device),
            "torch": torch is not None, "results": results, "grad_error": worst,
            "grads_match": bool(worst < 1e-3), "goal_over_torch": GOAL_OVER_TORCH}


def _cell(value, width: int, fmt: str) -> str:
    return format(value, fmt).rjust(width) if value is not None else "-".rjust(width)


def report(r: dict) -> str:
    lines = [f"CRF benchmark: batch {r['batch']}, length {r['length']}, float32, "
             f"device {r['device']} (median ms of {r['clock']} time; speed-up = other / kernel)",
             f"{'K':>4} {'task':<8} {'kernel':>9} {'twin':>9} {'pytorch-crf':>12} "
             f"{'twin/kern':>10} {'torch/kern':>11} {'seq/s':>10} {'MiB kern':>9} "
             f"{'MiB torch':>10}"]
    for K, row in r["results"].items():
        for task in ("nll", "viterbi"):
            t = row[task]
            lines.append(" ".join([
                f"{K:>4} {task:<8}", _cell(t.get("kernel"), 9, ".2f"),
                _cell(t.get("twin"), 9, ".2f"), _cell(t.get("pytorch-crf"), 12, ".2f"),
                _cell(row.get(f"{task}_twin_over_kernel"), 9, ".1f") + "x",
                _cell(row.get(f"{task}_over_torch"), 10, ".1f") + "x",
                _cell(row["sequences_per_s"][task], 10, ".0f"),
                _cell(row["nll_peak_mib"].get("kernel") if task == "nll" else None, 9, ".1f"),
                _cell(row["nll_peak_mib"].get("pytorch-crf") if task == "nll" else None, 10,
                      ".1f")]))
    lines.append(f"gradients and paths agree: {r['grads_match']} (worst relative error "
                 f"{r['grad_error']:.2e}); goal: kernel >= {r['goal_over_torch']:.0f}x "
                 "faster than pytorch-crf on CPU; MiB: peak resident memory of one NLL + "
                 "gradient step above the memory before it")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="PyTorch threads")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--no-twin", action="store_true", help="skip the (slow) composed twin")
    ap.add_argument("--parallel", action="store_true",
                    help="use the CPU kernels' prange variants (both cores)")
    args = ap.parse_args()
    if args.parallel:
        from tinygen.kernels.cpu import crf as cpu_kernels
        cpu_kernels.PARALLEL = True
    batch = args.batch or (1024 if args.device == "cuda" else 64)
    r = run(batch=batch, repeats=args.repeats, threads=args.threads, device=args.device,
            twin=not args.no_twin)
    print(report(r))


if __name__ == "__main__":
    main()
