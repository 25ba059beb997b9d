"""``data=all``: several extracted datasets merged into one WebColor file pair.

Why a merged file, not a list of files: every reader (dataset, eval, render) already takes one
HDF5 + one split file, so the union is just another dataset. The rule that keeps tables
comparable: the *reference* part (the first present, ``data=webpages``) keeps its split exactly,
so test1/test2 of ``data=all`` are the very same page ids as in ``data=webpages``. Other parts
were split by design when extracted (site = design); their train/val pages keep their split and
their test pages join train (their designs share nothing with the reference's test designs, so
no design straddles the reference test split, and every union test page is a reference page).

``python -m colorgen.data.union <out dir> <part.hdf5> [<part.hdf5> ...]`` (missing parts are skipped).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py

from .webcolor_format import SPLITS, write_split

OTHER_TEST_TO = "train"  # where test pages of non-reference parts go


def split_file_of(hdf5: Path) -> Path:
    """``.../webcolor_<name>.hdf5`` -> ``.../webcolor_split_<name>.json`` (extraction's naming)."""
    name = hdf5.stem.removeprefix("webcolor_")
    return hdf5.with_name(f"webcolor_split_{name}.json")


def union_splits(part_splits: Sequence[dict[str, list[str]]]) -> tuple[dict[str, list[str]], list[int]]:
    """Merged split and, per page in order, the part it comes from. Part 0 is the reference."""
    merged: dict[str, list[str]] = {s: [] for s in SPLITS}
    owner: dict[str, int] = {}
    for i, splits in enumerate(part_splits):
        for split in SPLITS:
            target = split if i == 0 or split in ("train", "val") else OTHER_TEST_TO
            for pid in splits.get(split, []):
                if pid in owner:
                    raise ValueError(f"page id {pid!r} is in part {owner[pid]} and part {i}: page ids must be unique across corpora")
                owner[pid] = i
                merged[target].append(pid)
    return merged, [owner[p] for s in SPLITS for p in merged[s]]


def build_union(parts: Sequence[str | os.PathLike], out_dir: str | os.PathLike, name: str = "all") -> dict:
    """Merge the present ``parts`` (HDF5 paths; split files beside them) into
    ``<out_dir>/webcolor_<name>.hdf5`` + ``webcolor_split_<name>.json``, atomically."""
    present = [Path(p) for p in parts if Path(p).is_file()]
    if not present:
        raise FileNotFoundError(f"no dataset to merge: none of {[str(p) for p in parts]} exists (extract one first)")
    part_splits = []
    for p in present:
        sf = split_file_of(p)
        if not sf.is_file():
            raise FileNotFoundError(f"{p} has no split file {sf.name} beside it")
        part_splits.append(json.loads(sf.read_text()))
    merged, _ = union_splits(part_splits)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    h5_path = out / f"webcolor_{name}.hdf5"
    fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{h5_path.name}.", suffix=".tmp")
    os.close(fd)
    counts = []
    try:
        with h5py.File(tmp, "w") as dst:
            for p, splits in zip(present, part_splits, strict=True):
                n = 0
                with h5py.File(p, "r") as src:
                    for pid in (pid for s in SPLITS for pid in splits.get(s, [])):
                        if pid not in src:
                            raise ValueError(f"{p}: split lists page {pid!r} that the file lacks")
                        src.copy(src[pid], dst, name=pid)
                        n += 1
                counts.append(n)
        os.replace(tmp, h5_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    write_split(out / f"webcolor_split_{name}.json", merged)
    return {"hdf5": str(h5_path), "parts": {str(p): n for p, n in zip(present, counts, strict=True)},
            "splits": {k: len(v) for k, v in merged.items()}}


def build_from_data_cfg(data_cfg: Mapping) -> dict:
    """``data=all`` as configured (``parts``, ``root``, ``name``): what a pipeline step calls
    before training on ``data=all``."""
    return build_union([str(p) for p in data_cfg["parts"]], str(data_cfg["root"]), str(data_cfg.get("name", "all")))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        sys.stderr.write(__doc__ or "")
        return 2
    info = build_union(args[1:], args[0])
    sys.stdout.write(json.dumps(info, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
