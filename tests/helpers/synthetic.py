"""Synthetic page graphs (the fields colorgen.data.graph produces), for model tests and benchmarks."""

from __future__ import annotations

import torch
from torch_geometric.data import Batch, Data

from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES
from colorgen.data.tags import NUM_TAGS


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
