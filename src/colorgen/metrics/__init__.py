"""Metrics of the published protocol: accuracy / macro F-score, FCD, Pixel-FCD.

FCD values (``fcd_score``, ``pixel_fcd``) are in the reported unit, Fréchet distance × 10³;
see :mod:`colorgen.metrics.fcd`.
"""

from colorgen.metrics.classification import (
    accuracy,
    classification_scores,
    concat_text_bg,
    macro_f1,
    macro_f1_present,
)
from colorgen.metrics.fcd import (
    FCD_REPORT_SCALE,
    fcd_score,
    frechet_distance,
    page_histograms,
    text_bg_histograms,
)
from colorgen.metrics.pixels import load_pixel_histogram, pixel_fcd, pixel_histogram

__all__ = [
    "FCD_REPORT_SCALE",
    "accuracy",
    "classification_scores",
    "concat_text_bg",
    "fcd_score",
    "frechet_distance",
    "load_pixel_histogram",
    "macro_f1",
    "macro_f1_present",
    "page_histograms",
    "pixel_fcd",
    "pixel_histogram",
    "text_bg_histograms",
]
