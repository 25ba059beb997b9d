"""Pixel-FCD and contrast violations of a model's colourings, measured on real renders.

Called by ``colorgen.eval`` with ``metrics=full``. Every test page is opened once and shot with
the ground truth (cached under ``<data root>/renders/truth``: the same for every model) and with
the generated colours (under the run's ``renders/``). File names carry a digest of the page and
its stylesheet, so caches never serve a stale colouring and an interrupted run resumes.

- Pixel-FCD: test1 screenshots with real colours vs test2 screenshots with generated colours
  (``pixel_fcd``), and test1 real vs test2 real (``pixel_fcd_real``, the floor).
- Contrast: axe-core's ``color-contrast`` on every test page, generated and real: % of pages
  with at least one violation and violating elements per page.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import Progress

from colorgen.browser import BrowserConfig
from colorgen.decoding import DecodingConfig
from colorgen.evaluation import Generated, row_key
from colorgen.metrics.pixels import load_pixel_histogram, pixel_fcd
from colorgen.render.contact_sheet import save_contact_sheet
from colorgen.render.contrast import axe_version
from colorgen.render.recolor import load_bundle, page_css, render_key, split_pages
from colorgen.render.screenshots import RenderJob, RenderReport, Variant, render

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {"workers": 3, "contact_pages": 4, "browser": {}, "timeout_s": 90}


@dataclass(frozen=True)
class Rendered:
    """Where the renders of one page's colouring are (files may be missing if it failed)."""

    png: Path | None
    audit: Path


def _abs(path: str) -> Path:
    from hydra.utils import to_absolute_path

    return Path(to_absolute_path(str(path)))


def visual_settings(cfg: Mapping | DictConfig) -> dict[str, Any]:
    """``cfg.visual`` over :data:`DEFAULTS` (eval configs without a ``visual`` block still work)."""
    given = cfg.get("visual") if hasattr(cfg, "get") else None
    if isinstance(given, DictConfig):
        given = OmegaConf.to_container(given, resolve=True)
    return {**DEFAULTS, **(given or {})}


def _out(folder: Path, page_id: str, key: str, suffix: str) -> Path:
    return folder / f"{page_id}.{key}{suffix}"


def plan_renders(
    generated: Generated, root: Path, out_dir: Path, salt: str = ""
) -> tuple[list[RenderJob], list[Rendered | None], list[Rendered | None]]:
    """One job per test page: ground truth (cached under the data root) + generated colours.

    Pages without an extracted bundle (e.g. the official dataset, which has no HTML) get
    ``None`` and are left out with a warning.
    """
    n = len(generated.page_ids)
    true_pages = split_pages(generated.page, generated.has_text, generated.true, n)
    pred_pages = split_pages(generated.page, generated.has_text, generated.pred, n)
    truth_dir, gen_dir = root / "renders" / "truth", out_dir / "renders"
    jobs: list[RenderJob] = []
    truth: list[Rendered | None] = []
    fake: list[Rendered | None] = []
    missing = []
    for i, pid in enumerate(generated.page_ids):
        try:
            b = load_bundle(root, pid)
        except FileNotFoundError:
            missing.append(pid)
            truth.append(None)
            fake.append(None)
            continue
        css_true = page_css(b.selectors, true_pages[i], pid)
        css_pred = page_css(b.selectors, pred_pages[i], pid)
        kt, kp = render_key(b.source, css_true, salt), render_key(b.source, css_pred, salt)
        t = Rendered(_out(truth_dir, pid, kt, ".png"), _out(truth_dir, pid, kt, ".axe.json"))
        # generated screenshots are only compared for test2 (FCD never compares a page with itself)
        f = Rendered(_out(gen_dir, pid, kp, ".png") if generated.is_test2[i] else None, _out(gen_dir, pid, kp, ".axe.json"))
        truth.append(t)
        fake.append(f)
        jobs.append(RenderJob(pid, b.source, (Variant(css_true, t.png, t.audit), Variant(css_pred, f.png, f.audit))))
    if missing:
        log.warning("%d of %d pages have no extracted bundle under %s (not rendered), e.g. %s",
                    len(missing), n, root / "pages", missing[:3])
    return jobs, truth, fake


def contrast_summary(audits: list[Path]) -> tuple[float, float, int]:
    """(% pages with >= 1 violation, violating elements per page, pages audited) over existing audits."""
    counts = [json.loads(p.read_text())["violations"] for p in audits if p.is_file()]
    if not counts:
        return math.nan, math.nan, 0
    c = np.asarray(counts, dtype=np.float64)
    return float(100.0 * (c > 0).mean()), float(c.mean()), len(counts)


