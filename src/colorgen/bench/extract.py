"""Extraction speed: pages/second on the same real pages, against the issue-12 target.

The corpus is ``$COLORGEN_WEBPAGES`` or the ``corpus`` of ``conf/data/webpages.yaml``
(relative to the launch directory). Every setting runs on the same pages in a fresh output
directory; ``before`` is the browser as it was before issue 12 (a context created on demand
for each page), ``after`` the defaults (a prewarmed context, recycled ones), ``settle_check`` the opt-in early
end of the real wait (same records, a few pixels may move). Before and after alternate, so a machine shared with
other work slows both alike; the load average is reported with them. The fidelity re-render
is off as in ``make reproduce-table``, then on in both its modes (reload / in the open page).
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from pathlib import Path

from colorgen.browser import BrowserConfig
from colorgen.extract.corpus import RunSettings, extract_pages, read_manifest, select_entries

from .checkout import data_config

log = logging.getLogger(__name__)

TARGET_PAGES_PER_S = 2.0  # issue 12: extraction on this 2-core machine (was ~1.0)
BEFORE = {"prewarm": 0, "recycle": False}  # the browser settings before issue 12 (a new context made on demand per page)


def corpus_dir() -> Path:
    env = os.environ.get("COLORGEN_WEBPAGES")
    if env:
        return Path(env)
    return Path(data_config()["corpus"])


def _measure(corpus: Path, entries, workers: int, browser: BrowserConfig, fidelity: bool, reload: bool = True) -> dict:
    with tempfile.TemporaryDirectory(prefix="colorgen-bench-extract-") as tmp:
        t0 = time.perf_counter()
        info = asyncio.run(extract_pages(corpus, Path(tmp), entries, browser,
                                         RunSettings(workers=workers, fidelity=fidelity, fidelity_reload=reload)))
        wall = time.perf_counter() - t0
    # pages/s over the pages only (the browser starts once per run, not once per page)
    return {"pages_per_s": info["pages_per_second"], "failed": info["failed"], "seconds": round(wall, 1),
            "load_average": round(os.getloadavg()[0], 2)}


def run(quick: bool = False) -> dict:
    corpus = corpus_dir()
    if not (corpus / "MANIFEST.tsv").is_file():
        return {"skipped": f"no corpus at {corpus} (set COLORGEN_WEBPAGES)"}
    n_pages = 6 if quick else 24
    entries = select_entries(read_manifest(corpus), limit=n_pages, sample="spread")
    before, after = BrowserConfig(**BEFORE), BrowserConfig()
    out: dict = {"pages": n_pages, "cores": os.cpu_count(), "target_pages_per_s": TARGET_PAGES_PER_S,
                 "load_average_at_start": round(os.getloadavg()[0], 2)}
    for workers in (2,) if quick else (2, 3):
        for name, browser in (("before", before), ("after", after)) if workers == 2 else (("after", after), ("before", before)):
            key = f"{name}_workers_{workers}"
            out[key] = _measure(corpus, entries, workers, browser, fidelity=False)
            log.info("extract bench: %s -> %s", key, out[key])
    out["settle_check_workers_2"] = _measure(corpus, entries, 2, BrowserConfig(settle_check=True), fidelity=False)
    out["after_workers_2_fidelity_in_page"] = _measure(corpus, entries, 2, after, fidelity=True, reload=False)
    if not quick:
        out["after_workers_2_fidelity_reload"] = _measure(corpus, entries, 2, after, fidelity=True, reload=True)
    runs = {k: v for k, v in out.items() if isinstance(v, dict) and "fidelity" not in k}
    best = max((k for k in runs if not k.startswith("before")), key=lambda k: runs[k]["pages_per_s"] or 0)
    best_before = max((k for k in runs if k.startswith("before")), key=lambda k: runs[k]["pages_per_s"] or 0)
    out["fastest"] = best
    out["speedup_vs_before"] = round(runs[best]["pages_per_s"] / runs[best_before]["pages_per_s"], 2)
    out["target_met"] = bool(runs[best]["pages_per_s"] >= TARGET_PAGES_PER_S)
    out["full_corpus_minutes_at_fastest"] = round(len(read_manifest(corpus)) / runs[best]["pages_per_s"] / 60, 1)
    out["load_average_at_end"] = round(os.getloadavg()[0], 2)
    return out
