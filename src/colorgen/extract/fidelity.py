"""The extraction's own test: re-render a page with only its extracted colours and compare.

The page is opened afresh (same settle/freeze; ``reload=False``: the page still open from the
extraction is re-coloured instead, half the browser time, but then a page that renders
differently on every load goes unnoticed), a stylesheet sets every kept element's
``background-color`` and, for text elements, ``color`` to the recorded values (winning over
the page's rules), and the first screen is compared with the original screenshot. A correct
extraction (right elements, right colours, unique selectors, deterministic rendering) changes
no pixel; what changes measures what re-rendering generated colours will get wrong.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image
from playwright.async_api import Page

from colorgen.browser import Chromium, apply_colors_css, first_screen_png, inject_css
from colorgen.data.webcolor_format import RawPage


def decode_png(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def pixel_change(a_png: bytes, b_png: bytes, tolerance: int = 0) -> dict:
    """How much two screenshots differ.

    ``changed``: share of pixels whose largest channel difference exceeds ``tolerance``;
    ``changed_any``: the same with no tolerance; ``mean_abs`` / ``max_abs``: channel differences.
    """
    a, b = decode_png(a_png), decode_png(b_png)
    if a.shape != b.shape:
        return {"changed": 1.0, "changed_any": 1.0, "mean_abs": 255.0, "max_abs": 255, "shape_mismatch": True}
    diff = np.abs(a - b)
    per_pixel = diff.max(axis=-1)
    return {
        "changed": float((per_pixel > tolerance).mean()),
        "changed_any": float((per_pixel > 0).mean()),
        "mean_abs": float(diff.mean()),
        "max_abs": int(per_pixel.max()),
    }


def ground_truth_css(page: RawPage, selectors: Sequence[str]) -> str:
    """The recolouring stylesheet for a page's own (ground-truth) colours."""
    return apply_colors_css(
        selectors,
        [e.background_color for e in page.elements],
        [e.text_color for e in page.elements],
    )


async def fidelity(chrome: Chromium, url: str, origin: str, page: RawPage, selectors: Sequence[str],
                   original_png: bytes, tolerance: int = 0) -> dict:
    """Re-render with the extracted colours only; pixel change against the original screenshot."""
    png = await chrome.screenshot(url, origin, css=ground_truth_css(page, selectors))
    return pixel_change(original_png, png, tolerance)


async def fidelity_in_page(page: Page, raw: RawPage, selectors: Sequence[str], original_png: bytes,
                           tolerance: int = 0) -> dict:
    """:func:`fidelity` on the page still open from the extraction (no second load): the
    stylesheet is injected into it and the first screen shot again."""
    await inject_css(page, ground_truth_css(raw, selectors))
    return pixel_change(original_png, await first_screen_png(page), tolerance)
