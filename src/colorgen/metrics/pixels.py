"""Pixel-FCD: FCD over 512-bin colour histograms of rendered screenshots.

Every pixel of a screenshot (375 × 812 in the protocol) is binned into the RGB classes
of the colour codec (``v // 32`` per channel, identical to the published
``np.digitize`` binning); alpha is dropped, as PIL's ``convert("RGB")`` does in the
published evaluation. Pixel-FCD compares test1 pages rendered with real colours with
test2 pages rendered with generated colours, in the same ×10³ unit as :func:`fcd_score`.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np

from colorgen.data.colors import BIN_WIDTH, NUM_RGB_CLASSES
from colorgen.metrics.fcd import fcd_score


def pixel_classes(image: Any) -> np.ndarray:
    """``[H, W, 3|4]`` uint8 image -> flat int64 RGB classes ``64 R' + 8 G' + B'`` per pixel."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"expected an [H, W, 3|4] image, got shape {img.shape}")
    if img.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels (0-255), got {img.dtype}")
    bins = img[..., :3].reshape(-1, 3).astype(np.int64) // BIN_WIDTH
    return 64 * bins[:, 0] + 8 * bins[:, 1] + bins[:, 2]


def pixel_histogram(image: Any) -> np.ndarray:
    """Normalised 512-bin RGB-class histogram of a screenshot, float64 ``[512]``."""
    counts = np.bincount(pixel_classes(image), minlength=NUM_RGB_CLASSES).astype(np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def load_pixel_histogram(path: str | PathLike[str]) -> np.ndarray:
    """Histogram of a screenshot file (PNG etc.), read with PIL as RGB."""
    from PIL import Image

    with Image.open(path) as im:
        return pixel_histogram(np.asarray(im.convert("RGB")))


def pixel_fcd(real_hists: Sequence[np.ndarray] | np.ndarray, fake_hists: Sequence[np.ndarray] | np.ndarray) -> float:
    """Pixel-FCD (×10³ as reported) between two collections of screenshot histograms."""
    return fcd_score(np.stack(list(real_hists)), np.stack(list(fake_hists)))
