"""Splits of a WebColor-format dataset as in-memory PyG datasets, with a processed cache.

Reading tens of thousands of pages from HDF5 is slow (one dataset per element), so each split
is converted once and saved collated (one file per split). The cache key holds the source
files' size and mtime and the processing version: change either and the split is rebuilt.
Caches are written to a temp file and renamed, so a killed run never leaves one that loads wrong.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch_geometric.data import Data, InMemoryDataset

from colorgen.io import torch_save_atomic

from .graph import PROCESSING_VERSION, page_to_data
from .webcolor_format import SPLITS, check_split_ids, read_pages, read_split

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataFiles:
    """Where one dataset lives; built from the Hydra `data` group."""

    name: str
    hdf5: Path
    split_file: Path
    cache_dir: Path

    @classmethod
    def from_cfg(cls, cfg: Mapping) -> DataFiles:
        root = Path(str(cfg["root"]))
        cache = cfg.get("cache_dir") or root / "cache"
        return cls(
            name=str(cfg["name"]),
            hdf5=root / str(cfg["hdf5"]),
            split_file=root / str(cfg["split_file"]),
            cache_dir=Path(str(cache)),
        )


class GraphList(InMemoryDataset):
    """A collated list of page graphs (what the cache stores); indexable, works with DataLoader."""

    def __init__(self, data_list: list[Data] | None = None, collated: tuple | None = None):
        super().__init__(root=None)
        if collated is None:
            if not data_list:  # an empty split (e.g. no validation sites) is valid
                self.data, self.slices, self._empty = Data(), {}, True
                return
            collated = self.collate(data_list)
        self.data, self.slices = collated
        self._empty = False

    def len(self) -> int:
        return 0 if self._empty else super().len()

    @property
    def page_ids(self) -> list[str]:
        return list(self._data.page_id) if len(self) else []


def _fingerprint(files: DataFiles, split: str) -> str:
    parts = [f"v{PROCESSING_VERSION}", split]
    for p in (files.hdf5, files.split_file):
        st = p.stat()
        parts.append(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def cache_path(files: DataFiles, split: str) -> Path:
    return files.cache_dir / f"{files.name}_{split}.pt"


def _load_half(files: DataFiles, split: str, splits: dict[str, list[str]] | None) -> GraphList:
    path = cache_path(files, split)
    key = _fingerprint(files, split)
    if path.is_file():
        try:
            blob = torch.load(path, weights_only=False)
            if blob.get("key") == key:
                return GraphList(collated=(blob["data"], blob["slices"]))
            log.info("cache %s is stale (source or processing changed): rebuilding", path)
        except Exception as err:  # unreadable cache: rebuild rather than fail
            log.warning("cache %s unreadable (%s): rebuilding", path, err)
    splits = splits or read_split(files.split_file)
    check_split_ids(files.hdf5, {split: splits[split]})
    is_test2 = split == "test2"
    graphs = [page_to_data(p, is_test2) for p in read_pages(files.hdf5, splits[split])]
    ds = GraphList(graphs)
    try:
        torch_save_atomic({"key": key, "data": ds._data, "slices": ds.slices, "pages": len(graphs)}, path)
    except OSError as err:  # a read-only data folder (e.g. a shared fixture): work uncached
        log.warning("cannot write the cache %s (%s): %s pages processed without caching; "
                    "set data.cache_dir to a writable folder", path, err, split)
        return ds
    log.info("cached %d %s pages of %s at %s", len(graphs), split, files.name, path)
    return ds


def load_split(data_cfg: Mapping, split: str) -> GraphList:
    """Pages of one split: train / val / test1 / test2, or test = test1 then test2."""
    files = DataFiles.from_cfg(data_cfg)
    for p in (files.hdf5, files.split_file):
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found (data={files.name}); build or point data.root at it")
    if split == "test":
        splits = read_split(files.split_file)
        halves = [_load_half(files, s, splits) for s in ("test1", "test2")]
        return GraphList([g for h in halves for g in h])
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS + ('test',)}")
    return _load_half(files, split, None)


def split_sizes(split_file: str | os.PathLike) -> dict[str, int]:
    return {k: len(v) for k, v in json.loads(Path(split_file).read_text()).items()}
