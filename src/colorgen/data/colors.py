"""The one colour codec: computed CSS colour strings <-> (RGB class, alpha class, residuals).

Every channel v in [0, 255] falls into one of 8 bins of width 32 (``bin = v // 32``) with a
residual ``(v % 32) / 31`` in [0, 1]; alpha is first mapped to ``round(A * 255)``. The RGB
class reads the three bins as an octal number (``64 R + 8 G + B``). See FORMAT.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

NUM_RGB_CLASSES = 512
NUM_ALPHA_CLASSES = 8
BIN_WIDTH = 32

_NUM = r"\s*(-?\d+(?:\.\d+)?)\s*"
_RGB_RE = re.compile(rf"^rgb\({_NUM},{_NUM},{_NUM}\)$")
_RGBA_RE = re.compile(rf"^rgba\({_NUM},{_NUM},{_NUM},{_NUM}\)$")


class ColorFormatError(ValueError):
    """A colour string is not a browser-serialised ``rgb()``/``rgba()`` value."""


@dataclass(frozen=True)
class EncodedColor:
    """A colour as the models see it: two classes and four residuals (R, G, B, A)."""

    rgb: int
    alpha: int
    residual: tuple[float, float, float, float]


def parse_color(text: str) -> tuple[int, int, int, float]:
    """Parse ``rgb(R, G, B)`` / ``rgba(R, G, B, A)`` into integer channels and a float alpha."""
    if not isinstance(text, str):
        raise ColorFormatError(f"colour must be a string, got {type(text).__name__}: {text!r}")
    s = text.strip()
    m = _RGB_RE.match(s)
    if m:
        parts, alpha = m.groups(), 1.0
    else:
        m = _RGBA_RE.match(s)
        if not m:
            raise ColorFormatError(f"malformed colour string {text!r}: expected 'rgb(R, G, B)' or 'rgba(R, G, B, A)'")
        *parts, a = m.groups()
        alpha = float(a)
    channels = []
    for p in parts:
        v = float(p)
        if v != int(v) or not 0 <= v <= 255:
            raise ColorFormatError(f"bad channel {p!r} in colour string {text!r}: channels are integers 0-255")
        channels.append(int(v))
    if not 0.0 <= alpha <= 1.0:
        raise ColorFormatError(f"bad alpha {alpha!r} in colour string {text!r}: alpha lies in [0, 1]")
    r, g, b = channels
    return r, g, b, alpha


def _bin_residual(v: int) -> tuple[int, float]:
    return v // BIN_WIDTH, (v % BIN_WIDTH) / (BIN_WIDTH - 1)


def encode_rgba(r: int, g: int, b: int, alpha: float) -> EncodedColor:
    """Encode integer channels and alpha in [0, 1]."""
    a255 = int(round(alpha * 255))
    (br, rr), (bg, rg), (bb, rb), (ba, ra) = (_bin_residual(v) for v in (r, g, b, a255))
    return EncodedColor(rgb=64 * br + 8 * bg + bb, alpha=ba, residual=(rr, rg, rb, ra))


def encode_color(text: str) -> EncodedColor:
    """Encode a computed colour string; raises :class:`ColorFormatError` naming the string."""
    return encode_rgba(*parse_color(text))


def rgb_class_bins(rgb: np.ndarray | int) -> np.ndarray:
    """Split RGB classes into their three channel bins, shape ``[..., 3]``."""
    rgb = np.asarray(rgb)
    return np.stack([rgb // 64, (rgb // 8) % 8, rgb % 8], axis=-1)


def decode_to_values(rgb: np.ndarray, alpha: np.ndarray, residual: np.ndarray | None = None) -> np.ndarray:
    """Classes (+ residuals in [0, 1], default bin centre-ish 0.5) -> integer RGBA in 0-255, shape ``[..., 4]``."""
    bins = np.concatenate([rgb_class_bins(rgb), np.asarray(alpha)[..., None]], axis=-1).astype(np.float64)
    res = np.full(bins.shape, 0.5) if residual is None else np.clip(np.asarray(residual, dtype=np.float64), 0, 1)
    return np.rint(BIN_WIDTH * bins + (BIN_WIDTH - 1) * res).astype(np.int64)


def format_rgba(values: np.ndarray | tuple[int, int, int, int]) -> str:
    """Integer RGBA (alpha in 0-255) -> CSS string; alpha as value/255 with 4 decimals."""
    r, g, b, a = (int(v) for v in values)
    if a >= 255:
        return f"rgb({r}, {g}, {b})"
    return f"rgba({r}, {g}, {b}, {round(a / 255, 4):g})"


def decode_color(rgb: int, alpha: int, residual: tuple[float, float, float, float] | None = None) -> str:
    """Classes + residuals -> CSS colour string (the inverse of :func:`encode_color`)."""
    return format_rgba(decode_to_values(np.asarray(rgb), np.asarray(alpha), None if residual is None else np.asarray(residual)))
