"""Colour classes (+ residuals) -> one stylesheet per page, addressed by the extracted selectors.

Why here: generated colours arrive as flat node-aligned arrays (``Generated``) or as a model's
``Colors``; a page is re-coloured by a stylesheet of ``selector { background-color; color }``
rules built with :func:`colorgen.browser.apply_colors_css` (the one rule that wins over the
page's CSS, shared with extraction's fidelity check). Values come from the one colour codec.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from colorgen.browser import apply_colors_css
from colorgen.data.colors import NUM_ALPHA_CLASSES, decode_to_values, format_rgba

# bump when the way pages are re-coloured or shot changes: cached renders are then ignored
RENDER_VERSION = 2  # 2: audits count 1:1 (invisible) text
COLOR_KEYS = ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha")


def default_residuals(alpha: np.ndarray) -> np.ndarray:
    """Residuals when no upsampler ran: bin centres, except that the extreme alpha bins mean
    fully transparent / fully opaque (by far their most common values) rather than 6% / 94%."""
    alpha = np.asarray(alpha)
    res = np.full((*alpha.shape, 4), 0.5)
    res[..., 3] = np.select([alpha == 0, alpha == NUM_ALPHA_CLASSES - 1], [0.0, 1.0], 0.5)
    return res


def color_strings(rgb: np.ndarray, alpha: np.ndarray, residual: np.ndarray | None) -> list[str]:
    """CSS colour strings for classes + residuals (``None``: :func:`default_residuals`), via the codec."""
    if residual is None:
        residual = default_residuals(alpha)
    values = decode_to_values(np.asarray(rgb), np.asarray(alpha), residual)
    return [format_rgba(v) for v in values]


@dataclass(frozen=True)
class PageColors:
    """One page's colours, element-aligned; residuals ``None`` when no upsampler ran."""

    has_text: np.ndarray  # [n] bool
    text_rgb: np.ndarray
    text_alpha: np.ndarray
    bg_rgb: np.ndarray
    bg_alpha: np.ndarray
    text_res: np.ndarray | None = None  # [n, 4]
    bg_res: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.has_text)

    @classmethod
    def from_arrays(cls, has_text: np.ndarray, arrays: dict[str, np.ndarray]) -> PageColors:
        return cls(
            has_text=np.asarray(has_text, dtype=bool),
            **{k: np.asarray(arrays[k]) for k in COLOR_KEYS},
            text_res=None if arrays.get("text_res") is None else np.asarray(arrays["text_res"]),
            bg_res=None if arrays.get("bg_res") is None else np.asarray(arrays["bg_res"]),
        )

    def css_values(self) -> tuple[list[str | None], list[str]]:
        """(text colours, ``None`` for non-text elements; background colours)."""
        text = color_strings(self.text_rgb, self.text_alpha, self.text_res)
        bg = color_strings(self.bg_rgb, self.bg_alpha, self.bg_res)
        return [t if h else None for t, h in zip(text, self.has_text.tolist(), strict=True)], bg


def page_css(selectors: Sequence[str], colors: PageColors, page_id: str = "?") -> str:
    """The stylesheet that gives every extracted element its colours."""
    if len(selectors) != len(colors):
        raise ValueError(
            f"page {page_id!r}: {len(selectors)} recorded selectors but {len(colors)} coloured elements; "
            "the dataset and the page bundle disagree (re-extract?)"
        )
    text, bg = colors.css_values()
    return apply_colors_css(list(selectors), bg, text)


def split_pages(page: np.ndarray, has_text: np.ndarray, arrays: dict[str, np.ndarray], n_pages: int) -> list[PageColors]:
    """Flat node-aligned arrays (nodes of one page contiguous, in element order) -> per-page colours."""
    page = np.asarray(page)
    if len(page) and np.any(np.diff(page) < 0):
        raise ValueError("nodes must be grouped by page in ascending page order")
    bounds = np.cumsum(np.bincount(page, minlength=n_pages))[:-1]
    keys = [k for k in (*COLOR_KEYS, "text_res", "bg_res") if arrays.get(k) is not None]
    parts = {k: np.split(np.asarray(arrays[k]), bounds) for k in keys}
    texts = np.split(np.asarray(has_text, dtype=bool), bounds)
    return [PageColors.from_arrays(texts[i], {k: parts[k][i] for k in keys}) for i in range(n_pages)]


def render_key(url_path: str, css: str | None, salt: str = "") -> str:
    """A short digest naming one rendering for caches: page, stylesheet, renderer version and
    ``salt`` (whatever else changes the result, e.g. browser settings)."""
    h = hashlib.sha1(f"v{RENDER_VERSION}\n{salt}\n{url_path}\n{css or ''}".encode()).hexdigest()
    return h[:16]


_HEAD_RE = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_HEAD_END_RE = re.compile(r"</head\s*>", re.IGNORECASE)


@functools.cache
def legible_rest_js() -> str:
    """``legible_rest.js``: a function of ``{level, margin}`` that makes the text no colour rule sets legible."""
    return files("colorgen.render").joinpath("legible_rest.js").read_text()


def rest_key(level: str | None) -> str:
    """What a render's cache key adds for ``legible_rest.js`` at ``level``: the level and the script's hash."""
    if level is None:
        return ""
    return f"/* rest {level} {hashlib.sha256(legible_rest_js().encode()).hexdigest()[:12]} */"


def legible_rest_args(level: str) -> dict:
    from colorgen.constrained import MARGIN  # the constraint's own safety margin

    return {"level": level, "margin": MARGIN}


def recolored_html(html: str, css: str, base_href: str | None = None, rest: str | None = None) -> str:
    """The page's HTML with the colour stylesheet inlined (and a ``<base>`` so that its relative
    CSS/images still load from the original folder when the copy is opened elsewhere); with
    ``rest`` (a contrast level) also the script that makes the other text legible once loaded."""
    if rest is not None:
        html += (f'\n<script data-colorgen="rest">addEventListener("load", () => ({legible_rest_js()})'
                 f'({json.dumps(legible_rest_args(rest))}));</script>\n')
    style = f'<style data-colorgen="colors">\n{css}</style>\n'
    base = f'<base href="{base_href}">\n' if base_href else ""
    m = _HEAD_RE.search(html)
    if m is None:  # no <head>: a browser creates one; put ours first
        return base + style + html
    html = html[: m.end()] + "\n" + base + html[m.end():]
    end = _HEAD_END_RE.search(html, m.end())
    if end is None:
        return html[: m.end()] + "\n" + style + html[m.end():]
    return html[: end.start()] + style + html[end.start():]
