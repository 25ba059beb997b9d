"""Pixel-FCD and contrast violations of models' colourings, measured on real renders.

Called by ``colorgen.eval`` with ``metrics=full`` (one run) and by ``python -m colorgen.visual``
(many finished runs at once, :func:`score_dirs`). Results go to each run's ``visual.json``. Opening and settling a page is the expensive part, so every test
page is opened once for all runs being scored: it is shot with the ground truth (cached under
``<data root>/renders/truth``: the same for every model) and then with each run's colours (under
that run's ``renders/``), swapping only the stylesheet. File names carry a digest of the page and
its stylesheet, so caches never serve a stale colouring and an interrupted run resumes.

- Pixel-FCD: test1 screenshots with real colours vs test2 screenshots with generated colours
  (``pixel_fcd``), and test1 real vs test2 real (``pixel_fcd_real``, the floor).
- Contrast: axe-core's ``color-contrast`` on every test page, generated and real: % of pages
  with at least one violation and violating elements per page; ``*_strict_*`` also counts text
  coloured exactly like its background (1:1), which axe leaves out as "incomplete".
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from rich.progress import Progress

from colorgen.browser import BrowserConfig
from colorgen.columns import VISUAL_KEYS
from colorgen.decoding import DecodingConfig
from colorgen.extract.bundle import PageBundle
from colorgen.io import write_json
from colorgen.metrics.pixels import load_pixel_histogram, pixel_fcd
from colorgen.progress import progress_bar
from colorgen.render.contact_sheet import save_contact_sheet
from colorgen.render.contrast import AUDIT_FORMAT, axe_version
from colorgen.render.recolor import page_css, render_key, rest_key, split_pages
from colorgen.render.screenshots import RenderJob, RenderReport, Variant, render

from .generate import Generated
from .results import VISUAL_FILE, read_run_metrics, write_visual
from .rows import row_key
from .runs import PageFiles, data_config, page_files

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {"workers": 3, "contact_pages": 4, "browser": {}, "timeout_s": 90}


@dataclass(frozen=True)
class Rendered:
    """Where the renders of one page's colouring are (files may be missing if it failed)."""

    png: Path | None
    audit: Path


def visual_settings(cfg: Mapping | DictConfig) -> dict[str, Any]:
    """``cfg.visual`` as a plain dict ({} when absent); :func:`score_runs` lays it over :data:`DEFAULTS`."""
    given = cfg.get("visual") if hasattr(cfg, "get") else None
    if isinstance(given, DictConfig):
        given = OmegaConf.to_container(given, resolve=True)
    return dict(given or {})


@dataclass(frozen=True)
class VisualRun:
    """One evaluation run to score: its colours, the folder its renders go to, its row label."""

    label: str
    generated: Generated
    out_dir: Path
    rest: str | None = None  # contrast level for the page text no model colours (DecodingConfig.rest_level)


def _out(folder: Path, page_id: str, key: str, suffix: str) -> Path:
    return folder / f"{page_id}.{key}{suffix}"


