"""The published WebColor results (WACV 2023, WebColor v1.1 test set, seed 0) as data.

Copied from MODELS.md "Published results". FCD columns are in the reported unit
(Fréchet distance × 10³), the same unit ``metrics.json`` uses. ``key`` is the row key
our ``metrics.json`` files carry in ``row`` to be placed beside a published row; each
row's experiment file (``conf/experiment/<row>.yaml``) carries the same key and label, and
a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from colorgen.columns import PUBLISHED_COLUMNS, Column

# The nine published columns, in the published order (declared in colorgen.columns).
METRIC_COLUMNS: tuple[Column, ...] = PUBLISHED_COLUMNS
MetricColumn = Column  # the former name


@dataclass(frozen=True)
class PublishedRow:
    """One row of the published table."""

    key: str
    model: str
    decoding: str
    values: MappingProxyType  # column key -> published value

    @property
    def label(self) -> str:
        """The row's name as the paper prints it, e.g. ``AR (top-p 0.8)``."""
        return f"{self.model} ({self.decoding})" if self.decoding else self.model


def _row(key: str, model: str, decoding: str, *values: float) -> PublishedRow:
    cols = [c.key for c in METRIC_COLUMNS]
    if len(values) != len(cols):
        raise ValueError(f"row {key}: {len(values)} values for {len(cols)} columns")
    return PublishedRow(key, model, decoding, MappingProxyType(dict(zip(cols, values, strict=True))))


PUBLISHED: tuple[PublishedRow, ...] = (
    _row("stats-mode", "Stats", "mode", 0.717, 0.891, 0.003, 0.219, 22.15, 265.08, 7.49, 23.79, 0.59),
    _row("stats-sampling", "Stats", "sampling", 0.620, 0.821, 0.004, 0.206, 0.71, 83.55, 172.94, 93.35, 4.07),
    _row("ar-greedy", "AR", "greedy", 0.758, 0.916, 0.064, 0.612, 2.14, 23.91, 12.63, 65.69, 1.96),
    _row("ar-top_p0.8", "AR", "top-p 0.8", 0.755, 0.915, 0.062, 0.605, 1.98, 22.33, 18.57, 68.63, 2.11),
    _row("ar-top_p0.9", "AR", "top-p 0.9", 0.753, 0.914, 0.061, 0.604, 1.84, 21.00, 21.33, 69.78, 2.19),
    _row("nar", "NAR", "", 0.774, 0.929, 0.078, 0.677, 1.97, 22.46, 7.80, 71.83, 2.22),
    _row("cvae", "CVAE", "", 0.773, 0.929, 0.069, 0.663, 1.65, 28.67, 7.90, 72.91, 2.23),
)

PUBLISHED_BY_KEY: MappingProxyType = MappingProxyType({r.key: r for r in PUBLISHED})
ROW_KEYS: tuple[str, ...] = tuple(r.key for r in PUBLISHED)
