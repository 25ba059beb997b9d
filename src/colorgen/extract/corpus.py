"""Corpus -> staged pages -> one WebColor dataset (HDF5 + split), resumable and parallel.

Each page is processed in its own browser context (new or recycled, several at once on one Chromium), staged
on disk (bundle first, record last, both atomic), and only when every page is done are the
staged records assembled into the HDF5 file (written to a temp file and renamed). A kill at
any moment therefore loses at most the pages in flight and never leaves a corrupt dataset.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import TimeoutError as PlaywrightTimeout

from colorgen.browser import BrowserConfig, Chromium, StaticServer, first_screen_png
from colorgen.data.webcolor_format import RawPage, write_split, write_webcolor

from . import bundle
from .elements import PageSkipped, extract_elements
from .fidelity import fidelity, fidelity_in_page

log = logging.getLogger(__name__)

SPLIT_ORDER = ("test1", "test2", "val")  # drawn from the shuffled sites in this order; the rest is train


# a skip that a busy machine can cause, so worth another try at the end of the run: a preloader
# overlay still up (one waits for its images over the network, in real time; under load a page
# of gridgum__computer-repair was lost to it). Every other skip is the page's own final state.
LOAD_DEPENDENT = "covered:"


@dataclass(frozen=True)
class PageEntry:
    """One page of the corpus (a MANIFEST.tsv line)."""

    site: str
    path: str  # relative to <corpus>/sites, as in MANIFEST.tsv
    page_id: str

    @property
    def source(self) -> str:
        """Path relative to the corpus root (what page.json records and the server serves)."""
        return f"sites/{self.path}"


def make_page_id(path: str) -> str:
    """Site + page path -> a name safe as HDF5 group and directory (``site__sub__page``)."""
    stem = re.sub(r"\.html?$", "", path, flags=re.IGNORECASE)
    parts = [re.sub(r"[^A-Za-z0-9_-]+", "_", p).strip("_") or "_" for p in stem.split("/")]
    return "__".join(parts)


def read_manifest(corpus: Path) -> list[PageEntry]:
    """All pages of ``<corpus>/MANIFEST.tsv`` in file order; ids made unique with a hash if ever needed."""
    manifest = Path(corpus) / "MANIFEST.tsv"
    if not manifest.is_file():
        raise FileNotFoundError(f"no MANIFEST.tsv in corpus {corpus}")
    rows = []
    with manifest.open(newline="", encoding="utf-8") as f:
        for line_no, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or not row[0].strip():
                continue
            if len(row) < 2:
                raise ValueError(f"{manifest}:{line_no}: expected site and page path, got {row!r}")
            rows.append((row[0], row[1]))
    ids = [make_page_id(p) for _, p in rows]
    seen: dict[str, int] = {}
    for i in ids:
        seen[i] = seen.get(i, 0) + 1
    entries = []
    for (site, path), pid in zip(rows, ids, strict=True):
        if seen[pid] > 1:
            pid = f"{pid}_{hashlib.sha1(path.encode()).hexdigest()[:8]}"
        entries.append(PageEntry(site, path, pid))
    return entries


def split_sites(sites: Iterable[str], seed: int, fractions: dict[str, float]) -> dict[str, str]:
    """Site -> split name: shuffle the sorted sites with ``seed``, then cut test1, test2, val, train.

    With at least 4 sites every split gets at least one.
    """
    order = sorted(set(sites))
    random.Random(seed).shuffle(order)
    n = len(order)
    assignment: dict[str, str] = {}
    start = 0
    for name in SPLIT_ORDER:
        k = round(fractions.get(name, 0.0) * n)
        if n >= 4 and fractions.get(name, 0.0) > 0:
            k = max(k, 1)
        for s in order[start:start + k]:
            assignment[s] = name
        start += k
    for s in order[start:]:
        assignment[s] = "train"
    return assignment


@dataclass
class RunSettings:
    workers: int = 2
    page_timeout_s: float = 90.0
    fidelity: bool = True
    fidelity_tolerance: int = 2
    fidelity_reload: bool = True  # False: re-colour the page still open instead of loading it again
    retry_failed: bool = False
    skip_covered: bool = True
    retries: int = 1  # more tries, at the end of the run, for pages that timed out, errored or were covered


def _reason(err: BaseException, settings: RunSettings, load_timeout_ms: int) -> str:
    if isinstance(err, PageSkipped):
        return str(err)
    if isinstance(err, asyncio.TimeoutError | TimeoutError) and not isinstance(err, PlaywrightTimeout):
        return f"timeout: processing took longer than {settings.page_timeout_s:g} s"
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if isinstance(err, PlaywrightTimeout):
        return f"timeout: not loaded within {load_timeout_ms} ms ({msg})"
    if "crash" in msg.lower():
        return f"crash: {msg}"
    if "net::" in msg or "HTTP" in msg:
        return f"load error: {msg}"
    return f"error: {type(err).__name__}: {msg}"


async def process_page(chrome: Chromium, server: StaticServer, entry: PageEntry, out: Path, settings: RunSettings) -> dict:
    """Open, extract, screenshot, (re-render for fidelity), stage. Raises on failure."""
    t0 = time.perf_counter()
    url = server.url(entry.source)
    mp = await chrome.open(url, server.origin)
    try:
        if mp.status >= 400:
            raise PageSkipped(f"load error: HTTP {mp.status}")
        png = await first_screen_png(mp.page)
        ex = await extract_elements(mp.page, entry.page_id, server.origin, server.root,
                                    (chrome.cfg.width, chrome.cfg.height), settings.skip_covered)
        blocked, hosts, freeze_stats, waited = mp.blocked, dict(mp.blocked_hosts), mp.freeze_stats, mp.waited_ms
        t1 = time.perf_counter()
        fid = None
        if settings.fidelity and not settings.fidelity_reload:
            fid = await fidelity_in_page(mp.page, ex.page, ex.selectors, png, settings.fidelity_tolerance)
    finally:
        await mp.close()
    if settings.fidelity and settings.fidelity_reload:
        fid = await fidelity(chrome, url, server.origin, ex.page, ex.selectors, png, settings.fidelity_tolerance)
    t2 = time.perf_counter()
    meta = {
        "page_id": entry.page_id,
        "source": entry.source,
        "site": entry.site,
        "counts": ex.stats,
        "blocked_requests": blocked,
        "blocked_hosts": hosts,
        "animations": freeze_stats,
        "real_wait_ms": waited,  # the real settle wait this load took (browser.settle_check may cut it short)
        "viewport": [chrome.cfg.width, chrome.cfg.height],
        "user_agent": chrome.cfg.user_agent,
        "fidelity": fid,
        "seconds": {"extract": round(t1 - t0, 3), "fidelity": round(t2 - t1, 3)},
    }
    await asyncio.to_thread(bundle.write_bundle, out, entry.page_id, ex.selectors, meta, ex.extras, png)
    await asyncio.to_thread(bundle.write_record, out, ex.page, meta)
    return meta


def pending(entries: Sequence[PageEntry], out: Path, retry_failed: bool) -> list[PageEntry]:
    """Pages still to do: no staged record (and no failure marker unless failures are retried)."""
    todo = []
    for e in entries:
        if bundle.staged_path(out, e.page_id).is_file():
            continue
        if not retry_failed and bundle.staged_path(out, e.page_id, failed=True).is_file():
            continue
        todo.append(e)
    return todo


async def extract_pages(
    corpus: Path,
    out: Path,
    entries: Sequence[PageEntry],
    browser_cfg: BrowserConfig,
    settings: RunSettings,
    progress: Callable[[PageEntry, str | None], None] | None = None,
) -> dict:
    """Extract every pending entry with ``settings.workers`` pages at once; returns run timing."""
    todo = pending(entries, out, settings.retry_failed)
    (out / bundle.STAGING).mkdir(parents=True, exist_ok=True)
    for e in todo:  # retried failures start clean
        bundle.staged_path(out, e.page_id, failed=True).unlink(missing_ok=True)
    t0 = time.perf_counter()
    done = {"ok": 0, "failed": 0}
    if todo:
        queue: asyncio.Queue[PageEntry] = asyncio.Queue()
        for e in todo:
            queue.put_nowait(e)
        restart_lock = asyncio.Lock()
        async with StaticServer(corpus) as server, Chromium(browser_cfg) as chrome:
            started = time.perf_counter()

            async def attempt(entry: PageEntry) -> tuple[str | None, bool]:
                """Process one page: (None, _) on success, else (reason, transient). At once one
                more try if the browser died under it (the page may not be to blame)."""
                reason, transient = None, True
                for _ in range(2):
                    generation = chrome.generation
                    try:
                        await asyncio.wait_for(process_page(chrome, server, entry, out, settings), settings.page_timeout_s)
                        return None, False
                    except Exception as err:  # any page problem is recorded, never fatal to the run
                        reason = _reason(err, settings, browser_cfg.load_timeout_ms)
                        transient = not isinstance(err, PageSkipped) or reason.startswith(LOAD_DEPENDENT)
                        log.info("page %s failed: %s", entry.page_id, reason)
                    async with restart_lock:  # one worker restarts a dead browser; the others see it
                        if chrome.generation == generation and not chrome.alive:
                            log.warning("Chromium died; restarting")
                            await chrome.restart()
                        if chrome.generation == generation:
                            return reason, transient
                    reason = f"crash: browser died ({reason})"
                return reason, transient

            tries: dict[str, int] = {}

            async def worker() -> None:
                while True:
                    try:
                        entry = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    reason, transient = await attempt(entry)
                    if reason is not None and transient and tries.get(entry.page_id, 0) < settings.retries:
                        tries[entry.page_id] = tries.get(entry.page_id, 0) + 1
                        log.info("page %s will be tried again at the end", entry.page_id)
                        queue.put_nowait(entry)  # timeouts and errors may come from a loaded machine
                        continue
                    if reason is not None:
                        bundle.write_failure(out, entry.page_id, entry.source, reason)
                        done["failed"] += 1
                    else:
                        done["ok"] += 1
                    if progress:
                        progress(entry, reason)

            await asyncio.gather(*(worker() for _ in range(max(1, settings.workers))))
            work = time.perf_counter() - started
    elapsed = time.perf_counter() - t0
    return {
        "processed": len(todo),
        "ok": done["ok"],
        "failed": done["failed"],
        "skipped_as_done": len(entries) - len(todo),
        "seconds": round(elapsed, 2),
        "pages_per_second": round(len(todo) / work, 3) if todo else None,  # browser start excluded
        "workers": settings.workers,
    }


def assemble(out: Path, name: str, entries: Sequence[PageEntry], all_entries: Sequence[PageEntry],
             seed: int, fractions: dict[str, float]) -> dict:
    """Staged records -> ``webcolor_<name>.hdf5`` + ``webcolor_split_<name>.json`` + ``failures.tsv``.

    Sites are assigned to splits over the whole manifest (``all_entries``), so a page's split
    never depends on which other pages were extracted or failed.
    """
    kept = [e for e in entries if bundle.staged_path(out, e.page_id).is_file()]
    failed = [e for e in entries if not bundle.staged_path(out, e.page_id).is_file()
              and bundle.staged_path(out, e.page_id, failed=True).is_file()]
    metas: list[dict] = []
    raw_pages: list[RawPage] = []

    def pages() -> Iterable[RawPage]:
        for e in kept:
            page, meta = bundle.read_record(out, e.page_id)
            metas.append(meta)
            raw_pages.append(page)
            yield page

    h5 = out / f"webcolor_{name}.hdf5"
    write_webcolor(h5, pages())
    site_split = split_sites((e.site for e in all_entries), seed, fractions)
    splits: dict[str, list[str]] = {"train": [], "val": [], "test1": [], "test2": []}
    for e in kept:
        splits[site_split[e.site]].append(e.page_id)
    write_split(out / f"webcolor_split_{name}.json", splits)
    failures = [bundle.read_failure(out, e.page_id) for e in failed]
    lines = ["page_id\tsource\treason"] + [
        f"{f['page_id']}\t{f['source']}\t{f['reason'].replace(chr(9), ' ').replace(chr(10), ' ')}" for f in failures
    ]
    bundle.write_atomic(out / "failures.tsv", "\n".join(lines) + "\n")
    return {"hdf5": str(h5), "metas": metas, "pages": raw_pages, "failures": failures, "splits": {k: len(v) for k, v in splits.items()},
            "missing": len(entries) - len(kept) - len(failed)}


def select_entries(all_entries: Sequence[PageEntry], pages: Sequence[str] | None = None, limit: int | None = None,
                   sample: str = "first") -> list[PageEntry]:
    """The pages of a run: the given page paths / ids, else all; ``limit`` keeps the first N
    (``sample='spread'``: N pages spread evenly over the manifest, for quick runs across many sites)."""
    chosen = list(all_entries)
    if pages:
        wanted = set(pages)
        chosen = [e for e in chosen if e.path in wanted or e.page_id in wanted or e.source in wanted]
        missing = wanted - {e.path for e in chosen} - {e.page_id for e in chosen} - {e.source for e in chosen}
        if missing:
            raise ValueError(f"pages not in the manifest: {sorted(missing)[:5]}")
    if limit is not None and limit < len(chosen):
        if sample == "spread":
            step = len(chosen) / limit
            chosen = [chosen[int(i * step)] for i in range(limit)]
        else:
            chosen = chosen[:limit]
    return chosen

