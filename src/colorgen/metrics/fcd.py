"""Fréchet Colour Distance (FCD) between sets of per-page colour histograms.

Each page becomes a normalised 512-bin histogram of its RGB classes (text over text
elements, background over all elements; a page without text gives an all-zero text
histogram). A Gaussian is fitted to each set (mean, unbiased covariance, float64,
as torchmetrics 0.11's FID did for the published numbers) and the Fréchet distance
between the two Gaussians is returned.

Units. MODELS.md says FCD is "reported ×10⁻³": the column's unit is 10⁻³, so the
number shown is ``FD * 1000`` (the published ``eval.py`` prints ``score * 1e3`` followed
by "x 1e-3"). The magnitudes agree: histograms sum to 1, so the total variance of a
set and the squared mean gap are both at most ~1-2 and typical raw distances are
0.0007-0.3, i.e. the published 0.71-22.15 (BG) and 21-265 (text) after ×10³.
:func:`frechet_distance` returns the raw value; :func:`fcd_score` returns the reported value,
which is what ``metrics.json`` stores (``fcd_bg``, ``fcd_text``, ``pixel_fcd``, ...).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
from scipy import linalg

from colorgen.data.colors import NUM_RGB_CLASSES
from colorgen.metrics.classification import as_numpy

log = logging.getLogger(__name__)

FCD_REPORT_SCALE = 1e3  # reported FCD = Fréchet distance × 10³ ("×10⁻³" units)


def page_histograms(
    classes: Any,
    page_index: Any,
    num_pages: int,
    mask: Any | None = None,
    num_classes: int = NUM_RGB_CLASSES,
) -> np.ndarray:
    """Normalised class histograms per page, ``[num_pages, num_classes]`` float64.

    ``classes`` and ``page_index`` are flat, element-aligned (e.g. ``batch.batch``);
    ``mask`` keeps a subset of elements (e.g. ``has_text``). Pages with no kept element
    get an all-zero row, as in the published feature extractor.
    """
    c = as_numpy(classes).reshape(-1).astype(np.int64, copy=False)
    b = as_numpy(page_index).reshape(-1).astype(np.int64, copy=False)
    if c.shape != b.shape:
        raise ValueError(f"classes and page_index differ in size: {c.size} vs {b.size}")
    if mask is not None:
        m = as_numpy(mask).reshape(-1).astype(bool)
        c, b = c[m], b[m]
    if c.size and (c.min() < 0 or c.max() >= num_classes):
        raise ValueError(f"classes outside [0, {num_classes}): min {c.min()}, max {c.max()}")
    if b.size and (b.min() < 0 or b.max() >= num_pages):
        raise ValueError(f"page_index outside [0, {num_pages}): min {b.min()}, max {b.max()}")
    counts = np.bincount(b * num_classes + c, minlength=num_pages * num_classes)
    counts = counts.reshape(num_pages, num_classes).astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def text_bg_histograms(
    text_rgb: Any, bg_rgb: Any, has_text: Any, page_index: Any, num_pages: int
) -> tuple[np.ndarray, np.ndarray]:
    """(text, background) page histograms from flat node-aligned arrays."""
    text = page_histograms(text_rgb, page_index, num_pages, mask=has_text)
    bg = page_histograms(bg_rgb, page_index, num_pages)
    return text, bg


def gaussian_stats(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased (n - 1) covariance of ``[n, d]`` features, in float64."""
    x = as_numpy(features).astype(np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need at least two feature rows [n, d], got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_from_stats(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """``|mu1 - mu2|² + Tr(S1 + S2 - 2 (S1 S2)^½)``; eps on the diagonal if the product is singular."""
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # Colour bins no page uses make the covariances singular by design; scipy warns
        # every time. Only a non-finite root matters, and it is handled below.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            log.warning("Fréchet distance: singular covariance product; adding %g to the diagonals", eps)
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)  # numerical error can leave a tiny imaginary part
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def frechet_distance(real: Any, fake: Any) -> float:
    """Raw Fréchet distance between Gaussians fitted to two ``[n, d]`` feature sets."""
    return frechet_from_stats(*gaussian_stats(real), *gaussian_stats(fake))


def fcd_score(real_hists: Any, fake_hists: Any) -> float:
    """FCD as reported (Fréchet distance × 10³): real = test1 ground truth, fake = test2 generated."""
    return frechet_distance(real_hists, fake_hists) * FCD_REPORT_SCALE
