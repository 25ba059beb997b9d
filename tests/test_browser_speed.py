"""The issue-12 browser speed-ups change nothing that is measured, on real pages.

``BEFORE`` is the browser as it was (a new context made on demand per page); the defaults prewarm
contexts, recycle a closed page's context for the next page and swap colour stylesheets in one call. Both must give the same extracted records
(elements, order, colours, features, selectors) and the same renders (screenshot pixels,
axe-core contrast results) of the same real pages. The opt-in early end of the real wait
(``settle_check``) is checked to engage; it is not claimed to leave every pixel alone.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import numpy as np
import pytest

from colorgen.bench.extract import BEFORE
from colorgen.browser import BrowserConfig, Chromium, StaticServer, apply_colors_css
from colorgen.extract import bundle
from colorgen.extract.corpus import RunSettings, extract_pages, read_manifest, select_entries
from colorgen.extract.fidelity import decode_png, ground_truth_css
from colorgen.render.screenshots import RenderJob, Variant, render

pytestmark = pytest.mark.browser

HERE = Path(__file__).parent
WEBPAGES = Path(os.environ.get("COLORGEN_WEBPAGES", HERE.parent.parent / "shared" / "webpages"))


@pytest.fixture(scope="module")
def real_pages():
    if not (WEBPAGES / "MANIFEST.tsv").is_file():
        pytest.skip(f"real web pages not found at {WEBPAGES} (set COLORGEN_WEBPAGES)")
    return select_entries(read_manifest(WEBPAGES), limit=3, sample="spread")


@pytest.fixture(scope="module")
def extracted(real_pages, tmp_path_factory):
    """The same pages extracted with the old, the new and the early-settle browser settings
    (fidelity in the open page for the new ones)."""
    outs = {}
    for name, browser in (("before", BrowserConfig(**BEFORE)), ("after", BrowserConfig()),
                          ("early", BrowserConfig(settle_check=True))):
        out = tmp_path_factory.mktemp(name)
        settings = RunSettings(workers=2, fidelity=name != "before", fidelity_reload=False, retries=0)
        info = asyncio.run(extract_pages(WEBPAGES, out, real_pages, browser, settings))
        assert info["ok"] == len(real_pages), info
        outs[name] = out
    return outs


def test_new_settings_extract_the_same_records(real_pages, extracted):
    for e in real_pages:
        old, old_meta = bundle.read_record(extracted["before"], e.page_id)
        new, new_meta = bundle.read_record(extracted["after"], e.page_id)
        assert new == old, e.page_id  # element order, tags, colours, features
        assert bundle.load_bundle(extracted["after"], e.page_id).selectors == \
            bundle.load_bundle(extracted["before"], e.page_id).selectors
        assert old_meta["real_wait_ms"] == new_meta["real_wait_ms"] == BrowserConfig().real_settle_ms


def test_settle_check_ends_the_real_wait_early_on_a_settled_page(real_pages, extracted):
    waits = [bundle.read_record(extracted["early"], e.page_id)[1]["real_wait_ms"] for e in real_pages]
    assert min(waits) == BrowserConfig().settle_check_ms < BrowserConfig().real_settle_ms, waits
    assert set(waits) <= {BrowserConfig().settle_check_ms, BrowserConfig().real_settle_ms}


def test_render_cache_key_is_unchanged_unless_the_settle_check_is_on():
    for speed_only in ("settle_check", "prewarm", "recycle"):
        assert speed_only not in repr(BrowserConfig()) and speed_only not in repr(BrowserConfig(recycle=False))
    assert "network_quiet_ms" not in repr(BrowserConfig(network_quiet_ms=0))
    assert "end_events_ms" not in repr(BrowserConfig(end_events_ms=0)) and "end_events_ms=250" in repr(BrowserConfig())
    assert "settle_check=True" in repr(BrowserConfig(settle_check=True))


def test_fidelity_in_the_open_page_finds_the_extracted_colours(real_pages, extracted):
    for e in real_pages:
        _, meta = bundle.read_record(extracted["after"], e.page_id)
        assert meta["fidelity"]["changed"] < 0.01, (e.page_id, meta["fidelity"])


def test_new_settings_render_the_same_pixels_and_audits(real_pages, extracted, tmp_path):
    jobs_for = {}
    for name, browser in (("before", BrowserConfig(**BEFORE)), ("after", BrowserConfig())):
        jobs = []
        for e in real_pages:
            page, _ = bundle.read_record(extracted["before"], e.page_id)
            selectors = bundle.load_bundle(extracted["before"], e.page_id).selectors
            truth = ground_truth_css(page, selectors)
            red = apply_colors_css(selectors, ["rgb(255, 0, 0)"] * len(selectors), [el.text_color for el in page.elements])
            variants = tuple(Variant(css, tmp_path / name / f"{e.page_id}.{k}.png", tmp_path / name / f"{e.page_id}.{k}.axe.json")
                             for k, css in enumerate((truth, red)))
            jobs.append(RenderJob(e.page_id, e.source, variants))
        report = render(jobs, WEBPAGES, browser, workers=2)
        assert not report.failed and report.variants == 2 * len(real_pages)
        jobs_for[name] = jobs
    for old, new in zip(jobs_for["before"], jobs_for["after"], strict=True):
        for vo, vn in zip(old.variants, new.variants, strict=True):
            assert np.array_equal(decode_png(vo.png.read_bytes()), decode_png(vn.png.read_bytes())), vo.png.name
            assert json.loads(vo.audit.read_text()) == json.loads(vn.audit.read_text()), vo.audit.name
        truth_px, red_px = (decode_png(v.png.read_bytes()) for v in new.variants)
        assert not np.array_equal(truth_px, red_px)  # the colourings really differ on screen


def test_prewarmed_contexts_are_fresh_and_closed_with_the_browser(tmp_path):
    (tmp_path / "a.html").write_text("<html><body><script>localStorage.n = (+localStorage.n || 0) + 1;"
                                     "document.title = localStorage.n</script></body></html>")

    async def titles():
        async with StaticServer(tmp_path) as server, Chromium(BrowserConfig(prewarm=2, recycle=False)) as chrome:
            seen = []
            for _ in range(3):
                mp = await chrome.open(server.url("a.html"), server.origin)
                seen.append(await mp.page.title())
                await mp.close()
            spares = len(chrome._spare)
            contexts_open = len(chrome.browser.contexts)
        return seen, spares, contexts_open

    seen, spares, contexts_open = asyncio.run(titles())
    assert seen == ["1", "1", "1"]  # every page in a new context: no storage carried over
    assert spares == 2 and contexts_open == 2  # the spares, nothing leaked


_STATEFUL_PAGE = """<html><body><script>
  localStorage.n = (+localStorage.n || 0) + 1; sessionStorage.n = (+sessionStorage.n || 0) + 1;
  document.cookie = 'n=' + ((+(document.cookie.match(/n=(\\d+)/) || [0, 0])[1]) + 1);
  setTimeout(() => { document.body.dataset.late = Date.now(); }, 1000);
  document.title = [localStorage.n, sessionStorage.n, document.cookie, Date.now()].join(' ');
