"""Test helper: write small datasets in exactly the official WebColor layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colorgen.data.tags import tag_vocabulary
from colorgen.data.webcolor_format import RawElement, RawPage, write_split, write_webcolor

PALETTE = ["rgb(255, 255, 255)", "rgb(33, 37, 41)", "rgba(0, 0, 0, 0)", "rgb(13, 110, 253)", "rgba(255, 0, 0, 0.5)"]


def random_page(rng: np.random.Generator, page_id: str, n: int) -> RawPage:
    """A random tree in pre-order (parent id < child id) with plausible attributes."""
    tags = tag_vocabulary()
    parents = [-1] + [int(rng.integers(0, i)) for i in range(1, n)]
    counts: dict[int, int] = {}
    elements = []
    for i, p in enumerate(parents):
        order = counts.get(p, 0)
        counts[p] = order + 1
        has_text = bool(rng.random() < 0.5)
        has_img = bool(rng.random() < 0.2)
        has_bgimg = bool(rng.random() < 0.1)
        elements.append(
            RawElement(
                parent=p,
                html_tag="body" if i == 0 else (str(rng.choice(tags)) if rng.random() < 0.9 else "my-widget"),
                sibling_order=order,
                background_color=str(rng.choice(PALETTE)),
                text_color=str(rng.choice(PALETTE[:2] + PALETTE[3:])) if has_text else None,
                text_feat=rng.random(12).astype(np.float32) if has_text else None,
                img_feat=rng.random(13).astype(np.float32) if has_img else None,
                bgimg_feat=rng.random(int(rng.choice([12, 13]))).astype(np.float32) if has_bgimg else None,
            )
        )
    return RawPage(page_id, elements)


def write_fixture_dataset(
    root: str | Path, n_pages: int = 24, seed: int = 0, max_elements: int = 30, name: str = "fixture"
) -> dict:
    """Write ``webcolor_<name>.hdf5`` + split JSON under root; return the matching `data` config dict."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    pages = [random_page(rng, f"page_{i:04d}", int(rng.integers(1, max_elements + 1))) for i in range(n_pages)]
    write_webcolor(root / f"webcolor_{name}.hdf5", pages)
    ids = [p.page_id for p in pages]
    q = max(1, n_pages // 6)
    splits = {"train": ids[: n_pages - 3 * q], "val": ids[n_pages - 3 * q : n_pages - 2 * q],
              "test1": ids[n_pages - 2 * q : n_pages - q], "test2": ids[n_pages - q :]}
    write_split(root / f"webcolor_split_{name}.json", splits)
    return {"name": name, "root": str(root), "hdf5": f"webcolor_{name}.hdf5",
            "split_file": f"webcolor_split_{name}.json", "cache_dir": str(root / "cache"), "pages": pages}
