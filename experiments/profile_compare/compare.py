"""How many corpus pages lay out differently under the official and the mobile browser profile.

Each page is opened once per profile (same settle / freeze as extraction) and compared on
  * the layout viewport width (``documentElement.clientWidth``): 980 under mobile emulation
    for pages without a viewport meta tag, 375 with the official profile;
  * the border boxes of every element under ``<body>`` (document order), rounded to 1 px;
  * the first-screen screenshots (share of pixels whose channels differ by more than 2).

Usage (from the worktree root)::

    PYTHONPATH=src python experiments/profile_compare/compare.py <webpages dir> <out dir> \
        [--sample all|spread] [--with-meta N] [--workers 1]

``--sample spread`` takes every page without a viewport meta tag (found by a regex on the
HTML) plus N pages with one, evenly spread over the manifest, and extrapolates the second
group's rate to all pages with the tag. Writes ``<out>/pages.jsonl`` and ``<out>/summary.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from colorgen.browser import BrowserConfig, Chromium, StaticServer, first_screen_png
from colorgen.extract.corpus import read_manifest
from colorgen.extract.fidelity import pixel_change

VIEWPORT_META = re.compile(rb"<meta[^>]*name\s*=\s*[\"']?viewport", re.IGNORECASE)

MEASURE_JS = """
() => {
  const de = document.documentElement;
  const boxes = [];
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    const r = el.getBoundingClientRect();
    boxes.push([Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)]);
  }
  return {
    meta: !!document.querySelector('meta[name="viewport" i]'),
    client_width: de.clientWidth, scroll_width: de.scrollWidth, scroll_height: de.scrollHeight,
    boxes,
  };
}
"""


async def measure(chrome: Chromium, url: str, origin: str) -> tuple[dict, bytes]:
    mp = await chrome.open(url, origin)
    try:
        info = await mp.page.evaluate(MEASURE_JS)
        png = await first_screen_png(mp.page)
    finally:
        await mp.close()
    return info, png


def compare(a: dict, b: dict, png_a: bytes, png_b: bytes) -> dict:
    """Layout differences of one page between profile a (official) and b (mobile)."""
    boxes_a, boxes_b = np.array(a["boxes"]).reshape(-1, 4), np.array(b["boxes"]).reshape(-1, 4)
    same_count = len(boxes_a) == len(boxes_b)
    moved = int((np.abs(boxes_a - boxes_b).max(axis=1) > 1).sum()) if same_count else None
    return {
        "meta": a["meta"],
        "client_width": [a["client_width"], b["client_width"]],
        "scroll_width": [a["scroll_width"], b["scroll_width"]],
        "elements": [len(boxes_a), len(boxes_b)],
        "moved": moved,  # elements whose box differs by > 1 px (None: element counts differ)
        "viewport_differs": a["client_width"] != b["client_width"],
        "layout_differs": (not same_count) or bool(moved),
        "pixels_changed": pixel_change(png_a, png_b, tolerance=2)["changed"],
    }


def select(corpus: Path, sample: str, with_meta: int) -> tuple[list, dict]:
    entries = read_manifest(corpus)
    has_meta = {e.page_id: bool(VIEWPORT_META.search((corpus / e.source).read_bytes())) for e in entries}
    counts = {"pages": len(entries), "with_meta": sum(has_meta.values())}
    counts["without_meta"] = counts["pages"] - counts["with_meta"]
    if sample == "all":
        return entries, counts
    meta_entries = [e for e in entries if has_meta[e.page_id]]
    step = max(1, len(meta_entries) // max(1, with_meta))
    chosen = {e.page_id for e in meta_entries[::step][:with_meta]} | {e.page_id for e in entries if not has_meta[e.page_id]}
    return [e for e in entries if e.page_id in chosen], counts


async def run(corpus: Path, out: Path, entries: list, workers: int) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    done = {}
    jsonl = out / "pages.jsonl"
    if jsonl.is_file():
        for line in jsonl.read_text().splitlines():
            rec = json.loads(line)
            done[rec["page_id"]] = rec
    todo = [e for e in entries if e.page_id not in done]
    queue: asyncio.Queue = asyncio.Queue()
    for e in todo:
        queue.put_nowait(e)
    async with StaticServer(corpus) as server, \
            Chromium(BrowserConfig(profile="official")) as official, \
            Chromium(BrowserConfig(profile="mobile")) as mobile:
        with jsonl.open("a") as f:
            async def worker() -> None:
                while not queue.empty():
                    e = queue.get_nowait()
                    url = server.url(e.source)
                    try:
                        a, png_a = await asyncio.wait_for(measure(official, url, server.origin), 60)
                        b, png_b = await asyncio.wait_for(measure(mobile, url, server.origin), 60)
                        rec = {"page_id": e.page_id, "source": e.source, **compare(a, b, png_a, png_b)}
                    except Exception as err:  # noqa: BLE001 - recorded, the run goes on
                        rec = {"page_id": e.page_id, "source": e.source, "error": f"{type(err).__name__}: {str(err)[:200]}"}
                    done[e.page_id] = rec
                    f.write(json.dumps(rec) + "\n")
                    f.flush()
            await asyncio.gather(*(worker() for _ in range(workers)))
    return [done[e.page_id] for e in entries]


def summarise(recs: list[dict], counts: dict, sample: str, seconds: float) -> dict:
    ok = [r for r in recs if "error" not in r]
    groups = {"without_meta": [r for r in ok if not r["meta"]], "with_meta": [r for r in ok if r["meta"]]}
    summary = {"sample": sample, "corpus": counts, "opened": len(recs), "errors": len(recs) - len(ok), "seconds": round(seconds, 1)}
    for name, rs in groups.items():
        n = len(rs)
        summary[name] = {
            "measured": n,
            "viewport_differs": sum(r["viewport_differs"] for r in rs),
            "layout_differs": sum(r["layout_differs"] for r in rs),
            "pixels_differ_1pct": sum(r["pixels_changed"] > 0.01 for r in rs),
            "median_pixels_changed": float(np.median([r["pixels_changed"] for r in rs])) if rs else None,
        }
    if sample != "all" and summary["with_meta"]["measured"]:
        w = summary["with_meta"]
        rate = w["layout_differs"] / w["measured"]
        summary["with_meta"]["estimated_layout_differs_all"] = round(rate * counts["with_meta"], 1)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--sample", choices=("all", "spread"), default="spread")
    ap.add_argument("--with-meta", type=int, default=100, help="spread sample: pages with a viewport meta tag")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    entries, counts = select(args.corpus, args.sample, args.with_meta)
    t0 = time.perf_counter()
    recs = asyncio.run(run(args.corpus, args.out, entries, args.workers))
    summary = summarise(recs, counts, args.sample, time.perf_counter() - t0)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    json.dump(summary, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
