"""Content encoder: element embeddings plus bottom-up / top-down tree message passing.

Each element gets ``h = max(order, tag, text, img, bgimg embeddings)``. Then, leaves first,
``u = MLP_up([h ; max of children's u or h_leaf])`` and, root first,
``d = MLP([u ; parent's d or h_root])``; the output is ``x = d + h`` (MODELS.md).

A tree level depends only on the level below (above), so every pass is one batched
scatter-max (gather, top-down: a node has one parent) per level over all pages at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from colorgen.data.tags import NUM_TAGS
from colorgen.data.webcolor_format import IMG_FEAT_DIM, MAX_ELEMENTS, TEXT_FEAT_DIM


def _mlp(d: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(2 * d, d), nn.ReLU(), nn.Linear(d, d))


@dataclass(frozen=True)
class TreeLevels:
    """Index plan for level-wise message passing, computed once per batch.

    ``perm`` lists nodes sorted by depth, so level ``l`` is the slice
    ``perm[offsets[l]:offsets[l + 1]]``; ``parent_local[l]`` gives, for each node of level
    ``l >= 1``, the position of its parent inside level ``l - 1``.
    """

    perm: Tensor
    inverse: Tensor
    offsets: list[int]
    parent_local: list[Tensor]

    @property
    def num_levels(self) -> int:
        return len(self.offsets) - 1


def tree_levels(edge_index: Tensor, depth: Tensor, num_nodes: int) -> TreeLevels:
    """Plan the level-wise passes from ``edge_index`` (child -> parent) and per-page ``depth``."""
    device = depth.device
    perm = torch.argsort(depth, stable=True)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(num_nodes, device=device)
    counts = torch.bincount(depth, minlength=1)
    offsets = [0, *torch.cumsum(counts, 0).tolist()]
    local = inverse - torch.tensor(offsets[:-1], device=device)[depth]
    parent = torch.full((num_nodes,), -1, dtype=torch.long, device=device)
    parent[edge_index[0]] = edge_index[1]
    parent_local = [torch.empty(0, dtype=torch.long, device=device)]
    for lvl in range(1, len(offsets) - 1):
        nodes = perm[offsets[lvl] : offsets[lvl + 1]]
        parent_local.append(local[parent[nodes]])
    return TreeLevels(perm, inverse, offsets, parent_local)


class ContentEncoder(nn.Module):
    """Element features + DOM tree -> one content vector per element.

    Switches (defaults = published): ``share_updown_mlp`` (the top-down step reuses
    ``mlp_up``; ``mlp_down`` exists either way so published checkpoints load),
    ``message_passing`` (False: ``x = h``), ``residual`` (False: ``x = d``).
    """

    def __init__(
        self,
        d_model: int,
        share_updown_mlp: bool = True,
        message_passing: bool = True,
        residual: bool = True,
    ) -> None:
        super().__init__()
        if not message_passing and not residual:
            raise ValueError("message_passing=False and residual=False leave nothing to encode")
        self.embed_order = nn.Embedding(MAX_ELEMENTS, d_model)
        self.embed_tag = nn.Embedding(NUM_TAGS, d_model)
        self.embed_text = nn.Linear(TEXT_FEAT_DIM, d_model)
        self.embed_img = nn.Linear(IMG_FEAT_DIM, d_model)
        self.embed_bgimg = nn.Linear(IMG_FEAT_DIM, d_model)
        self.h_leaf = nn.Parameter(torch.rand(1, d_model))
        self.mlp_up = _mlp(d_model)
        self.h_root = nn.Parameter(torch.rand(1, d_model))
        self.mlp_down = _mlp(d_model)
        self.share_updown_mlp = share_updown_mlp
        self.message_passing = message_passing
        self.residual = residual

    def embed(self, batch: Any) -> Tensor:
        """Element-wise max of the five embeddings, ``[N, d]``."""
        feats = [
            self.embed_order(batch.order),
            self.embed_tag(batch.tag),
            self.embed_text(batch.text_feat),
            self.embed_img(batch.img_feat),
            self.embed_bgimg(batch.bgimg_feat),
        ]
        return torch.stack(feats).amax(0)

    def forward(self, batch: Any) -> Tensor:
        h = self.embed(batch)
        if not self.message_passing:
            return h
        d = self.propagate(h, tree_levels(batch.edge_index, batch.depth, h.size(0)))
        return d + h if self.residual else d

    def propagate(self, h: Tensor, plan: TreeLevels) -> Tensor:
        """Bottom-up then top-down passes; returns ``d`` in node order."""
        return self.passes(h, plan)[1]

    def passes(self, h: Tensor, plan: TreeLevels) -> tuple[Tensor, Tensor]:
        """``(u, d)`` in node order: the bottom-up and top-down states (parity checks read ``u``)."""
        mlp_down = self.mlp_up if self.share_updown_mlp else self.mlp_down
        hs = h[plan.perm]
        off, n_lv = plan.offsets, plan.num_levels
        ups: list[Tensor] = [h.new_empty(0)] * n_lv
        for lvl in reversed(range(n_lv)):
            h_l = hs[off[lvl] : off[lvl + 1]]
            m = self.h_leaf.expand_as(h_l)
            if lvl + 1 < n_lv:
                idx = plan.parent_local[lvl + 1]
                child_u = ups[lvl + 1]
                has_child = torch.zeros(h_l.size(0), dtype=torch.bool, device=h.device)
                has_child[idx] = True
                pooled = h_l.new_zeros(h_l.shape).scatter_reduce(
                    0, idx[:, None].expand_as(child_u), child_u, "amax", include_self=False
                )
                m = torch.where(has_child[:, None], pooled, m)
            ups[lvl] = self.mlp_up(torch.cat([h_l, m], dim=-1))
        downs: list[Tensor] = []
        for lvl in range(n_lv):
            p = self.h_root.expand_as(ups[0]) if lvl == 0 else downs[-1][plan.parent_local[lvl]]
            downs.append(mlp_down(torch.cat([ups[lvl], p], dim=-1)))
        return torch.cat(ups)[plan.inverse], torch.cat(downs)[plan.inverse]
