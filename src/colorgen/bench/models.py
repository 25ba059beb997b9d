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
from torch import Tensor
from torch_geometric.data import Batch, Data

from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES
from colorgen.data.tags import NUM_TAGS
from colorgen.decoding import DecodingConfig
from colorgen.models import AR, CVAE, NAR, ColorUpsampler, ContentEncoder, Stats

PAPER_SIZE = {"d_model": 256, "n_layers": 4, "n_heads": 8, "d_ff": 512, "dropout": 0.1}
SMALL_SIZE = {"d_model": 128, "n_layers": 2, "n_heads": 4, "d_ff": 256, "dropout": 0.1}

# ---------------------------------------------------------------- synthetic pages


def page_from_parents(
    parents: list[int], generator: torch.Generator, page_id: str = "page"
) -> Data:
    """A page (docs/CONTRACTS.md fields) whose element ``i`` has parent ``parents[i]`` (-1 = root)."""
    n, g = len(parents), generator
    parent = torch.tensor(parents, dtype=torch.long)
    depth = [0] * n
    order = [0] * n
    next_order: dict[int, int] = {}
    for i, p in enumerate(parents):
        if p >= 0:
            depth[i] = depth[p] + 1
            order[i] = next_order.get(p, 0)
            next_order[p] = order[i] + 1
    has_text = torch.rand(n, generator=g) < 0.5
    has_img = torch.rand(n, generator=g) < 0.2
    has_bgimg = torch.rand(n, generator=g) < 0.1
    child = torch.arange(n)[parent >= 0]
    return Data(
        order=torch.tensor(order).clamp(max=199),
        tag=torch.randint(NUM_TAGS, (n,), generator=g),
        text_feat=torch.rand(n, 12, generator=g) * has_text[:, None],
        img_feat=torch.rand(n, 13, generator=g) * has_img[:, None],
        bgimg_feat=torch.rand(n, 13, generator=g) * has_bgimg[:, None],
        has_text=has_text,
        text_rgb=torch.randint(NUM_RGB_CLASSES, (n,), generator=g) * has_text,
        text_alpha=torch.randint(NUM_ALPHA_CLASSES, (n,), generator=g) * has_text,
        text_res=torch.rand(n, 4, generator=g) * has_text[:, None],
        bg_rgb=torch.randint(NUM_RGB_CLASSES, (n,), generator=g),
        bg_alpha=torch.randint(NUM_ALPHA_CLASSES, (n,), generator=g),
        bg_res=torch.rand(n, 4, generator=g),
        edge_index=torch.stack([child, parent[child]]).reshape(2, -1),
        depth=torch.tensor(depth),
        is_test2=torch.tensor([False]),
        page_id=page_id,
        num_nodes=n,
    )


def random_parents(n: int, generator: torch.Generator, branching: float = 0.7) -> list[int]:
    """Parents of a random tree in element-id order (a parent precedes its children).

    With probability ``branching`` an element hangs under a random earlier element, else
    under the previous one: near 1 gives bushy trees, near 0 long chains.
    """
    parents = [-1]
    for i in range(1, n):
        if float(torch.rand(1, generator=generator)) < branching:
            parents.append(int(torch.randint(i, (1,), generator=generator)))
        else:
            parents.append(i - 1)
    return parents


def random_page(
    n: int, generator: torch.Generator, page_id: str = "page", branching: float = 0.7
) -> Data:
    return page_from_parents(random_parents(n, generator, branching), generator, page_id)


def realistic_batch(batch_size: int, n_elements: int = 100, seed: int = 0) -> Batch:
    """``batch_size`` random pages of about ``n_elements`` elements (+-20%, at most 200)."""
    g = torch.Generator().manual_seed(seed)
    lo, hi = int(n_elements * 0.8), min(200, int(n_elements * 1.2)) + 1
    sizes = torch.randint(lo, hi, (batch_size,), generator=g).tolist()
    return Batch.from_data_list([random_page(n, g, f"p{i}", 0.6) for i, n in enumerate(sizes)])


# ---------------------------------------------------------------- naive reference


def reference_content_encoding(encoder: ContentEncoder, batch: Any) -> Tensor:
    """Content vectors computed node by node (leaves first, then root first), no batching.

    The obviously-correct form of MODELS.md's message passing; the vectorised encoder must
    match it.
    """
    h = encoder.embed(batch)
    if not encoder.message_passing:
        return h
    n = h.size(0)
    parent = [-1] * n
    children: list[list[int]] = [[] for _ in range(n)]
    for c, p in batch.edge_index.t().tolist():
        parent[c] = p
        children[p].append(c)
    depth = batch.depth.tolist()
    mlp_down = encoder.mlp_up if encoder.share_updown_mlp else encoder.mlp_down
    u: list[Tensor] = [h.new_empty(0)] * n
    for node in sorted(range(n), key=lambda i: -depth[i]):
        kids = children[node]
        m = torch.stack([u[c] for c in kids]).amax(0) if kids else encoder.h_leaf[0]
        u[node] = encoder.mlp_up(torch.cat([h[node], m]))
    d: list[Tensor] = [h.new_empty(0)] * n
    for node in sorted(range(n), key=lambda i: depth[i]):
        p = d[parent[node]] if parent[node] >= 0 else encoder.h_root[0]
        d[node] = mlp_down(torch.cat([u[node], p]))
    out = torch.stack(d)
    return out + h if encoder.residual else out


# ---------------------------------------------------------------- timing


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
