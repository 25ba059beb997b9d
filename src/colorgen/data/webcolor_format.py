"""The official WebColor v1.1 file pair: one HDF5 group per page, one scalar dataset per element.

This module is the only place that knows the on-disk layout (FORMAT.md); extraction writes
through it and the dataset reads through it, so files we make load exactly like published ones.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from colorgen.io import replacing, write_atomic

MAX_ELEMENTS = 200  # the models' order embedding has 200 rows; also bounds sibling order
TEXT_FEAT_DIM = 12
IMG_FEAT_DIM = 13
SPLITS = ("train", "val", "test1", "test2")


class DataValidationError(ValueError):
    """A page or split file breaks the WebColor format; the message names page and element."""


@dataclass
class RawElement:
    """One element exactly as stored: parent id plus the dataset attributes."""

    parent: int
    html_tag: str
    sibling_order: int
    background_color: str
    text_color: str | None = None
    text_feat: Sequence[float] | None = None
    img_feat: Sequence[float] | None = None
    bgimg_feat: Sequence[float] | None = None
    # optional extras, not in the published files (FORMAT.md): the text's computed font size in
    # CSS px and numeric weight, so the contrast model knows WCAG "large text". Files without them
    # load unchanged; readers then treat all text as normal size (the stricter 4.5:1 at AA).
    font_size: float | None = None
    font_weight: int | None = None
    # the element's border box on the extraction's screen, CSS px [left, top, width, height], so
    # the contrast model knows what lies behind it on screen (optional as well)
    box: Sequence[float] | None = None
    # the element painted right below it at its box's centre (an element id of the page; -1 = none known)
    behind: int | None = None
    # the element paints a background-image layer (a url, loaded or not, or a gradient) over its
    # background colour: text seen on it is on no colour a model decides (axe-core: "incomplete")
    bg_layer: bool | None = None
    # text elements: the elements painted below the text at its first line box's centre, topmost
    # first (element ids of the page, its own descendants left out), as axe-core stacks backgrounds there
    stack: Sequence[int] | None = None
    # CSS opacity, as axe-core reads it: the element's own (its background's alpha is multiplied by
    # it) and, for text elements, the product of its own and its ancestors' (the text's alpha)
    opacity: float | None = None
    text_opacity: float | None = None


@dataclass
class RawPage:
    page_id: str
    elements: list[RawElement] = field(default_factory=list)


def write_webcolor(h5_path: str | os.PathLike, pages: Iterable[RawPage]) -> int:
    """Write pages in the official layout, atomically (temp file + rename). Returns the page count."""
    n = 0
    with replacing(h5_path) as tmp, h5py.File(tmp, "w") as f:
        for page in pages:
            g = f.create_group(page.page_id)
            for i, el in enumerate(page.elements):
                d = g.create_dataset(str(i), data=np.int64(el.parent))
                d.attrs["background_color"] = el.background_color
                d.attrs["sibling_order"] = np.int64(el.sibling_order)
                d.attrs["html_tag"] = el.html_tag
                if el.text_color is not None:
                    d.attrs["text_color"] = el.text_color
                for key in ("text_feat", "img_feat", "bgimg_feat"):
                    value = getattr(el, key)
                    if value is not None:
                        d.attrs[key] = np.asarray(value, dtype=np.float32)
                if el.font_size is not None:
                    d.attrs["font_size"] = np.float32(el.font_size)
                if el.font_weight is not None:
                    d.attrs["font_weight"] = np.int64(el.font_weight)
                if el.box is not None:
                    d.attrs["box"] = np.asarray(el.box, dtype=np.float32)
                if el.behind is not None:
                    d.attrs["behind"] = np.int64(el.behind)
                if el.bg_layer is not None:
                    d.attrs["bg_layer"] = np.bool_(el.bg_layer)
                if el.stack is not None:
                    d.attrs["stack"] = np.asarray(el.stack, dtype=np.int64).reshape(-1)
                for key in ("opacity", "text_opacity"):
                    value = getattr(el, key)
                    if value is not None:
                        d.attrs[key] = np.float32(value)
            n += 1
    return n


def write_split(split_path: str | os.PathLike, splits: dict[str, list[str]]) -> None:
    """Write the split JSON atomically."""
    write_atomic(split_path, json.dumps({k: list(v) for k, v in splits.items()}))


def read_split(split_path: str | os.PathLike) -> dict[str, list[str]]:
    path = Path(split_path)
    if not path.is_file():
        raise FileNotFoundError(f"split file not found: {path}")
    splits = json.loads(path.read_text())
    missing = [s for s in SPLITS if s not in splits]
    if missing:
        raise DataValidationError(f"split file {path} lacks splits {missing}; it has {sorted(splits)}")
    return splits


def _attr_str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_page(group: h5py.Group) -> RawPage:
    """Read one page group; element ids must be dense 0..N-1."""
    page_id = group.name.lstrip("/")
    n = len(group)
    elements: list[RawElement] = []
    for i in range(n):
        key = str(i)
        if key not in group:
            raise DataValidationError(f"page {page_id!r}: element ids are not dense 0..{n - 1} (missing {key!r})")
        d = group[key]
        a = d.attrs
        for required in ("background_color", "sibling_order", "html_tag"):
            if required not in a:
                raise DataValidationError(f"page {page_id!r} element {i}: missing attribute {required!r}")
        elements.append(
            RawElement(
                parent=int(d[()]),
                html_tag=_attr_str(a["html_tag"]).lower(),
                sibling_order=int(a["sibling_order"]),
                background_color=_attr_str(a["background_color"]),
                text_color=_attr_str(a["text_color"]) if "text_color" in a else None,
                text_feat=np.asarray(a["text_feat"], dtype=np.float32) if "text_feat" in a else None,
                img_feat=np.asarray(a["img_feat"], dtype=np.float32) if "img_feat" in a else None,
                bgimg_feat=np.asarray(a["bgimg_feat"], dtype=np.float32) if "bgimg_feat" in a else None,
                font_size=float(a["font_size"]) if "font_size" in a else None,
                font_weight=int(a["font_weight"]) if "font_weight" in a else None,
                box=np.asarray(a["box"], dtype=np.float32) if "box" in a else None,
                behind=int(a["behind"]) if "behind" in a else None,
                bg_layer=bool(a["bg_layer"]) if "bg_layer" in a else None,
                stack=[int(v) for v in np.asarray(a["stack"]).reshape(-1)] if "stack" in a else None,
                opacity=float(a["opacity"]) if "opacity" in a else None,
                text_opacity=float(a["text_opacity"]) if "text_opacity" in a else None,
            )
        )
    return RawPage(page_id=page_id, elements=elements)


def read_pages(h5_path: str | os.PathLike, page_ids: Iterable[str] | None = None) -> Iterator[RawPage]:
    """Yield pages (all, or the given ids in that order); a missing id is a clear error."""
    path = Path(h5_path)
    if not path.is_file():
        raise FileNotFoundError(f"WebColor HDF5 file not found: {path}")
    with h5py.File(path, "r") as f:
        ids = list(f.keys()) if page_ids is None else list(page_ids)
        for pid in ids:
            if pid not in f:
                raise DataValidationError(f"page {pid!r} is listed in the split file but missing from {path}")
            yield read_page(f[pid])


def check_split_ids(h5_path: str | os.PathLike, splits: dict[str, list[str]]) -> None:
    """Raise if any split id is absent from the HDF5 file (before any expensive processing)."""
    with h5py.File(h5_path, "r") as f:
        present = set(f.keys())
    for name, ids in splits.items():
        missing = [i for i in ids if i not in present]
        if missing:
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise DataValidationError(f"split {name!r}: {len(missing)} page ids missing from {h5_path}: {missing[:5]}{more}")