def _fcd(real: list[Path], fake: list[Path]) -> float:
    real = [p for p in real if p.is_file()]
    fake = [p for p in fake if p.is_file()]
    if len(real) < 2 or len(fake) < 2:
        log.warning("Pixel-FCD needs >= 2 rendered pages per side (got %d real, %d fake)", len(real), len(fake))
        return math.nan
    return pixel_fcd([load_pixel_histogram(p) for p in real], [load_pixel_histogram(p) for p in fake])


def write_sheet(generated: Generated, truth: list[Rendered | None], fake: list[Rendered | None], out: Path, label: str, pages: int) -> Path | None:
    """A sheet of the first ``pages`` test2 pages (by id: the same pages for every model)."""
    idx = sorted((pid, i) for i, pid in enumerate(generated.page_ids) if generated.is_test2[i] and truth[i] is not None)[:pages]
    if not idx:
        return None
    rows = [[(pid, truth[i].png), (label, fake[i].png)] for pid, i in idx]
    return save_contact_sheet(out, rows, title=f"{label}: real colours (left) vs generated (right)")


METRIC_KEYS = (
    "pixel_fcd", "pixel_fcd_real", "contrast_pages_pct", "contrast_elements_per_page",
    "contrast_real_pages_pct", "contrast_real_elements_per_page",
)


def _run(jobs: list[RenderJob], corpus: Path, browser: BrowserConfig, settings: dict, progress: Progress | None) -> RenderReport:
    own = progress is None
    if own:
        progress = Progress(console=Console(stderr=True), transient=True)
        progress.start()
    try:
        return render(jobs, corpus, browser, settings["workers"], progress, "rendering pages", settings["timeout_s"])
    finally:
        if own:
            progress.stop()


def visual_metrics(cfg: DictConfig, generated: Generated, out_dir: str | Path, progress: Progress | None = None) -> dict[str, float]:
    """Render, audit and score; returns the six visual metrics plus render bookkeeping.

    Data without page HTML (the official WebColor files) cannot be rendered: the metrics are
    then NaN with a warning, so the other metrics of the run are still written.
    """
    settings = visual_settings(cfg)
    if not cfg.data.get("corpus"):
        log.warning("data=%s has no page corpus (HTML): visual metrics are not available", cfg.data.get("name"))
        return dict.fromkeys(METRIC_KEYS, math.nan) | {"visual_pages": 0}
    root, corpus = _abs(cfg.data.root), _abs(cfg.data.corpus)
    out_dir = Path(out_dir)
    browser = BrowserConfig.from_cfg(settings["browser"])
    # cached renders are only valid for the same browser settings and audit version
    jobs, truth, fake = plan_renders(generated, root, out_dir, salt=f"{browser!r}|axe-core@{axe_version()}")
    report = _run(jobs, corpus, browser, settings, progress)
    if report.failed:
        log.warning("%d of %d pages failed to render: %s", len(report.failed), len(jobs), dict(list(report.failed.items())[:5]))
    log.info("rendered %d pages (%d resumed) in %.1fs: %.2f pages/s", report.rendered, report.skipped, report.seconds, report.pages_per_s)
    idx = range(len(generated.page_ids))
    t1 = [i for i in idx if not generated.is_test2[i] and truth[i] is not None]
    t2 = [i for i in idx if generated.is_test2[i] and truth[i] is not None]
    pct, per_page, audited = contrast_summary([f.audit for f in fake if f is not None])
    pct_real, per_page_real, _ = contrast_summary([t.audit for t in truth if t is not None])
    metrics = {
        "pixel_fcd": _fcd([truth[i].png for i in t1], [fake[i].png for i in t2]),
        "pixel_fcd_real": _fcd([truth[i].png for i in t1], [truth[i].png for i in t2]),
        "contrast_pages_pct": pct,
        "contrast_elements_per_page": per_page,
        "contrast_real_pages_pct": pct_real,
        "contrast_real_elements_per_page": per_page_real,
        "visual_pages": audited,
        "visual_pages_failed": len(generated.page_ids) - audited,
        "render_pages_per_s": report.pages_per_s,
    }
    label = str(cfg.get("row") or row_key(cfg.model.name, DecodingConfig.from_cfg(cfg.get("decoding"))))
    sheet = write_sheet(generated, truth, fake, out_dir / "contact_sheet.png", label, int(settings["contact_pages"]))
    if sheet:
        log.info("contact sheet: %s", sheet)
    return metrics
