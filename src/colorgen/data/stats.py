"""`python -m colorgen.data.stats data=...`: dataset statistics as one JSON object on stdout."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping

import hydra
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from .dataset import load_split
from .tags import tag_vocabulary
from .webcolor_format import SPLITS

log = logging.getLogger("colorgen.data.stats")


def _top(values: torch.Tensor, k: int) -> list[list[int]]:
    counts = torch.bincount(values)
    top = torch.argsort(counts, descending=True, stable=True)[:k]
    return [[int(c), int(counts[c])] for c in top if counts[c] > 0]


def split_stats(ds, top_k: int = 10) -> dict:
    """Counts, element-count quantiles, most frequent colour classes and tag counts of one split."""
    if len(ds) == 0:
        return {"pages": 0, "elements": 0, "text_elements": 0}
    d = ds._data
    sizes = np.diff(ds.slices["order"].numpy())
    has_text = d.has_text
    names = [*tag_vocabulary(), "<unknown>"]
    tag_counts = torch.bincount(d.tag, minlength=len(names))
    return {
        "pages": len(ds),
        "elements": int(sizes.sum()),
        "text_elements": int(has_text.sum()),
        "image_elements": int((d.img_feat.abs().sum(1) > 0).sum()),
        "elements_per_page": {f"q{int(q * 100)}": float(np.quantile(sizes, q)) for q in (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)},
        "elements_per_page_mean": float(sizes.mean()),
        "top_text_rgb": _top(d.text_rgb[has_text], top_k),
        "top_text_alpha": _top(d.text_alpha[has_text], top_k),
        "top_bg_rgb": _top(d.bg_rgb, top_k),
        "top_bg_alpha": _top(d.bg_alpha, top_k),
        "tags": {names[i]: int(c) for i, c in sorted(enumerate(tag_counts.tolist()), key=lambda x: -x[1]) if c},
    }


def dataset_stats(data_cfg: Mapping, top_k: int = 10) -> dict:
    splits = {s: split_stats(load_split(data_cfg, s), top_k) for s in SPLITS}
    return {
        "data": str(data_cfg["name"]),
        "splits": splits,
        "total": {k: sum(s.get(k, 0) for s in splits.values()) for k in ("pages", "elements", "text_elements")},
    }


@hydra.main(config_path="../../../conf", config_name="stats", version_base="1.3")
def main(cfg: DictConfig) -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    data_cfg = OmegaConf.to_container(cfg.data, resolve=True)
    data_cfg["root"] = hydra.utils.to_absolute_path(data_cfg["root"])
    data_cfg["cache_dir"] = hydra.utils.to_absolute_path(data_cfg["cache_dir"])
    json.dump(dataset_stats(data_cfg, cfg.top_k), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