def plan_renders(
    runs: Sequence[VisualRun], pages: PageFiles, salt: str = ""
) -> tuple[list[RenderJob], dict[str, Rendered], list[dict[str, Rendered]]]:
    """One job per test page: its ground truth, then every run's colouring of it.

    Returns the jobs, the truth renders by page id and, per run, its renders by page id. Pages
    without an extracted bundle (e.g. the official dataset, which has no HTML) are left out
    with a warning. The runs must colour pages of the same data (one ground truth per page).
    """
    bundles: dict[str, PageBundle] = {}
    truth: dict[str, Rendered] = {}
    fakes: list[dict[str, Rendered]] = [{} for _ in runs]
    variants: dict[str, list[Variant]] = {}
    missing: set[str] = set()
    for run, fake in zip(runs, fakes, strict=True):
        g, gen_dir = run.generated, run.out_dir / "renders"
        n = len(g.page_ids)
        true_pages = split_pages(g.page, g.has_text, g.true, n)
        pred_pages = split_pages(g.page, g.has_text, g.pred, n)
        for i, pid in enumerate(g.page_ids):
            if pid in missing:
                continue
            if pid not in bundles:
                try:
                    bundles[pid] = pages.bundle(pid)
                except FileNotFoundError:
                    missing.add(pid)
                    continue
                css = page_css(bundles[pid].selectors, true_pages[i], pid)
                key = render_key(bundles[pid].source, css, salt)
                truth[pid] = Rendered(_out(pages.renders / "truth", pid, key, ".png"),
                                      _out(pages.renders / "truth", pid, key, ".axe.json"))
                variants[pid] = [Variant(css, truth[pid].png, truth[pid].audit)]
            b = bundles[pid]
            css = page_css(b.selectors, pred_pages[i], pid)
            key = render_key(b.source, css + rest_key(run.rest), salt)
            # generated screenshots are only compared for test2 (FCD never compares a page with itself)
            fake[pid] = Rendered(_out(gen_dir, pid, key, ".png") if g.is_test2[i] else None,
                                 _out(gen_dir, pid, key, ".axe.json"))
            variants[pid].append(Variant(css, fake[pid].png, fake[pid].audit, run.rest))
    if missing:
        log.warning("%d pages have no extracted bundle under %s (not rendered), e.g. %s",
                    len(missing), pages.serve_root, sorted(missing)[:3])
    jobs = [RenderJob(pid, bundles[pid].source, tuple(v)) for pid, v in variants.items()]
    return jobs, truth, fakes


def contrast_summary(audits: list[Path], prefix: str = "contrast") -> tuple[dict[str, float], int]:
    """Contrast metrics over the existing audits, and how many pages were audited.

    ``<prefix>_pages_pct`` / ``_elements_per_page``: axe violations (the published reading, the
    whole document); ``<prefix>_strict_*``: the same with 1:1 (invisible) text counted as failing
    too; ``<prefix>_first_screen_*``: violations on the first screen only, the part of the page
    that extraction keeps and a model colours (below it, the page keeps its own text colours).
    """
    results = [json.loads(p.read_text()) for p in audits if p.is_file()]
    keys = [f"{prefix}{k}" for k in ("_pages_pct", "_elements_per_page", "_strict_pages_pct", "_strict_elements_per_page",
                                     "_first_screen_pages_pct", "_first_screen_elements_per_page")]
    if not results:
        return dict.fromkeys(keys, math.nan), 0
    fails = np.asarray([r["violations"] for r in results], dtype=np.float64)
    strict = fails + np.asarray([r.get("invisible", 0) for r in results], dtype=np.float64)
    first = np.asarray([r.get("violations_first_screen", math.nan) for r in results], dtype=np.float64)
    first_pct = math.nan if np.isnan(first).any() else 100.0 * (first > 0).mean()  # NaN: an audit predates the count
    values = (100.0 * (fails > 0).mean(), fails.mean(), 100.0 * (strict > 0).mean(), strict.mean(),
              first_pct, first.mean())
    return dict(zip(keys, map(float, values), strict=True)), len(results)


def _fcd(real: list[Path], fake: list[Path]) -> float:
    real = [p for p in real if p.is_file()]
    fake = [p for p in fake if p.is_file()]
    if len(real) < 2 or len(fake) < 2:
        log.warning("Pixel-FCD needs >= 2 rendered pages per side (got %d real, %d fake)", len(real), len(fake))
        return math.nan
    return pixel_fcd([load_pixel_histogram(p) for p in real], [load_pixel_histogram(p) for p in fake])


def sheet_pages(page_ids: Iterable[str], pages: int) -> list[str]:
    """``pages`` page ids of different designs for a contact sheet: the first page (by id) of
    each site (the id before ``__``), sites taken evenly over their sorted list, so that one
    template's many pages do not fill the sheet."""
    first: dict[str, str] = {}
    for pid in sorted(page_ids):
        first.setdefault(pid.split("__")[0], pid)
    sites = sorted(first)
    if pages <= 0 or not sites:
        return []
    if len(sites) <= pages:
        return [first[s] for s in sites]
    step = len(sites) / pages
    return [first[sites[int(i * step)]] for i in range(pages)]


