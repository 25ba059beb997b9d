"""Cheap colour-diversity numbers of an extracted dataset (issue 13's "light/dark share, accent
hues, distinct colour classes"), to compare corpora and their union without rendering anything.

- light/dark: the page background is the first opaque background from the root down (html,
  body, first full-width blocks...), white when none; dark when its relative luminance < 0.2.
- accent hue: the most frequent saturated colour (HSV s >= 0.35, v >= 0.25) among the page's
  opaque backgrounds and text colours, binned into 12 named 30-degree hues.
- colour classes: distinct 3-bit-per-channel RGB classes (the models' 512 classes) seen as
  opaque backgrounds / text over the whole dataset.

``python -m colorgen.corpus.stats <webcolor.hdf5> [...]`` prints one JSON object per file.
"""

from __future__ import annotations

import colorsys
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from colorgen.data.colors import parse_color
from colorgen.data.webcolor_format import RawPage, read_pages

HUES = ("red", "orange", "yellow", "chartreuse", "green", "spring", "cyan", "azure", "blue", "violet", "magenta", "rose")


def _luminance(r: int, g: int, b: int) -> float:
    def lin(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def _opaque(text: str | None) -> tuple[int, int, int] | None:
    if not text:
        return None
    r, g, b, a = parse_color(text)
    return (r, g, b) if a >= 0.99 else None


def page_scheme(page: RawPage) -> tuple[bool, str | None]:
    """(dark, accent hue name or None) of one page."""
    bg = next((c for c in (_opaque(e.background_color) for e in page.elements[:6]) if c), (255, 255, 255))
    colours: Counter = Counter()
    for e in page.elements:
        for c in (_opaque(e.background_color), _opaque(e.text_color)):
            if c is None:
                continue
            h, s, v = colorsys.rgb_to_hsv(*(x / 255 for x in c))
            if s >= 0.35 and v >= 0.25:
                colours[HUES[int(((h * 360) + 15) % 360 // 30)]] += 1
    return _luminance(*bg) < 0.2, (colours.most_common(1)[0][0] if colours else None)


def colour_diversity(pages: Iterable[RawPage]) -> dict:
    dark = n = 0
    accents: Counter = Counter()
    bg_classes: set[tuple[int, int, int]] = set()
    text_classes: set[tuple[int, int, int]] = set()
    for page in pages:
        n += 1
        is_dark, hue = page_scheme(page)
        dark += is_dark
        accents[hue or "none"] += 1
        for e in page.elements:
            if (c := _opaque(e.background_color)) is not None:
                bg_classes.add(tuple(x >> 5 for x in c))
            if (c := _opaque(e.text_color)) is not None:
                text_classes.add(tuple(x >> 5 for x in c))
    return {
        "pages": n,
        "dark_share": round(dark / n, 3) if n else None,
        "accent_hue_share": {k: round(v / n, 3) for k, v in accents.most_common()} if n else {},
        "background_classes": len(bg_classes),
        "text_classes": len(text_classes),
        "colour_classes": len(bg_classes | text_classes),
    }


def main(argv: Sequence[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    for p in paths:
        sys.stdout.write(json.dumps({"file": str(p), **colour_diversity(read_pages(Path(p)))}) + "\n")
    return 0 if paths else 2


if __name__ == "__main__":
    raise SystemExit(main())
