"""Low-level text and image features exactly as FORMAT.md lays them out.

Raster images are read from their real bytes (the corpus file the page loaded, or a ``data:``
URI) with Pillow, so the number of bands is the file's own. SVG cannot be decoded by Pillow;
it is rasterised by the browser (see ``raster.js``) and summarised with the same layout.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
from PIL import Image

from colorgen.data.webcolor_format import IMG_FEAT_DIM, TEXT_FEAT_DIM

log = logging.getLogger(__name__)

_MAX_PIXELS = 1024 * 1024  # statistics of bigger images are taken on a downscaled copy


def text_feat(pieces: Sequence[str], from_pseudo: bool) -> list[float]:
    """``[pieces, words, isalpha … isupper, from_pseudo]`` over the pieces joined by one space."""
    text = " ".join(pieces)
    flags = (
        text.isalpha(), text.isascii(), text.isdecimal(), text.islower(), text.isnumeric(),
        text.isprintable(), text.isspace(), text.istitle(), text.isupper(),
    )
    feat = [float(len(pieces)), float(len(text.split()))] + [float(f) for f in flags] + [float(bool(from_pseudo))]
    assert len(feat) == TEXT_FEAT_DIM
    return feat


def font_size(item: dict) -> float | None:
    """Computed font size in CSS px of an element read by ``dom.js``; ``None`` when unreadable.

    Why: WCAG's "large text" (>= 24 px, or >= 18.66 px bold) only needs 3:1 instead of 4.5:1.
    """
    size = item.get("font_size")
    return float(size) if isinstance(size, int | float) and size > 0 else None


def font_weight(item: dict) -> int | None:
    """Computed numeric font weight (400 normal, 700 bold); ``None`` when unreadable."""
    weight = item.get("font_weight")
    return int(weight) if isinstance(weight, int | float) and 1 <= weight <= 1000 else None


def image_feat(is_svg: bool, width: int, height: int, bands: int, means: Sequence[float], stds: Sequence[float]) -> list[float]:
    """``[is_svg, w, h, bands, w/h, mean RGBA, std RGBA]`` (means/stds of RGBA in [0, 1])."""
    feat = [float(is_svg), float(width), float(height), float(bands), float(width) / float(height) if height else 0.0]
    feat += [float(v) for v in means] + [float(v) for v in stds]
    assert len(feat) == IMG_FEAT_DIM
    return feat


def is_svg_bytes(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head) or b"<svg" in head[:512]


def raster_feat(data: bytes) -> list[float] | None:
    """Features of a raster image file's pixels; None if Pillow cannot decode it (or it is SVG)."""
    if is_svg_bytes(data):
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.seek(0)
            width, height = im.size
            bands = len(im.getbands())
            rgba = im.convert("RGBA")
    except Exception as err:  # broken / unsupported files are "not readable", not fatal
        log.debug("undecodable image (%s)", err)
        return None
    if width == 0 or height == 0:
        return None
    if width * height > _MAX_PIXELS:
        scale = (_MAX_PIXELS / (width * height)) ** 0.5
        rgba = rgba.resize((max(1, int(width * scale)), max(1, int(height * scale))), Image.Resampling.NEAREST)
    arr = np.asarray(rgba, dtype=np.float64).reshape(-1, 4) / 255.0
    return image_feat(False, width, height, bands, arr.mean(0), arr.std(0))


def local_bytes(url: str, origin: str, root: Path) -> bytes | None:
    """Bytes of a URL the page could load offline: our own origin (a file under ``root``) or data:."""
    if url.startswith("data:"):
        head, _, payload = url.partition(",")
        try:
            return base64.b64decode(payload) if head.endswith(";base64") else unquote(payload).encode("utf-8")
        except ValueError:
            return None
    if not url.startswith(origin + "/"):
        return None
    path = unquote(urlsplit(url).path).lstrip("/")
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return _read_cached(str(target), target.stat().st_mtime_ns)


@lru_cache(maxsize=512)
def _read_cached(path: str, mtime_ns: int) -> bytes:  # pages of one site share their images
    with open(path, "rb") as f:
        return f.read()


def first_url(background_image: str) -> str | None:
    """The first ``url(...)`` of a computed ``background-image`` (absolute after computation)."""
    i = background_image.find("url(")
    if i < 0:
        return None
    rest = background_image[i + 4:]
    if rest[:1] in "\"'":
        q = rest[0]
        j = rest.find(q, 1)
        return rest[1:j] if j > 0 else None
    j = rest.find(")")
    return rest[:j].strip() if j > 0 else None


def background_kind(background_image: str) -> str:
    """'none', 'url', 'gradient' or 'url+gradient' (recorded per element in the bundle)."""
    has_url = "url(" in background_image
    has_grad = "gradient(" in background_image
    return {(False, False): "none", (True, False): "url", (False, True): "gradient", (True, True): "url+gradient"}[
        (has_url, has_grad)
    ]