def write_sheet(run: VisualRun, truth: dict[str, Rendered], fake: dict[str, Rendered], pages: int) -> Path | None:
    """``contact_sheet.png`` of ``pages`` test2 pages of different sites (the same pages for every model)."""
    g = run.generated
    ids = sheet_pages((pid for i, pid in enumerate(g.page_ids) if g.is_test2[i] and pid in truth), pages)
    if not ids:
        return None
    rows = [[(pid, truth[pid].png), (run.label, fake[pid].png)] for pid in ids]
    return save_contact_sheet(run.out_dir / "contact_sheet.png", rows,
                              title=f"{run.label}: real colours (left) vs generated (right)")


RENDERS_FILE = "renders.json"


def write_renders(run: VisualRun, truth: dict[str, Rendered], fake: dict[str, Rendered]) -> Path:
    """``renders.json`` beside the run: each page's screenshot with real and with generated colours,
    and whether it is a test2 page (the side Pixel-FCD scores), so a metric can be traced to pages
    (:mod:`colorgen.pixel_pages`) without re-deriving the render cache's keys."""
    g = run.generated
    pages = {pid: {"test2": bool(g.is_test2[i]),
                   "truth": str(truth[pid].png) if pid in truth and truth[pid].png else None,
                   "generated": str(fake[pid].png) if pid in fake and fake[pid].png else None}
             for i, pid in enumerate(g.page_ids)}
    return write_json(run.out_dir / RENDERS_FILE, pages)


METRIC_KEYS = VISUAL_KEYS  # the former name


def _run(jobs: list[RenderJob], corpus: Path, browser: BrowserConfig, settings: dict, progress: Progress | None) -> RenderReport:
    if progress is not None:
        return render(jobs, corpus, browser, settings["workers"], progress, "rendering pages", settings["timeout_s"])
    with progress_bar() as own:
        return render(jobs, corpus, browser, settings["workers"], own, "rendering pages", settings["timeout_s"])


def _score(run: VisualRun, truth: dict[str, Rendered], fake: dict[str, Rendered]) -> dict[str, float]:
    g = run.generated
    t1 = [pid for i, pid in enumerate(g.page_ids) if not g.is_test2[i] and pid in truth]
    t2 = [pid for i, pid in enumerate(g.page_ids) if g.is_test2[i] and pid in truth]
    contrast, audited = contrast_summary([f.audit for f in fake.values()])
    contrast_real, _ = contrast_summary([truth[pid].audit for pid in fake], "contrast_real")
    return {
        "pixel_fcd": _fcd([truth[p].png for p in t1], [fake[p].png for p in t2]),
        "pixel_fcd_real": _fcd([truth[p].png for p in t1], [truth[p].png for p in t2]),
        **contrast,
        **contrast_real,
        "visual_pages": audited,
        "visual_pages_failed": len(g.page_ids) - audited,
    }


