"""Reference implementations the fast code is checked (and benchmarked) against: slow but obviously right."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from colorgen.models import ContentEncoder


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
