"""Every numeric column of the results table, declared once.

Adding a metric is: write the function that puts ``key`` into a run's metric file, then add
its :class:`Column` here. The table (:mod:`colorgen.table`), the published values
(:mod:`colorgen.published`) and the visual pass's NaN placeholders all read this tuple.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Column:
    """One numeric column: where its value is, how it is shown, and where it comes from."""

    key: str  # key in the run's metric files
    header: str  # header in the rendered table
    decimals: int  # digits shown
    real_key: str | None = None  # key of its real-data floor (test1 vs test2 ground truth), if any
    published: bool = False  # one of the paper's nine columns (the published value is shown beside ours)
    visual: bool = False  # measured on renders (``python -m colorgen.visual``), not from arrays


def _contrast(key: str, header: str, published: bool) -> Column:
    return Column(key, header, 2, key.replace("contrast_", "contrast_real_", 1), published, visual=True)


COLUMNS: tuple[Column, ...] = (
    Column("acc_rgb", "Acc RGB", 3, published=True),
    Column("acc_alpha", "Acc alpha", 3, published=True),
    Column("f1_rgb", "F RGB", 3, published=True),
    Column("f1_alpha", "F alpha", 3, published=True),
    Column("fcd_bg", "BG-FCD", 2, "fcd_bg_real", published=True),
    Column("fcd_text", "Text-FCD", 2, "fcd_text_real", published=True),
    Column("pixel_fcd", "Pixel-FCD", 2, "pixel_fcd_real", published=True, visual=True),
    _contrast("contrast_pages_pct", "Contrast % pages", True),
    _contrast("contrast_elements_per_page", "Contrast elements/page", True),
    # ours only: F over present classes (newer torchmetrics semantics), and contrast with text
    # coloured like its background (1:1, which axe/Lighthouse leave out) counted as failing
    Column("f1_rgb_present", "F RGB (present)", 3),
    Column("f1_alpha_present", "F alpha (present)", 3),
    _contrast("contrast_strict_pages_pct", "Contrast % pages (incl. 1:1)", False),
    _contrast("contrast_strict_elements_per_page", "Contrast elements/page (incl. 1:1)", False),
    # violations on the first screen only: the part extraction keeps and the models colour
    _contrast("contrast_first_screen_pages_pct", "Contrast % pages (first screen)", False),
    _contrast("contrast_first_screen_elements_per_page", "Contrast elements/page (first screen)", False),
)

PUBLISHED_COLUMNS: tuple[Column, ...] = tuple(c for c in COLUMNS if c.published)
OUR_COLUMNS: tuple[Column, ...] = tuple(c for c in COLUMNS if not c.published)
# metric-file key of each real-data value, by column key
REAL_KEYS: MappingProxyType = MappingProxyType({c.key: c.real_key for c in COLUMNS if c.real_key})
# every key the visual pass produces (NaN when pages cannot be rendered)
VISUAL_KEYS: tuple[str, ...] = tuple(k for c in COLUMNS if c.visual for k in (c.key, c.real_key) if k)
