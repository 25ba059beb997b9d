"""Batching: PyG's DataLoader for graphs, dense [batch, elements, ...] views for Transformers."""

from __future__ import annotations

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
