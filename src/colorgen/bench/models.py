"""Model benchmarks on synthetic pages, plus the naive references they are measured against.

Measures (a) content-encoder forward+backward, vectorised level-wise vs node-by-node,
(b) AR generation with a key/value cache vs full recomputation, (c) training steps per
second of every model at the paper size and a small CPU size. ``run`` returns numbers only;
reports are written elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch_geometric.data import Batch

from colorgen.decoding import DecodingConfig
from colorgen.models import AR, CVAE, NAR, ColorUpsampler, ContentEncoder, Stats

from .checkout import import_test_helpers

_helpers = import_test_helpers()
realistic_batch = _helpers.synthetic.realistic_batch
reference_content_encoding = _helpers.oracles.reference_content_encoding

PAPER_SIZE = {"d_model": 256, "n_layers": 4, "n_heads": 8, "d_ff": 512, "dropout": 0.1}
SMALL_SIZE = {"d_model": 128, "n_layers": 2, "n_heads": 4, "d_ff": 256, "dropout": 0.1}

def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(
    fn: Callable[[], Any], repeats: int, warmup: int = 1, device: torch.device | None = None
) -> float:
    """Median seconds per call (CUDA work is synchronised before reading the clock)."""
    dev = device or torch.device("cpu")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync(dev)
        t0 = time.perf_counter()
        fn()
        _sync(dev)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def bench_content_encoder(batch: Batch, repeats: int, d_model: int = 256) -> dict[str, float]:
    torch.manual_seed(0)
    enc = ContentEncoder(d_model).to(batch.batch.device)

    def vec() -> None:
        enc.zero_grad()
        enc(batch).sum().backward()

    def ref() -> None:
        enc.zero_grad()
        reference_content_encoding(enc, batch).sum().backward()

    dev = batch.batch.device
    t_vec = _time(vec, repeats, device=dev)
    t_ref = _time(ref, max(1, repeats // 3), device=dev)
    return {"vectorised_s": t_vec, "reference_s": t_ref, "speedup": t_ref / t_vec}


def bench_ar_generation(batch: Batch, repeats: int, size: dict[str, Any]) -> dict[str, float]:
    torch.manual_seed(0)
    model = AR(**size).eval()
    cfg = DecodingConfig()
    pages = batch.num_graphs
    out = {}
    for name, inc in (("incremental", True), ("full_recompute", False)):
        t = _time(
            lambda inc=inc: model.decode(batch, cfg, None, incremental=inc), repeats, warmup=0
        )
        out[f"{name}_pages_per_s"] = pages / t
    out["speedup"] = out["incremental_pages_per_s"] / out["full_recompute_pages_per_s"]
    return out


def bench_training(batch: Batch, repeats: int, size: dict[str, Any]) -> dict[str, float]:
    dev = batch.batch.device
    out: dict[str, float] = {}
    for name, cls in (("ar", AR), ("nar", NAR), ("cvae", CVAE), ("upsampler", ColorUpsampler)):
        torch.manual_seed(0)
        model = cls(**size).to(dev).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)

        def step(model: Any = model, opt: torch.optim.Optimizer = opt) -> None:
            opt.zero_grad()
            model.loss(batch)["loss"].backward()
            opt.step()

        out[f"{name}_steps_per_s"] = 1.0 / _time(step, repeats, device=dev)
    out["stats_batches_per_s"] = 1.0 / _time(
        lambda: Stats().to(dev).fit([batch]), repeats, device=dev
    )
    return out


def run(quick: bool = False, device: str = "cpu") -> dict[str, Any]:
    """All model benchmarks; ``quick`` shrinks batches and repeats (seconds instead of minutes)."""
    dev = torch.device(device)
    bsz = 8 if quick else 32
    reps = 2 if quick else 5
    threads = torch.get_num_threads()
    train_batch = realistic_batch(bsz, 100, seed=0).to(dev)
    gen_batch = realistic_batch(2 if quick else 8, 120, seed=1).to(dev)
    depth = torch.zeros(bsz, dtype=torch.long, device=dev).scatter_reduce(
        0, train_batch.batch, train_batch.depth, "amax"
    )
    return {
        "device": str(dev),
        "tree_levels_mean": float(depth.float().mean()) + 1,
        "torch_threads": threads,
        "batch_pages": bsz,
        "batch_elements": int(train_batch.num_nodes),
        "content_encoder": bench_content_encoder(train_batch, reps),
        "ar_generation": {
            "pages": gen_batch.num_graphs,
            "max_elements": int(torch.bincount(gen_batch.batch).max()),
            **bench_ar_generation(gen_batch, 1 if quick else 2, PAPER_SIZE),
        },
        "train_paper_size": bench_training(train_batch, reps, PAPER_SIZE),
        "train_small_size": bench_training(train_batch, reps, SMALL_SIZE),
    }
