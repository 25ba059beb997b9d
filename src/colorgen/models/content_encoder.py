"""Content encoder: element embeddings plus bottom-up / top-down tree message passing.

Each element gets ``h = max(order, tag, text, img, bgimg embeddings)``. Then, leaves first,
``u = MLP_up([h ; max of children's u or h_leaf])`` and, root first,
``d = MLP([u ; parent's d or h_root])``; the output is ``x = d + h`` (MODELS.md).

A tree level depends only on the level below (above), so every pass is one batched
scatter-max (gather, top-down: a node has one parent) per level over all pages at once; the
MLPs' input halves that do not depend on the previous level run as one matmul over all nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from colorgen.data.tags import NUM_TAGS
from colorgen.data.webcolor_format import IMG_FEAT_DIM, MAX_ELEMENTS, TEXT_FEAT_DIM


def _mlp(d: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(2 * d, d), nn.ReLU(), nn.Linear(d, d))


@dataclass(frozen=True)
class TreeLevels:
    """Index plan for level-wise message passing, computed once per batch.

    ``perm`` lists nodes sorted by depth and, inside a level, nodes with children first: level
    ``l`` is ``perm[offsets[l]:offsets[l + 1]]`` and its first ``inner[l]`` nodes have children.
    ``parent_local[l]`` gives, for each node of level ``l >= 1``, its parent's position inside
    level ``l - 1`` (always ``< inner[l - 1]``). Why inner nodes first: only they pool children
    and pass a message down, so those matmuls run on a prefix slice, not on every node.
    """

    perm: Tensor
    inverse: Tensor
    offsets: list[int]
    parent_local: list[Tensor]
    inner: list[int]

    @property
    def num_levels(self) -> int:
        return len(self.offsets) - 1


def tree_levels(edge_index: Tensor, depth: Tensor, num_nodes: int) -> TreeLevels:
    """Plan the level-wise passes from ``edge_index`` (child -> parent) and per-page ``depth``.

    Vectorised: a handful of whole-batch ops plus views, no per-level tensor work.
    """
    device = depth.device
    has_child = torch.zeros(num_nodes, dtype=torch.bool, device=device)
    has_child[edge_index[1]] = True
    perm = torch.argsort(2 * depth + (~has_child).long(), stable=True)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(num_nodes, device=device)
    counts = torch.bincount(depth, minlength=1)
    starts = torch.cumsum(counts, 0) - counts
    offsets = [0, *torch.cumsum(counts, 0).tolist()]
    inner = torch.bincount(depth[has_child], minlength=len(offsets) - 1).tolist()
    local = inverse - starts[depth]
    parent = torch.zeros(num_nodes, dtype=torch.long, device=device)
    parent[edge_index[0]] = edge_index[1]
    parent_local_sorted = local[parent[perm]]
    parent_local = [parent_local_sorted[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    parent_local[0] = parent_local[0][:0]
    return TreeLevels(perm, inverse, offsets, parent_local, inner)


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
        """``(u, d)`` in node order: the bottom-up and top-down states (parity checks read ``u``).

        ``mlp([x ; m])``'s first layer is split as ``W_x x + W_m m``: the ``W_x`` half of every
        level is one matmul over all nodes up front, so a level costs only its own
        ``W_m m`` (on its inner nodes; a leaf's ``m`` is the constant ``h_leaf``), ReLU and
        second layer (few, larger ops; same function to float tolerance). Gathers are
        ``index_select``: their backward is one ``index_add``, not an accumulating index_put.
        """
        up1, up2 = self.mlp_up[0], self.mlp_up[2]
        mlp_down = self.mlp_up if self.share_updown_mlp else self.mlp_down
        dn1, dn2 = mlp_down[0], mlp_down[2]
        d = h.size(-1)
        off, n_lv, inner = plan.offsets, plan.num_levels, plan.inner
        # bottom-up: u = up2(relu(Wx h + b1 + Wm m)), m = max of children's u, or h_leaf
        wm_up = up1.weight[:, d:].t()
        sizes = [b - a for a, b in zip(off[:-1], off[1:], strict=True)]
        # split, not slices: its backward is one cat, a slice's is a full-size zero tensor each
        pre_up = F.linear(h.index_select(0, plan.perm), up1.weight[:, :d], up1.bias).split(sizes)
        leaf_up = self.h_leaf @ wm_up
        ups: list[Tensor] = [h.new_empty(0)] * n_lv
        for lvl in reversed(range(n_lv)):
            n_in = inner[lvl]
            if n_in:  # children: the level below, whose parents are this level's first n_in nodes
                child_u = ups[lvl + 1]
                idx = plan.parent_local[lvl + 1][:, None].expand_as(child_u)
                pooled = child_u.new_zeros(n_in, d).scatter_reduce(0, idx, child_u, "amax", include_self=False)
                pre_in, pre_leaf = pre_up[lvl].split([n_in, sizes[lvl] - n_in])
                pre = torch.cat([torch.addmm(pre_in, pooled, wm_up), pre_leaf + leaf_up])
            else:
                pre = pre_up[lvl] + leaf_up
            ups[lvl] = up2(F.relu(pre))
        u_sorted = torch.cat(ups)
        # top-down: d = dn2(relu(Wx u + b1 + Wm d_parent)), the root's parent being h_root
        wm_dn = dn1.weight[:, d:].t()
        pre_dn = F.linear(u_sorted, dn1.weight[:, :d], dn1.bias).split(sizes)
        from_parent = self.h_root @ wm_dn
        downs: list[Tensor] = []
        for lvl in range(n_lv):
            parent_term = from_parent if lvl == 0 else from_parent.index_select(0, plan.parent_local[lvl])
            downs.append(dn2(F.relu(pre_dn[lvl] + parent_term)))
            if lvl + 1 < n_lv:
                from_parent = downs[-1][: inner[lvl]] @ wm_dn
        return u_sorted.index_select(0, plan.inverse), torch.cat(downs).index_select(0, plan.inverse)
