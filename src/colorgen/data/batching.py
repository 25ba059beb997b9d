"""Batching: PyG's DataLoader for graphs; dense ``[batch, elements, ...]`` views and packings for Transformers."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.loader import DataLoader
from torch_geometric.utils import to_dense_batch


def make_loader(dataset, batch_size: int, shuffle: bool = False, seed: int = 0, num_workers: int = 0) -> DataLoader:
    """A DataLoader whose shuffle order is fixed by the seed."""
    gen = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=num_workers)


def to_dense(batch, values: Tensor, fill_value: float = 0.0) -> tuple[Tensor, Tensor]:
    """Node-aligned ``values [N, ...]`` -> ``[B, L, ...]`` and mask ``[B, L]`` (True = real element).

    Position i of page b is element id i, because nodes are stored in element order.
    """
    return to_dense_batch(values, batch.batch, fill_value=fill_value, batch_size=batch.num_graphs)


MAX_ATTENTION_GROUPS = 4


@dataclass(frozen=True)
class AttentionGroup:
    """Pages that share one padded attention layout ``[pages, length]``.

    ``slots [pages * length]`` names the packed row that fills each padded slot, or ``N`` (one
    past the last row: a zero row) for padding; ``key_padding_mask`` is True at padding.
    """

    slots: Tensor
    key_padding_mask: Tensor


@dataclass(frozen=True)
class Packing:
    """Where the rows of a packed ``[N, ...]`` tensor (pages one after another) sit in ``[B, L]``.

    Why: linear layers and feed-forwards see only real elements (no padding work); only
    attention, which needs page boundaries, runs padded, and in ``groups`` of pages of similar
    length (each padded to its own longest page) so short pages are not padded to the longest
    of the batch. The batch itself is unchanged: grouping is only how attention is laid out.
    """

    flat_index: Tensor  # [N]: b * L + position
    positions: Tensor  # [N]: position inside the page
    mask: Tensor  # [B, L]: True = element
    groups: tuple[AttentionGroup, ...]
    gather: Tensor  # [N]: row of each element in the groups' concatenated slots

    @classmethod
    def from_batch(cls, batch_index: Tensor, batch_size: int, max_groups: int = MAX_ATTENTION_GROUPS) -> Packing:
        """From PyG's node-to-page vector (nodes grouped by page, in element order)."""
        device = batch_index.device
        n = batch_index.numel()
        counts = torch.bincount(batch_index, minlength=batch_size)
        length = int(counts.max()) if n else 0
        starts = torch.cumsum(counts, 0) - counts
        positions = torch.arange(n, device=device) - starts[batch_index]
        flat = batch_index * length + positions
        mask = torch.zeros(batch_size * length, dtype=torch.bool, device=device)
        mask[flat] = True
        groups, gather = _attention_groups(counts, starts, positions, batch_index, max_groups)
        return cls(flat, positions, mask.view(batch_size, length), groups, gather)

    def pad(self, x: Tensor) -> Tensor:
        """``[N, ...] -> [B, L, ...]``, zeros at padding."""
        b, length = self.mask.shape
        out = x.new_zeros(b * length, *x.shape[1:]).index_copy(0, self.flat_index, x)
        return out.view(b, length, *x.shape[1:])

    def unpad(self, x: Tensor) -> Tensor:
        """``[B, L, ...] -> [N, ...]`` (the real elements, in node order)."""
        return x.reshape(-1, *x.shape[2:]).index_select(0, self.flat_index)


def _partition_by_length(lengths: list[int], max_groups: int) -> list[int]:
    """Split lengths sorted longest first into <= ``max_groups`` runs minimising the padded
    attention area ``sum(pages * longest^2)``; returns each run's end (exclusive)."""
    b = len(lengths)
    inf = float("inf")
    # best[g][j]: least cost of the first j pages in g runs; a run i..j-1 costs (j-i) * lengths[i]^2
    best = [[inf] * (b + 1) for _ in range(max_groups + 1)]
    cut = [[0] * (b + 1) for _ in range(max_groups + 1)]
    best[0][0] = 0.0
    for g in range(1, max_groups + 1):
        for j in range(1, b + 1):
            for i in range(j):
                cost = best[g - 1][i] + (j - i) * lengths[i] ** 2
                if cost < best[g][j]:
                    best[g][j], cut[g][j] = cost, i
    g = min(range(1, max_groups + 1), key=lambda k: best[k][b])
    ends, j = [], b
    while j > 0:
        ends.append(j)
        j, g = cut[g][j], g - 1
    return ends[::-1]


def _attention_groups(
    counts: Tensor, starts: Tensor, positions: Tensor, batch_index: Tensor, max_groups: int
) -> tuple[tuple[AttentionGroup, ...], Tensor]:
    n, device = batch_index.numel(), batch_index.device
    if n == 0:
        return (), torch.zeros(0, dtype=torch.long, device=device)
    order = torch.argsort(counts, descending=True, stable=True)
    sorted_counts = counts[order].tolist()
    groups, gather = [], torch.empty(n, dtype=torch.long, device=device)
    begin, offset = 0, 0
    for end in _partition_by_length(sorted_counts, max_groups):
        pages, length = order[begin:end], sorted_counts[begin]
        pos = torch.arange(length, device=device)
        valid = pos[None, :] < counts[pages][:, None]  # [pages, length]
        rows = starts[pages][:, None] + pos[None, :]
        slots = torch.where(valid, rows, n).reshape(-1)
        gather[slots[valid.reshape(-1)]] = offset + torch.nonzero(valid.reshape(-1)).squeeze(1)
        groups.append(AttentionGroup(slots, ~valid))
        begin, offset = end, offset + slots.numel()
    return tuple(groups), gather


def packing(batch) -> Packing:
    """The batch's :class:`Packing` (node order = packed order)."""
    return Packing.from_batch(batch.batch, batch.num_graphs)
