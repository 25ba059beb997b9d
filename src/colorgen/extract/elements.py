"""One opened page -> its first-screen element tree in the WebColor format, plus what re-rendering needs.

Element selection and per-element reading happen in the page (``dom.js``); this module turns
that into :class:`RawElement` rows (colours converted to the stored syntax, features
computed) and keeps the selectors, rectangles and background-image kinds for the bundle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path

from playwright.async_api import Page

from colorgen.data.webcolor_format import MAX_ELEMENTS, RawElement, RawPage

from .colors import ColorConversionError, to_rgb_string
from .features import (
    background_kind,
    first_url,
    font_size,
    font_weight,
    image_feat,
    is_svg_bytes,
    local_bytes,
    raster_feat,
    text_feat,
)

log = logging.getLogger(__name__)

RASTER_MAX_SIDE = 512


class PageSkipped(Exception):
    """The page cannot give a valid element tree; the message is the reason recorded in failures.tsv."""


@cache
def _js(name: str) -> str:
    return files("colorgen.extract").joinpath(name).read_text()


@dataclass
class Extraction:
    """Everything one page yields; ``page.elements[i]`` is described by ``selectors[i]`` / ``extras[i]``."""

    page: RawPage
    selectors: list[str]
    extras: list[dict]
    stats: dict = field(default_factory=dict)


_CANVAS_COLOR_JS = """
(colors) => {
  const cv = document.createElement('canvas'); cv.width = cv.height = 1;
  const ctx = cv.getContext('2d', {willReadFrequently: true});
  return colors.map((c) => {
    ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = 'rgba(0, 0, 0, 0)'; ctx.fillStyle = c;
    ctx.fillRect(0, 0, 1, 1); return Array.from(ctx.getImageData(0, 0, 1, 1).data);
  });
}
"""


async def convert_colors(page: Page, raw: list[str]) -> tuple[list[str], int]:
    """Convert every computed colour; ones our parser cannot read are painted by the browser instead.

    Returns the converted strings and how many needed the (alpha-quantised) canvas fallback.
    """
    out: list[str | None] = []
    unknown: dict[str, list[int]] = {}
    for i, c in enumerate(raw):
        try:
            out.append(to_rgb_string(c))
        except ColorConversionError:
            out.append(None)
            unknown.setdefault(c, []).append(i)
    if unknown:
        keys = list(unknown)
        log.warning("colours converted by canvas fallback: %s", keys[:5])
        pixels = await page.evaluate(_CANVAS_COLOR_JS, keys)
        for key, (r, g, b, a) in zip(keys, pixels, strict=True):
            s = f"rgb({r}, {g}, {b})" if a == 255 else to_rgb_string(f"rgba({r}, {g}, {b}, {a / 255:.4f})")
            for i in unknown[key]:
                out[i] = s
    return [s for s in out if s is not None], sum(len(v) for v in unknown.values())


async def extract_elements(page: Page, page_id: str, origin: str, root: Path, viewport: tuple[int, int],
                           skip_covered: bool = True) -> Extraction:
    """Read the (settled, frozen) page's first-screen tree and compute colours and features.

    ``skip_covered``: a page whose first screen is hidden by a full-screen fixed overlay with
    almost no text (a preloader whose script never ran, a stuck modal) is skipped: its
    elements are not what a visitor sees.
    """
    width, height = viewport
    dom = await page.evaluate(_js("dom.js"), {"maxElements": MAX_ELEMENTS, "width": width, "height": height})
    if dom.get("error"):
        raise PageSkipped(dom["error"])
    items = dom["elements"]
    if len(items) <= 2 or not any(it["rendered"] for it in items[2:]):
        raise PageSkipped("empty page: nothing rendered on the first screen besides html/body")
    cover = dom.get("overlay")
    if skip_covered and cover:
        name = cover["tag"] + (f"#{cover['id']}" if cover["id"] else "") + (f".{cover['cls'].split()[0]}" if cover["cls"].split() else "")
        raise PageSkipped(f"covered: full-screen overlay {name} hides {100 * cover['share']:.0f} % of the first screen")
    if dom["non_unique_selectors"]:
        raise PageSkipped(f"{dom['non_unique_selectors']} elements without a unique CSS selector")

    is_text = [bool(it["text_pieces"]) for it in items]
    raw = [it["background_color"] for it in items] + [it["color"] for it, t in zip(items, is_text, strict=True) if t]
    converted, n_fallback = await convert_colors(page, raw)
    bg = converted[: len(items)]
    fg_iter = iter(converted[len(items):])
    fg = [next(fg_iter) if t else None for t in is_text]

    img_feats, bgimg_feats, n_raster = await _image_features(page, items, origin, root)

    elements = [
        RawElement(
            parent=it["parent"],
            html_tag=it["tag"],
            sibling_order=it["sibling_order"],
            background_color=bg[i],
            text_color=fg[i],
            text_feat=text_feat(it["text_pieces"], it["text_from_pseudo"]) if is_text[i] else None,
            img_feat=img_feats[i],
            bgimg_feat=bgimg_feats[i],
            font_size=font_size(it) if is_text[i] else None,
            font_weight=font_weight(it) if is_text[i] else None,
            box=it["rect"],
            behind=it["behind"],
            bg_layer=background_kind(it["background_image"]) != "none",
            stack=it["stack"] if is_text[i] else None,
            opacity=it["opacity"],
            text_opacity=it["text_opacity"] if is_text[i] else None,
        )
        for i, it in enumerate(items)
    ]
    extras = [
        {
            "tag": it["tag"],
            "rect": it["rect"],
            "rendered": it["rendered"],
            "background_image": background_kind(it["background_image"]),
            "raw_background_color": it["background_color"],
            "raw_color": it["color"] if is_text[i] else None,
            "text": " ".join(it["text_pieces"])[:200] if is_text[i] else None,
        }
        for i, it in enumerate(items)
    ]
    stats = {
        "elements": len(elements),
        "candidates": dom["total_kept"],
        "cut": dom["cut"],
        "text_elements": sum(is_text),
        "img_feats": sum(f is not None for f in img_feats),
        "bgimg_feats": sum(f is not None for f in bgimg_feats),
        "background_images": sum(e["background_image"] != "none" for e in extras),
        "browser_rasterised": n_raster,
        "color_fallbacks": n_fallback,
        "dom": dom["counts"],
        "doc_size": [dom["doc_width"], dom["doc_height"]],
        "visual_viewport": dom["viewport"],
    }
    return Extraction(RawPage(page_id, elements), [it["selector"] for it in items], extras, stats)


async def _image_features(page: Page, items: list[dict], origin: str, root: Path):
    """img_feat / bgimg_feat per element: Pillow on the real bytes, the browser for SVG and the rest."""
    n = len(items)
    img: list[list[float] | None] = [None] * n
    bgimg: list[list[float] | None] = [None] * n
    jobs: list[dict] = []
    targets: list[tuple[list, int, bool]] = []  # (output list, element index, is_svg)

    def want(src: str, out: list, i: int) -> None:
        data = local_bytes(src, origin, root)
        feat = raster_feat(data) if data is not None else None
        if feat is not None:
            out[i] = feat
        elif data is not None or src.startswith("blob:"):
            # SVG, or a format only the browser decodes: let the browser rasterise it
            is_svg = (data is not None and is_svg_bytes(data)) or src.split("?")[0].lower().endswith(".svg")
            jobs.append({"src": src})
            targets.append((out, i, is_svg))

    for i, it in enumerate(items):
        im = it["image"]
        if im and im["kind"] == "img":
            if im["src"] and im["complete"] and im["natural_width"] > 0:
                want(im["src"], img, i)
        elif im and im["kind"] == "svg" and it["selector"]:
            jobs.append({"selector": it["selector"], "width": im["width"], "height": im["height"]})
            targets.append((img, i, True))
        url = first_url(it["background_image"]) if it["background_image"] != "none" else None
        if url:
            want(url, bgimg, i)
    if jobs:
        results = await page.evaluate(_js("raster.js"), {"jobs": jobs, "maxSide": RASTER_MAX_SIDE})
        for (out, i, is_svg), res in zip(targets, results, strict=True):
            if res is not None:
                out[i] = image_feat(is_svg, res["width"], res["height"], 4, res["means"], res["stds"])
    return img, bgimg, len(jobs)
