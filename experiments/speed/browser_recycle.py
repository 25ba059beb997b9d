"""Recycled browser contexts (``browser.recycle``) against a new context per page, on real pages.

Extracts the same real pages both ways (2 workers, so which context serves which page differs
between runs) and compares every record (elements, order, colours, features), selector list and
load counters; then runs the visual pass's renders both ways (the truth and 7 random colourings
per test page, screenshots and axe-core audits) and compares pixels and audits. Prints a
markdown report; exit status 1 when anything differs.

    PYTHONPATH=src python experiments/speed/browser_recycle.py --extract 48 --render 24
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from colorgen.bench.checkout import data_config
from colorgen.bench.extract import corpus_dir
from colorgen.bench.render import random_colors
from colorgen.browser import BrowserConfig
from colorgen.data.graph import page_to_data
from colorgen.data.webcolor_format import read_pages
from colorgen.extract import bundle
from colorgen.extract.corpus import RunSettings, extract_pages, read_manifest, select_entries
from colorgen.extract.fidelity import decode_png
from colorgen.render.recolor import PageColors, page_css
from colorgen.render.screenshots import RenderJob, Variant, render

ARMS = {"new context per page": BrowserConfig(recycle=False), "recycled contexts": BrowserConfig(recycle=True)}
LOAD_KEYS = ("blocked_requests", "blocked_hosts", "animations", "real_wait_ms")


def compare_extraction(n: int, tmp: Path) -> tuple[list[str], dict[str, float]]:
    corpus = corpus_dir()
    entries = select_entries(read_manifest(corpus), limit=n, sample="spread")
    outs, rates = {}, {}
    for name, cfg in ARMS.items():
        outs[name] = tmp / f"extract-{len(outs)}"
        info = asyncio.run(extract_pages(corpus, outs[name], entries, cfg, RunSettings(workers=2, fidelity=False, retries=0)))
        rates[name] = info["pages_per_second"]
    a, b = outs.values()
    differ = []
    for e in entries:
        try:
            (ra, ma), (rb, mb) = bundle.read_record(a, e.page_id), bundle.read_record(b, e.page_id)
        except FileNotFoundError:
            differ.append(f"{e.page_id}: extracted by one arm only")
            continue
        same = ra == rb and bundle.load_bundle(a, e.page_id).selectors == bundle.load_bundle(b, e.page_id).selectors
        same_load = all(ma.get(k) == mb.get(k) for k in LOAD_KEYS)
        if not (same and same_load):
            differ.append(f"{e.page_id}: record {'same' if same else 'differs'}, load counters "
                          f"{'same' if same_load else {k: (ma.get(k), mb.get(k)) for k in LOAD_KEYS if ma.get(k) != mb.get(k)}}")
    return differ, rates


def compare_renders(n: int, tmp: Path, colourings: int = 8) -> tuple[list[str], int, dict[str, float]]:
    data = data_config()
    root, corpus = Path(data["root"]), Path(data["corpus"])
    split = json.loads((root / str(data["split_file"])).read_text())
    ids = split["test1"][: n - n // 2] + split["test2"][: n // 2]
    rng = np.random.default_rng(0)
    pages = []
    for raw in read_pages(root / str(data["hdf5"]), ids):
        g, b = page_to_data(raw), bundle.load_bundle(root, raw.page_id)
        has_text = g.has_text.numpy()
        truth = PageColors.from_arrays(has_text, {k: getattr(g, k).numpy() for k in (
            "text_rgb", "text_alpha", "bg_rgb", "bg_alpha", "text_res", "bg_res")})
        colors = [truth, *(random_colors(has_text, rng) for _ in range(colourings - 1))]
        pages.append((raw.page_id, b.source, [page_css(b.selectors, c, raw.page_id) for c in colors]))
    jobs, rates = {}, {}
    for i, (name, cfg) in enumerate(ARMS.items()):
        out = tmp / f"render-{i}"
        jobs[name] = [RenderJob(pid, src, tuple(Variant(css, out / f"{pid}.{k}.png", out / f"{pid}.{k}.axe.json")
                                                for k, css in enumerate(styles))) for pid, src, styles in pages]
        report = render(jobs[name], corpus, cfg, workers=3)
        rates[name] = report.pages_per_s
    differ, compared = [], 0
    a, b = jobs.values()
    for ja, jb in zip(a, b, strict=True):
        for va, vb in zip(ja.variants, jb.variants, strict=True):
            if not (va.done() and vb.done()):
                differ.append(f"{va.png.name}: rendered by one arm only")
                continue
            compared += 1
            if not np.array_equal(decode_png(va.png.read_bytes()), decode_png(vb.png.read_bytes())):
                differ.append(f"{va.png.name}: pixels differ")
            if json.loads(va.audit.read_text()) != json.loads(vb.audit.read_text()):
                differ.append(f"{va.audit.name}: audit differs")
    return differ, compared, rates


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--extract", type=int, default=48, help="real pages to extract both ways")
    ap.add_argument("--render", type=int, default=24, help="test pages to render both ways")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="colorgen-recycle-") as tmp:
        ex_differ, ex_rates = compare_extraction(args.extract, Path(tmp))
        re_differ, compared, re_rates = compare_renders(args.render, Path(tmp))
    print(f"# browser.recycle on real pages ({time.strftime('%Y-%m-%d %H:%M')}, {time.perf_counter() - t0:.0f} s)\n")
    print(f"- extraction, {args.extract} pages, 2 workers: {len(ex_differ)} differ; pages/s "
          + ", ".join(f"{k} {v:.2f}" for k, v in ex_rates.items()))
    print(f"- visual-pass renders, {args.render} test pages x 8 colourings ({compared} compared, 3 workers): "
          f"{len(re_differ)} differ; pages/s " + ", ".join(f"{k} {v:.2f}" for k, v in re_rates.items()))
    for line in ex_differ + re_differ:
        print(f"  - {line}")
    return 1 if ex_differ or re_differ else 0


if __name__ == "__main__":
    sys.exit(main())
