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


@dataclass(frozen=True)
class Packing:
    """Where the rows of a packed ``[N, ...]`` tensor (pages one after another) sit in ``[B, L]``.

    Why: linear layers and feed-forwards see only real elements (no padding work); only
    attention, which needs page boundaries, runs on the padded layout.
    """

    flat_index: Tensor  # [N]: b * L + position
    positions: Tensor  # [N]: position inside the page
    mask: Tensor  # [B, L]: True = element

    @classmethod
    def from_batch(cls, batch_index: Tensor, batch_size: int) -> Packing:
        """From PyG's node-to-page vector (nodes grouped by page, in element order)."""
        counts = torch.bincount(batch_index, minlength=batch_size)
        length = int(counts.max()) if batch_index.numel() else 0
        starts = torch.cumsum(counts, 0) - counts
        positions = torch.arange(batch_index.numel(), device=batch_index.device) - starts[batch_index]
        flat = batch_index * length + positions
        mask = torch.zeros(batch_size * length, dtype=torch.bool, device=batch_index.device)
        mask[flat] = True
        return cls(flat, positions, mask.view(batch_size, length))

    def pad(self, x: Tensor) -> Tensor:
        """``[N, ...] -> [B, L, ...]``, zeros at padding."""
        b, length = self.mask.shape
        out = x.new_zeros(b * length, *x.shape[1:]).index_copy(0, self.flat_index, x)
        return out.view(b, length, *x.shape[1:])

    def unpad(self, x: Tensor) -> Tensor:
        """``[B, L, ...] -> [N, ...]`` (the real elements, in node order)."""
        return x.reshape(-1, *x.shape[2:]).index_select(0, self.flat_index)


def packing(batch) -> Packing:
    """The batch's :class:`Packing` (node order = packed order)."""
    return Packing.from_batch(batch.batch, batch.num_graphs)
