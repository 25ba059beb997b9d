"""Where issue 12's training figures spend their time, and the least each could take here.

A step's dense matmuls (``mm``, ``addmm``, ``bmm``, ``baddbmm``) are the model's arithmetic at this
machine's matmul speed, and its dropout masks (``bernoulli_``: one Mersenne-Twister draw per
element, ~7 ns an element on the project's EPYC) are the published masks. Neither shrinks without changing the model's function or its random numbers, so their sum is
the figure's floor under the published behaviour: a target below it cannot be met by removing
overhead, only by less arithmetic, faster matmuls (bf16) or other masks (``trainer.dropout_rng``).

``make bench``, section ``official``, ``floors``: the 8 rotating batches, each figure's wall time
(fastest of 2 per batch, as ``rotating_batches``) beside its matmul and mask seconds (torch's
profiler, one pass), per batch on average.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile
from torch_geometric.data import Batch

from colorgen.bench import speed

MATMUL_OPS = frozenset({"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"})
MASK_OPS = frozenset({"aten::bernoulli_"})


def op_seconds(fn: Callable[[Batch], Any], batches: list[Batch]) -> dict[str, float]:
    """Seconds per batch (mean) that ``fn`` spends in matmuls and in dropout masks (profiler self
    times, after one warm-up call)."""
    fn(batches[0])
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches:
            fn(batch)
    totals = {"matmul": 0.0, "masks": 0.0}
    for event in prof.key_averages():
        kind = "matmul" if event.key in MATMUL_OPS else "masks" if event.key in MASK_OPS else None
        if kind:
            totals[kind] += event.self_cpu_time_total / 1e6
    return {kind: seconds / len(batches) for kind, seconds in totals.items()}


def breakdown(fn: Callable[[Batch], Any], batches: list[Batch]) -> dict[str, float]:
    """``fn``'s wall seconds per batch and their parts: matmuls, dropout masks, the rest; ``floor_s``
    = matmuls + masks."""
    wall = sum(speed.fastest_per_batch(fn, batches, 2)) / len(batches)
    ops = op_seconds(fn, batches)
    floor = ops["matmul"] + ops["masks"]
    return {"step_s": wall, "matmul_s": ops["matmul"], "masks_s": ops["masks"], "other_s": wall - floor,
            "floor_s": floor}


def matmul_gflops(rows: int = 2048, d: int = 256, calls: int = 100) -> float:
    """This machine's fp32 matmul speed right now (``[rows, d] @ [d, d]``, the models' shape): the
    floors scale with it, and a shared machine's speed drifts between runs, so each run records it."""
    a, w = torch.randn(rows, d), torch.randn(d, d)
    for _ in range(5):
        a @ w
    start = time.perf_counter()
    for _ in range(calls):
        a @ w
    return 2 * rows * d * d * calls / (time.perf_counter() - start) / 1e9


def run(batches: list[Batch], targets: Mapping[str, speed.Reference] | None, threads: int = 2) -> dict[str, Any]:
    """Every training figure's :func:`breakdown` on ``batches``, with its target when ``targets``
    (the rotating references of this kind of machine) has one, and whether it lies below the floor;
    ``matmul_gflops``: :func:`matmul_gflops` before and after."""
    rows: dict[str, Any] = {}
    with speed.torch_threads(threads):
        before = matmul_gflops()
        for name, step in speed.training_steps().items():
            row = {k: round(v, 4) for k, v in breakdown(step, batches).items()}
            if targets is not None and name in targets:
                row["target_s"] = targets[name].target
                row["target_below_floor"] = targets[name].target < row["floor_s"]
            rows[name] = row
        rows["matmul_gflops"] = [round(before), round(matmul_gflops())]
    return rows


def format_table(rows: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown: one row per figure."""
    lines = ["| figure | step (s) | matmuls (s) | dropout masks (s) | rest (s) | floor (s) | target (s) | target below floor |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        if name == "matmul_gflops":
            continue
        target = f"{r['target_s']:.3g}" if "target_s" in r else "–"
        below = ("yes" if r["target_below_floor"] else "no") if "target_below_floor" in r else "–"
        lines.append(f"| {name} | {r['step_s']:.3g} | {r['matmul_s']:.3g} | {r['masks_s']:.3g} | {r['other_s']:.3g} | "
                     f"{r['floor_s']:.3g} | {target} | {below} |")
    if "matmul_gflops" in rows:
        lines.append(f"\nfp32 matmul speed before and after: {rows['matmul_gflops'][0]} / {rows['matmul_gflops'][1]} GFLOP/s")
    return "\n".join(lines)
