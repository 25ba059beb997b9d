"""Rendering benchmark: pages per second for recolour + screenshot (+ contrast audit).

Synthetic pages (written to a temp folder, deterministic) measure the renderer itself at a few
worker counts; when an extracted dataset is present (``$COLORGEN_DATA_DIR``/webpages or
``data/webpages``), its test pages go through the visual pass as the table runs it (eight
colourings per page), before/after the issue-12 browser settings, against the target.
``run`` returns numbers only.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from colorgen.browser import BrowserConfig
from colorgen.render.recolor import PageColors, page_css
from colorgen.render.screenshots import RenderJob, Variant, render

from .extract import BEFORE  # the browser settings before issue 12, as for extraction

_STYLE = """
body { margin: 0; font: 16px/1.4 sans-serif; background: #fafafa; color: #222; }
header { padding: 12px; background: #234; color: #fff; } nav a { margin-right: 8px; color: #9cf; }
section { padding: 16px; } h2 { margin: 0 0 8px; } .card { padding: 8px; margin: 8px 0; background: #fff; }
button { padding: 6px 12px; border: 0; background: #07c; color: #fff; }
"""


def synthetic_page(n_sections: int, rng: np.random.Generator) -> tuple[str, list[str], np.ndarray]:
    """A page of ``n_sections`` sections; returns HTML, selectors (by id) and which show text."""
    sel: list[str] = ["html", "body"]
    text: list[bool] = [False, False]
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{_STYLE}</style></head><body>"]

    def el(tag: str, content: str, has_text: bool) -> str:
        i = len(sel)
        sel.append(f"#e{i}")
        text.append(has_text)
        return f"<{tag} id='e{i}'>{content}</{tag}>"

    links = "".join(el("a", f"Link {k}", True) for k in range(4))
    parts.append(el("header", el("h1", "Synthetic shop", True) + el("nav", links, False), False))
    for s in range(n_sections):
        cards = "".join(
            el("div", el("h3", f"Item {s}.{c}", True) + el("p", "Lorem ipsum dolor sit amet " * int(rng.integers(1, 4)), True)
               + el("button", "Buy", True), False)
            for c in range(3)
        )
        parts.append(el("section", el("h2", f"Section {s}", True) + cards, False))
    parts.append("</body></html>")
    return "".join(parts), sel, np.array(text)


def random_colors(has_text: np.ndarray, rng: np.random.Generator) -> PageColors:
    n = len(has_text)
    return PageColors(
        has_text=has_text,
        text_rgb=rng.integers(0, 512, n), text_alpha=np.full(n, 7),
        bg_rgb=rng.integers(0, 512, n), bg_alpha=rng.choice([0, 7], n),
        text_res=rng.random((n, 4)), bg_res=rng.random((n, 4)),
    )


def _jobs(root: Path, out: Path, pages: int, audit: bool, seed: int = 0) -> list[RenderJob]:
    rng = np.random.default_rng(seed)
    jobs = []
    for p in range(pages):
        html, selectors, has_text = synthetic_page(6, rng)
        (root / f"p{p}.html").write_text(html)
        css = page_css(selectors, random_colors(has_text, rng))
        v = Variant(css, out / f"p{p}.png", out / f"p{p}.axe.json" if audit else None)
        jobs.append(RenderJob(f"p{p}", f"p{p}.html", (v,)))
    return jobs


def _measure(jobs: list[RenderJob], root: Path, workers: int, browser: BrowserConfig) -> dict[str, float]:
    t0 = time.perf_counter()
    report = render(jobs, root, browser, workers=workers)
    wall = time.perf_counter() - t0
    return {"pages": report.rendered, "failed": len(report.failed), "pages_per_s": report.pages_per_s,
            "wall_s_with_browser_start": wall}


TARGET_VISUAL_PAGES_PER_S = 1.5  # issue 12: the visual pass, all eight colourings per test page (was ~0.53)


def _real_pages(limit: int, workers: int, colourings: int = 8, rounds: int = 1) -> dict[str, Any] | None:
    """Real test pages, if a dataset is extracted: the visual pass as ``colorgen.visual`` plans
    it for the table (the truth and ``colourings - 1`` generated colourings per page, each
    audited; screenshots of the truth everywhere and of generated colourings on test2 pages,
    the only ones Pixel-FCD compares), with the browser settings before and after issue 12,
    alternating on the same pages."""
    import json

    from colorgen.data.graph import page_to_data
    from colorgen.data.webcolor_format import read_pages
    from colorgen.extract.bundle import load_bundle

    from .checkout import data_config

    data = data_config()
    root, corpus = Path(data["root"]), Path(data["corpus"])
    h5 = root / str(data["hdf5"])
    if not h5.is_file() or not corpus.is_dir():
        return None
    split = json.loads((root / str(data["split_file"])).read_text())
    test2 = set(split["test2"])
    half = limit // 2  # both test splits, as the visual pass renders them
    ids = split["test1"][:limit - half] + split["test2"][:half]
    rng = np.random.default_rng(0)
    pages: list[tuple[str, str, list[str]]] = []  # page id, source, one stylesheet per colouring
    for raw in read_pages(h5, ids):
        g = page_to_data(raw)
        b = load_bundle(root, raw.page_id)
        has_text = g.has_text.numpy()
        truth = PageColors.from_arrays(has_text, {k: getattr(g, k).numpy() for k in (
            "text_rgb", "text_alpha", "bg_rgb", "bg_alpha", "text_res", "bg_res")})
        colors = [truth, *(random_colors(has_text, rng) for _ in range(colourings - 1))]
        pages.append((raw.page_id, b.source, [page_css(b.selectors, c, raw.page_id) for c in colors]))

    def job(out: Path, pid: str, source: str, styles: list[str]) -> RenderJob:
        shoot = [k == 0 or pid in test2 for k in range(len(styles))]
        return RenderJob(pid, source, tuple(Variant(css, out / f"{pid}.{k}.png" if shoot[k] else None, out / f"{pid}.{k}.axe.json")
                                            for k, css in enumerate(styles)))

    result: dict[str, Any] = {"dataset": str(root), "pages": len(pages), "colourings_per_page": colourings,
                              "workers": workers, "target_pages_per_s": TARGET_VISUAL_PAGES_PER_S}
    settings = {"before": BrowserConfig(**BEFORE), "after": BrowserConfig()}
    with tempfile.TemporaryDirectory(prefix="colorgen-bench-") as tmp:
        for r in range(rounds):
            for name in ("before", "after") if r % 2 == 0 else ("after", "before"):
                out = Path(tmp) / f"{name}{r}"
                m = _measure([job(out, pid, src, css) for pid, src, css in pages], corpus, workers, settings[name])
                result.setdefault(name, []).append(m | {"load_average": round(os.getloadavg()[0], 2)})
    for name in settings:
        result[f"{name}_pages_per_s"] = max(m["pages_per_s"] for m in result[name])
    result["speedup"] = result["after_pages_per_s"] / result["before_pages_per_s"]
    result["target_met"] = bool(result["after_pages_per_s"] >= TARGET_VISUAL_PAGES_PER_S)
    return result


def run(quick: bool = False) -> dict[str, Any]:
    """Pages/second of the renderer (synthetic pages) and, if extracted, of real test pages."""
    pages = 6 if quick else 16
    worker_counts = (1, 3) if quick else (1, 2, 4)
    browser = BrowserConfig()
    result: dict[str, Any] = {"cpu_cores": os.cpu_count(), "synthetic_pages": pages}
    with tempfile.TemporaryDirectory(prefix="colorgen-bench-") as tmp:
        root = Path(tmp)
        for audit in (False, True):
            name = "screenshot_and_audit" if audit else "screenshot_only"
            result[name] = {}
            for w in worker_counts:
                out = root / f"out_{name}_{w}"
                result[name][f"workers_{w}"] = _measure(_jobs(root, out, pages, audit), root, w, browser)
    real = _real_pages(4 if quick else 24, 3, rounds=1 if quick else 2)
    if real is not None:
        result["visual_pass_real_test_pages"] = real
    return result