def score_runs(runs: Sequence[VisualRun], data: Mapping, settings: Mapping | None = None,
               progress: Progress | None = None) -> list[dict[str, float]]:
    """Render every page once for all ``runs``, audit, score; one metrics dict per run.

    ``data`` is the runs' data group with absolute paths (``root``, ``corpus``); ``settings``
    the ``visual`` block. Data without page HTML (the official WebColor files) cannot be
    rendered: the metrics are then NaN with a warning, so the other metrics are still written.
    ``visual_seconds`` is each run's share of the shared render time.
    """
    settings = {**DEFAULTS, **(settings or {})}
    pages = page_files(data)
    if pages is None:
        log.warning("data=%s has no page HTML (data.corpus or data.pages): visual metrics are not available",
                    data.get("name"))
        return [dict.fromkeys(METRIC_KEYS, math.nan) | {"visual_pages": 0} for _ in runs]
    browser = BrowserConfig.from_cfg(settings["browser"])
    # cached renders are only valid for the same browser settings and audit version
    jobs, truth, fakes = plan_renders(runs, pages, salt=f"{browser!r}|axe-core@{axe_version()}|audit{AUDIT_FORMAT}")
    report = _run(jobs, pages.serve_root, browser, settings, progress)
    if report.failed:
        log.warning("%d of %d pages failed to render: %s", len(report.failed), len(jobs), dict(list(report.failed.items())[:5]))
    log.info("rendered %d pages x %d colourings (%d pages resumed) in %.1fs: %.2f pages/s",
             report.rendered, len(runs) + 1, report.skipped, report.seconds, report.pages_per_s)
    results = []
    for run, fake in zip(runs, fakes, strict=True):
        metrics = _score(run, truth, fake) | {
            "render_pages_per_s": report.pages_per_s,
            "visual_runs_shared": len(runs),
            "visual_seconds": round(report.seconds / len(runs), 2),
        }
        write_renders(run, truth, fake)
        sheet = write_sheet(run, truth, fake, int(settings["contact_pages"]))
        if sheet:
            log.info("contact sheet: %s", sheet)
        results.append(metrics)
    return results


def visual_metrics(cfg: DictConfig, generated: Generated, out_dir: str | Path, progress: Progress | None = None) -> dict[str, float]:
    """The visual metrics of one eval run (``cfg``: its data, model, decoding, visual blocks)."""
    data = data_config(cfg.data)
    dec = DecodingConfig.from_cfg(cfg.get("decoding"))
    label = str(cfg.get("row") or row_key(cfg.model.name, dec))
    run = VisualRun(label, generated, Path(out_dir), dec.rest_level)
    (metrics,) = score_runs([run], data, visual_settings(cfg), progress)
    return metrics


def load_run(run_dir: Path) -> tuple[VisualRun, dict, dict]:
    """A finished eval run: its colours, its metrics so far and the meta its eval saved."""
    npz, metrics = run_dir / "generated.npz", run_dir / "metrics.json"
    for path in (npz, metrics):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: run `python -m colorgen.eval hydra.run.dir={run_dir}` first")
    generated, meta = Generated.load(npz)
    if "text_res" not in generated.pred:
        log.warning("%s has no upsampler residuals: its pages are rendered with colour-bin centres", npz)
    run = VisualRun(meta.get("label") or run_dir.name, generated, run_dir, meta.get("rest"))
    return run, read_run_metrics(metrics), meta


def score_dirs(run_dirs: Sequence[Path], workers: int | None = None, progress: Progress | None = None) -> list[dict]:
    """Score finished runs, one render pass per data set and browser setting; each run gets a
    ``visual.json`` (its ``eval_seconds``: generation plus its share of the render time).
    Returns each run's merged metrics, in order."""
    loaded = [load_run(Path(d)) for d in run_dirs]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (_, _, meta) in enumerate(loaded):  # one ground truth and browser setting per pass
        data = meta.get("data", {})
        browser = (meta.get("visual") or {}).get("browser")
        groups[json.dumps([data.get("root"), data.get("corpus"), data.get("pages"), browser], sort_keys=True)].append(i)
    results: list[dict] = [{} for _ in loaded]
    for idx in groups.values():
        meta = loaded[idx[0]][2]
        settings = dict(meta.get("visual") or {}) | ({"workers": workers} if workers else {})
        scored = score_runs([loaded[i][0] for i in idx], meta.get("data", {}), settings, progress)
        for i, visual in zip(idx, scored, strict=True):
            run, metrics, _ = loaded[i]
            base = metrics.get("generate_seconds", metrics.get("eval_seconds", 0.0))
            visual = visual | {"eval_seconds": round(base + visual.get("visual_seconds", 0.0), 2)}
            write_visual(run.out_dir, visual)
            results[i] = metrics | visual
    return results


__all__ = ["RENDERS_FILE", "VISUAL_FILE", "VisualRun", "contrast_summary", "load_run", "score_dirs", "score_runs", "visual_metrics"]
