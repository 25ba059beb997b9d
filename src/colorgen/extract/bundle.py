"""Per-page files, written AND read here: the bundle re-rendering needs, and the staged record that makes runs resumable.

Bundle ``<out>/pages/<page id>/``: ``selectors.txt`` (line i = unique selector of element i),
``page.json`` (source path relative to the corpus, site, counts), ``elements.json`` (per-element
extras: rectangle, background-image kind, raw computed colours, text) and ``screenshot.png``.

The staged record ``<out>/staging/<page id>.json`` is written last and atomically: its presence
means the page is done, so a killed run redoes at most the pages that were in flight.
A failed page gets ``<page id>.failed.json`` instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from colorgen.data.webcolor_format import RawElement, RawPage
from colorgen.io import write_atomic

__all__ = ["write_atomic"]  # corpus.py writes failures.tsv through it

STAGING = "staging"
PAGES = "pages"


def _jsonable(obj):
    if isinstance(obj, np.ndarray | np.generic):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(obj) -> str:
    return json.dumps(obj, default=_jsonable, ensure_ascii=False, indent=1)


def page_dir(out: str | os.PathLike, page_id: str) -> Path:
    return Path(out) / PAGES / page_id


def write_bundle(out: Path, page_id: str, selectors: list[str], page_meta: dict, extras: list[dict], screenshot: bytes) -> None:
    d = page_dir(out, page_id)
    write_atomic(d / "selectors.txt", "\n".join(selectors) + "\n")
    write_atomic(d / "page.json", dumps(page_meta))
    write_atomic(d / "elements.json", dumps(extras))
    write_atomic(d / "screenshot.png", screenshot)


@dataclass(frozen=True)
class PageBundle:
    """What extraction kept of one page: where its HTML is and how to address its elements."""

    page_id: str
    dir: Path
    source: str  # HTML path relative to the corpus root (what the static server serves)
    selectors: tuple[str, ...]  # element i <-> selectors[i]

    @property
    def screenshot(self) -> Path:
        """The first-screen PNG taken at extraction (the page as extracted)."""
        return self.dir / "screenshot.png"


def read_selectors(bundle: str | os.PathLike) -> tuple[str, ...]:
    """One selector per line, line i = element i."""
    lines = (Path(bundle) / "selectors.txt").read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line.strip())


def load_bundle(root: str | os.PathLike, page_id: str) -> PageBundle:
    """Read ``<root>/pages/<page_id>/{page.json,selectors.txt}``; a clear error when absent."""
    d = page_dir(root, page_id)
    meta_path, sel_path = d / "page.json", d / "selectors.txt"
    if not meta_path.is_file() or not sel_path.is_file():
        raise FileNotFoundError(
            f"page {page_id!r} has no extracted bundle under {d} (page.json + selectors.txt); "
            "visual metrics and colorize need pages extracted by colorgen.extract"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    source = meta.get("source") or meta.get("path")
    if not source:
        raise ValueError(f"{meta_path} names no source page ('source' or 'path')")
    return PageBundle(page_id=page_id, dir=d, source=str(source), selectors=read_selectors(d))


def staged_path(out: Path, page_id: str, failed: bool = False) -> Path:
    return out / STAGING / (f"{page_id}.failed.json" if failed else f"{page_id}.json")


def write_record(out: Path, page: RawPage, meta: dict) -> None:
    """The done-marker: the page's elements plus the stats the report needs."""
    rec = {"page_id": page.page_id, "elements": [asdict(e) for e in page.elements], "meta": meta}
    write_atomic(staged_path(out, page.page_id), dumps(rec))


def write_failure(out: Path, page_id: str, source: str, reason: str) -> None:
    write_atomic(staged_path(out, page_id, failed=True), dumps({"page_id": page_id, "source": source, "reason": reason}))


def read_record(out: Path, page_id: str) -> tuple[RawPage, dict]:
    """A staged page and its meta. Records staged before ``bg_layer`` existed take it from the
    page bundle's ``elements.json`` (its ``background_image`` kind), so assembling again needs
    no browser."""
    rec = json.loads(staged_path(out, page_id).read_text())
    page = RawPage(rec["page_id"], [RawElement(**e) for e in rec["elements"]])
    if page.elements and all("bg_layer" not in e for e in rec["elements"]):
        extras_path = page_dir(out, page_id) / "elements.json"
        if extras_path.is_file():
            extras = json.loads(extras_path.read_text(encoding="utf-8"))
            if len(extras) != len(page.elements):
                raise ValueError(f"{extras_path}: {len(extras)} elements, the staged record has {len(page.elements)}")
            for el, ex in zip(page.elements, extras, strict=True):
                el.bg_layer = ex["background_image"] != "none"
    return page, rec["meta"]


def read_failure(out: Path, page_id: str) -> dict:
    return json.loads(staged_path(out, page_id, failed=True).read_text())
