"""Screenshots side by side with labels: how people actually judge a colouring.

A sheet is a grid: one row per page, one column per colouring (original, samples, models);
each cell is a (scaled) screenshot with its label above it. Missing cells (a page that failed
to render) are drawn as a grey box, so the grid stays aligned.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from colorgen.io import write_atomic

Cell = tuple[str, "str | os.PathLike | Image.Image | None"]

_FONTS = ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "LiberationSans-Regular.ttf")


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for name in _FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _open(img: str | os.PathLike | Image.Image | None) -> Image.Image | None:
    if img is None:
        return None
    if isinstance(img, Image.Image):
        return img.convert("RGB")
    path = Path(img)
    if not path.is_file():
        return None
    with Image.open(path) as im:
        return im.convert("RGB")


def _fit(text: str, font, width: int, draw: ImageDraw.ImageDraw) -> str:
    """Shorten a label with an ellipsis until it fits the cell width."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def contact_sheet(
    rows: Sequence[Sequence[Cell]],
    cell_size: tuple[int, int] = (188, 406),
    title: str | None = None,
    row_labels: Sequence[str] | None = None,
    pad: int = 8,
    font_size: int = 13,
) -> Image.Image:
    """Lay out ``rows`` of ``(label, image or path)`` cells as one labelled image (labels may
    hold several lines, each shortened to the cell width)."""
    if not rows or not any(rows):
        raise ValueError("a contact sheet needs at least one image")
    cw, ch = cell_size
    font = _font(font_size)
    line = font_size + 6
    n_lines = max(label.count("\n") + 1 for row in rows for label, _ in row)
    head = n_lines * line  # label lines above every cell
    cols = max(len(r) for r in rows)
    top = (line + pad) if title else 0
    left = 0
    if row_labels:
        probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        left = min(220, math.ceil(max(probe.textlength(s, font=font) for s in row_labels)) + 3 * pad)
    row_h = head + ch + pad
    sheet = Image.new("RGB", (left + pad + cols * (cw + pad), top + pad + len(rows) * row_h), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, pad), _fit(title, font, sheet.width - 2 * pad, draw), fill="black", font=font)
    for r, row in enumerate(rows):
        y = top + pad + r * row_h
        if row_labels:
            draw.text((pad, y + head + ch // 2), _fit(row_labels[r], font, left - 2 * pad, draw), fill="black", font=font)
        for c, (label, img) in enumerate(row):
            x = left + pad + c * (cw + pad)
            for j, text in enumerate(label.split("\n")):
                draw.text((x, y + j * line), _fit(text, font, cw, draw), fill="black", font=font)
            im = _open(img)
            box = (x, y + head, x + cw - 1, y + head + ch - 1)
            if im is None:
                draw.rectangle(box, fill=(200, 200, 200), outline=(120, 120, 120))
                draw.text((x + 6, y + head + 6), "not rendered", fill="black", font=font)
                continue
            im.thumbnail((cw, ch), Image.Resampling.LANCZOS)
            sheet.paste(im, (x, y + head))
            draw.rectangle(box, outline=(160, 160, 160))
    return sheet


def save_contact_sheet(path: str | os.PathLike, rows: Sequence[Sequence[Cell]], **kw) -> Path:
    """Render and write a sheet as PNG (atomically); returns the path."""
    buf = io.BytesIO()
    contact_sheet(rows, **kw).save(buf, format="PNG", optimize=True)
    path = Path(path)
    write_atomic(path, buf.getvalue())
    return path
