"""Random page graphs shaped as docs/CONTRACTS.md describes, for the model tests.

The page builders live in ``tests/helpers/synthetic.py`` (the benchmark imports them too);
this module adds the awkward cases: single-node pages and deep chains.
"""

from __future__ import annotations

import torch
from torch_geometric.data import Batch, Data

from helpers.oracles import reference_content_encoding  # noqa: F401  (re-exported for tests)
from helpers.synthetic import (  # noqa: F401  (re-exported for tests)
    page_from_parents,
    random_page,
    random_parents,
    realistic_batch,
)


def chain_page(n: int, generator: torch.Generator, page_id: str = "chain") -> Data:
    """A deep chain: element ``i`` is the only child of ``i - 1``."""
    return page_from_parents([-1, *range(n - 1)], generator, page_id)


def single_node_page(generator: torch.Generator, page_id: str = "single") -> Data:
    return page_from_parents([-1], generator, page_id)


def star_page(n: int, generator: torch.Generator, page_id: str = "star") -> Data:
    """One root with ``n - 1`` leaf children (wide scatter-max)."""
    return page_from_parents([-1] + [0] * (n - 1), generator, page_id)


def mixed_batch(seed: int = 0, sizes: tuple[int, ...] = (7, 15, 3, 10)) -> Batch:
    """Random trees of the given sizes plus a single-node page, a deep chain and a star."""
    g = torch.Generator().manual_seed(seed)
    pages = [random_page(n, g, f"rand{i}") for i, n in enumerate(sizes)]
    pages.insert(1, single_node_page(g))
    pages.append(chain_page(25, g))
    pages.append(star_page(9, g))
    return Batch.from_data_list(pages)


def single_node_batch(seed: int = 0, pages: int = 3) -> Batch:
    """Only single-node pages (the tree has one level)."""
    g = torch.Generator().manual_seed(seed)
    return Batch.from_data_list([single_node_page(g, f"s{i}") for i in range(pages)])