</script></body></html>"""


def test_a_recycled_context_looks_new_to_the_next_page(tmp_path):
    (tmp_path / "a.html").write_text(_STATEFUL_PAGE)

    async def visits():
        async with StaticServer(tmp_path) as server, Chromium(BrowserConfig(prewarm=0)) as chrome:
            seen, contexts = [], set()
            for _ in range(3):
                mp = await chrome.open(server.url("a.html"), server.origin)
                seen.append((await mp.page.title(), await mp.page.evaluate("() => document.body.dataset.late"),
                             mp.waited_ms, mp.status))
                contexts.add(id(mp.context))
                await mp.close()
            broken = await chrome.open(server.url("a.html"), server.origin)
            await broken.page.close()  # e.g. a crashed renderer: its context cannot serve again
            await broken.close()
            return seen, len(contexts), len(chrome._idle), len(chrome.browser.contexts)

    seen, used, idle, contexts_open = asyncio.run(visits())
    assert used == 1  # one context served every page
    # no storage, cookie or clock time carried over: each page starts as the first did, and the
    # settle ran its timers at the same virtual times
    assert seen == [seen[0]] * 3, seen
    assert seen[0][0].startswith("1 1 n=1 ") and seen[0][1] is not None
    assert idle == 0 and contexts_open == 0  # the broken page's context was closed, not kept


def test_recycled_contexts_end_with_their_browser_and_origin(tmp_path):
    (tmp_path / "a.html").write_text("<html><body>a</body></html>")

    async def run():
        async with StaticServer(tmp_path) as one, StaticServer(tmp_path) as other, Chromium(BrowserConfig(prewarm=0)) as chrome:
            mp = await chrome.open(one.url("a.html"), one.origin)
            await mp.close()
            idle_after_close = len(chrome._idle)
            mp = await chrome.open(other.url("a.html"), other.origin)  # another origin: the idle one goes
            contexts_then = len(chrome.browser.contexts)
            await mp.close()
            await chrome.restart()  # e.g. after a crash: nothing of the old browser is served again
            stale = len(chrome._idle)
            mp = await chrome.open(other.url("a.html"), other.origin)
            text = await mp.page.inner_text("body")
            await mp.close()
            return idle_after_close, contexts_then, stale, text

    assert asyncio.run(run()) == (1, 1, 0, "a")
