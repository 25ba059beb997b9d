"""Extraction speed: pages/second on a few real pages for several numbers of parallel browser pages.

The corpus is ``$COLORGEN_WEBPAGES`` or the ``corpus`` of ``conf/data/webpages.yaml``
(relative to the launch directory). Each setting runs on the same pages in a fresh output
directory, with the fidelity re-render on (as ``make data`` runs it) and, once, off.
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

def corpus_dir() -> Path:
    env = os.environ.get("COLORGEN_WEBPAGES")
    if env:
        return Path(env)
    return Path(data_config()["corpus"])


def _measure(corpus: Path, entries, workers: int, fidelity: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="colorgen-bench-extract-") as tmp:
        t0 = time.perf_counter()
        info = asyncio.run(extract_pages(corpus, Path(tmp), entries, BrowserConfig(),
                                         RunSettings(workers=workers, fidelity=fidelity)))
        wall = time.perf_counter() - t0
    # pages/s over the pages only (the browser starts once per run, not once per page)
    return {"pages_per_s": info["pages_per_second"], "failed": info["failed"], "seconds": round(wall, 1)}


def run(quick: bool = False) -> dict:
    corpus = corpus_dir()
    if not (corpus / "MANIFEST.tsv").is_file():
        return {"skipped": f"no corpus at {corpus} (set COLORGEN_WEBPAGES)"}
    n_pages = 4 if quick else 16
    entries = select_entries(read_manifest(corpus), limit=n_pages, sample="spread")
    out: dict = {"pages": n_pages, "load_average_at_start": round(os.getloadavg()[0], 2), "cores": os.cpu_count()}
    for workers in (1, 2) if quick else (1, 2, 3, 4):
        out[f"workers_{workers}"] = _measure(corpus, entries, workers, fidelity=True)
        log.info("extract bench: %d workers -> %s", workers, out[f"workers_{workers}"])
    out["workers_2_no_fidelity"] = _measure(corpus, entries, 2, fidelity=False)
    best = max((k for k in out if k.startswith("workers_") and "no_fidelity" not in k), key=lambda k: out[k]["pages_per_s"])
    out["fastest"] = best
    out["full_corpus_minutes_at_fastest"] = round(len(read_manifest(corpus)) / out[best]["pages_per_s"] / 60, 1)
    out["load_average_at_end"] = round(os.getloadavg()[0], 2)
    return out
