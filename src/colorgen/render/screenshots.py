"""Many renderings at once: parallel browser pages, resumable, with an optional progress bar.

Why jobs with variants: opening and settling a page is the expensive part, so one job opens a
page once and then shoots/audits each of its colourings (the original, the ground truth, N
samples) by swapping the injected stylesheet. Every output is written atomically and a variant
whose outputs exist is skipped, so a killed run resumes where it stopped. A page that fails to
load is recorded and skipped (after one retry on a fresh browser if the browser died).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Page
from rich.progress import Progress

from colorgen.browser import BrowserConfig, Chromium, StaticServer, first_screen_png
from colorgen.io import write_atomic
from colorgen.render.contrast import audit_contrast
from colorgen.render.recolor import legible_rest_args, legible_rest_js

log = logging.getLogger(__name__)

# One round trip per colouring: undo the previous colouring (its stylesheet, and the inline colours
# legible_rest.js set), append the new stylesheet (the same element inject_css appends, so the
# page ends up exactly as clear + inject left it).
_SET_CSS_JS = """
(css) => {
  document.querySelectorAll('style[data-colorgen="colors"]').forEach(s => s.remove());
  document.querySelectorAll('[data-colorgen-rest]').forEach(el => {
    const [value, priority] = JSON.parse(el.getAttribute('data-colorgen-rest'));
    if (value) el.style.setProperty('color', value, priority); else el.style.removeProperty('color');
    el.removeAttribute('data-colorgen-rest');
  });
  if (!css) return;
  const style = document.createElement('style');
  style.setAttribute('data-colorgen', 'colors');
  style.textContent = css;
  (document.head || document.documentElement).appendChild(style);
}
"""


@dataclass(frozen=True)
class Variant:
    """One colouring of a page: a stylesheet (``None`` = the page's own colours) and its outputs."""

    css: str | None
    png: Path | None = None
    audit: Path | None = None  # JSON from :func:`colorgen.render.contrast.audit_contrast`
    rest: str | None = None  # contrast level for the text no colour rule sets (legible_rest.js); None = as the page has it

    def outputs(self) -> list[Path]:
        return [p for p in (self.png, self.audit) if p is not None]

    def done(self) -> bool:
        return all(p.is_file() for p in self.outputs())


@dataclass(frozen=True)
class RenderJob:
    """A page (path relative to the served root) and the colourings to shoot on it."""

    key: str
    url_path: str
    variants: tuple[Variant, ...]

    def done(self) -> bool:
        return all(v.done() for v in self.variants)


@dataclass
class RenderReport:
    jobs: int = 0
    skipped: int = 0  # already done (resumed)
    rendered: int = 0  # pages opened and finished
    variants: int = 0  # colourings shot/audited
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def pages_per_s(self) -> float:
        return self.rendered / self.seconds if self.seconds > 0 else 0.0




async def set_colors_css(page: Page, css: str | None, rest: str | None = None) -> dict | None:
    """Replace the injected colour stylesheet (``None``: back to the page's own colours); with
    ``rest`` (``aa`` / ``aaa``) also make the text no rule colours legible (``legible_rest.js``:
    returns how many elements it checked and changed)."""
    await page.evaluate(_SET_CSS_JS, css or None)
    if rest is None:
        return None
    return await page.evaluate(legible_rest_js(), legible_rest_args(rest))


async def shoot_variants(page: Page, variants: Sequence[Variant]) -> int:
    """Shoot/audit each colouring on an opened page; returns how many were done."""
    n = 0
    for v in variants:
        if v.done():
            continue
        await set_colors_css(page, v.css, v.rest)
        if v.png is not None:
            write_atomic(v.png, await first_screen_png(page))
        if v.audit is not None:
            result = await audit_contrast(page)
            write_atomic(v.audit, json.dumps(result).encode())
        n += 1
    return n


class _Runner:
    def __init__(self, chrome: Chromium, server: StaticServer, timeout_s: float):
        self.chrome, self.server, self.timeout_s = chrome, server, timeout_s
        self._restart_lock = asyncio.Lock()

    async def run_job(self, job: RenderJob) -> int:
        mp = await self.chrome.open(self.server.url(job.url_path), self.server.origin)
        try:
            return await shoot_variants(mp.page, job.variants)
        finally:
            await mp.close()

    async def run_with_retry(self, job: RenderJob) -> int:
        """Run a job; if it failed because the browser died, restart it and try once more."""
        try:
            return await asyncio.wait_for(self.run_job(job), self.timeout_s)
        except Exception:
            if self.chrome.alive:
                raise
        async with self._restart_lock:  # one worker restarts the crashed browser
            if not self.chrome.alive:
                log.warning("Chromium died while rendering %s; restarting", job.key)
                await self.chrome.restart()
        return await asyncio.wait_for(self.run_job(job), self.timeout_s)


async def arender(
    jobs: Sequence[RenderJob],
    serve_root: str | os.PathLike,
    browser: BrowserConfig | None = None,
    workers: int = 3,
    progress: Progress | None = None,
    description: str = "rendering",
    timeout_s: float = 90.0,
) -> RenderReport:
    """Async core of :func:`render`."""
    report = RenderReport(jobs=len(jobs))
    todo = [j for j in jobs if not j.done()]
    report.skipped = len(jobs) - len(todo)
    task = progress.add_task(description, total=len(jobs), completed=report.skipped) if progress else None
    if not todo:
        return report
    start = time.perf_counter()
    queue: asyncio.Queue[RenderJob] = asyncio.Queue()
    for j in todo:
        queue.put_nowait(j)
    async with StaticServer(serve_root) as server, Chromium(browser) as chrome:
        runner = _Runner(chrome, server, timeout_s)

        async def worker() -> None:
            while not queue.empty():
                job = queue.get_nowait()
                try:
                    shot = await runner.run_with_retry(job)  # not `+= await`: that reads the count before awaiting
                    report.variants += shot  # and loses the other workers' updates in between
                    report.rendered += 1
                except Exception as err:  # a broken page must not stop the batch
                    reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                    report.failed[job.key] = reason
                    log.warning("could not render %s (%s): %s", job.key, job.url_path, reason)
                if progress is not None:
                    progress.advance(task)

        await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(todo))))))
    report.seconds = time.perf_counter() - start
    return report


def render(
    jobs: Sequence[RenderJob],
    serve_root: str | os.PathLike,
    browser: BrowserConfig | None = None,
    workers: int = 3,
    progress: Progress | None = None,
    description: str = "rendering",
    timeout_s: float = 90.0,
) -> RenderReport:
    """Run every job in ``workers`` parallel pages of one Chromium serving ``serve_root``."""
    return asyncio.run(arender(jobs, serve_root, browser, workers, progress, description, timeout_s))
