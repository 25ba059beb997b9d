"""Headless Chromium at phone size, shared by extraction and rendering.

Why one module: a page must look the same whenever colorgen opens it (extraction, fidelity
check, re-colouring generated palettes), so the browser profile (viewport, user agent,
emulation), offline serving, request blocking, settling and animation freezing live here once.

Profiles (``BrowserConfig.profile``): ``official`` (default) is what the published WebColor
screenshots used, a desktop headless Chromium with a 375x812 window, the iPhone user agent and
hidden scrollbars; there is no mobile emulation, so a page without a viewport meta tag lays out
375 px wide. ``mobile`` is Playwright's phone emulation (``is_mobile``, touch): such a page
then lays out on a 980 px layout viewport shrunk to fit, as a real phone shows it.

Determinism: JS timers run on Playwright's fake clock, paused at a fixed date (the settle time
is virtual and advanced explicitly, so every load sees the same timer sequence and carousels do
not move between extraction and re-rendering), ``Math.random`` is seeded, and CSS animations/transitions are
finished (finite ones: end state) or cancelled (infinite ones: the element's own style) before
anything is read or shot, after the page's handlers for their end events have run (``end_events_ms``).

Speed (issue 12) without changing what is read or shot: a closed page's context is ``recycle``d
for the next page (document unloaded, cookies, storage and HTTP cache cleared, clock set back), so
pages load in a renderer process already running (on real pages, less than half the CPU of
loading in a new context); ``prewarm``
contexts are made ahead for when none is free. Opt-in, as it can shift a few
pixels by one level: ``settle_check=true`` ends the 250 ms real wait after the virtual settle at
``settle_check_ms`` when nothing is pending (no request in flight, fonts loaded, the first
screen's images complete).

Typical use (async; the render module reuses this)::

    async with StaticServer(root) as server, Chromium(cfg) as chrome:
        png = await chrome.screenshot(server.url("site/index.html"), css=apply_colors_css(sel, bg, fg))
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

from playwright.async_api import Browser, BrowserContext, Page, Playwright, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

log = logging.getLogger(__name__)

# The published WebColor renderer's user agent (iPhone Safari), FORMAT.md "Rendering".
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 11_0 like Mac OS X) AppleWebKit/604.1.38 "
    "(KHTML, like Gecko) Version/11.0 Mobile/15A372 Safari/604.1"
)
VIEWPORT = (375, 812)
DEFAULT_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--blink-settings=imageAnimationPolicy=2",  # animated GIFs stay on their first frame
)
PROFILES = ("official", "mobile")
# Cascade layer for our rules: layered !important beats every unlayered page rule, !important or not.
_LAYER = "colorgen"


def default_executable() -> str:
    """Chromium binary: ``$COLORGEN_CHROMIUM`` or Debian's ``/usr/bin/chromium``."""
    return os.environ.get("COLORGEN_CHROMIUM") or "/usr/bin/chromium"


@dataclass
class BrowserConfig:
    """How pages are opened; built from the ``browser`` block of a Hydra config."""

    profile: str = "official"  # official | mobile (see the module docstring)
    executable: str | None = None  # None: default_executable()
    args: Sequence[str] = DEFAULT_ARGS
    width: int = VIEWPORT[0]
    height: int = VIEWPORT[1]
    user_agent: str = IPHONE_UA
    load_timeout_ms: int = 20_000
    settle_ms: int = 3_000  # virtual (fake clock) time after `load`: preloaders fade out, sliders init
    real_settle_ms: int = 250  # real time after that, for late image decodes / IntersectionObservers
    # adaptive real wait: after settle_check_ms, skip the rest of real_settle_ms when nothing is
    # pending (no request in flight, fonts loaded, every on-screen <img> complete). Off by default:
    # extracted records stayed identical on 24 real pages, but one page's screenshot changed by one
    # level on 32 pixels (an image resampled before its final decode), which moves Pixel-FCD.
    settle_check: bool = False
    settle_check_ms: int = 50
    # after the real wait, wait up to this long (real ms) for requests still in flight, then let
    # their handlers run: a page that loads images from script (a preloader's progress bar, a
    # slider's slides) otherwise looks different on a busy machine. 0 = off (the key of renders
    # cached before it existed)
    network_quiet_ms: int = 3000
    # when freezing, let finished transitions/animations dispatch their end events and the page's
    # handlers run (at most this many real ms a round; see `freeze`): a carousel whose slide was
    # still moving otherwise loses the caption it shows on arrival when the machine is busy.
    # 0 = off (the key of renders cached before it)
    end_events_ms: int = 250
    # fresh contexts prepared ahead for when no recycled one is free: hides context and renderer
    # start-up behind other pages' work; 0 = create on demand. Not part of the cache key.
    prewarm: int = field(default=1, repr=False, compare=False)
    # a closed page's context serves the caller's next page (same origin): its document unloaded,
    # cookies, storage and HTTP cache cleared, the fake clock set back, so the next page loads as
    # in a new context but in a renderer process already running (starting one is most of a
    # page's CPU). False: a new context for every page. Not part of the cache key: records and
    # renders are the same either way (tests/test_browser_speed.py, experiments/speed/browser_recycle.md).
    recycle: bool = field(default=True, repr=False, compare=False)
    fake_clock: bool = True
    clock_time: str = "2024-01-01T12:00:00Z"
    random_seed: int = 1
    cdn_shim: str | None = None  # corpus cache folder: CDN requests answered offline (colorgen.corpus.shim)

    @classmethod
    def from_cfg(cls, cfg: Mapping | None) -> BrowserConfig:
        """Build from a mapping (a Hydra node or a plain dict); checked against the same schema as
        the ``browser`` group (:mod:`colorgen.config_schema`): unknown keys and wrong types raise."""
        from colorgen.config_schema import validated

        kw = validated(cls, cfg)
        if "args" in kw:
            kw["args"] = tuple(kw["args"])
        return cls(**kw)

    def __repr__(self) -> str:
        """The dataclass repr, which keys cached renders; the settle-check fields appear only when
        the check is on, ``network_quiet_ms`` and ``end_events_ms`` only when set, so renders cached before they existed
        stay valid with them off."""
        shown = [f for f in fields(self) if f.repr and (self.settle_check or not f.name.startswith("settle_check"))
                 and (getattr(self, f.name) or f.name not in ("network_quiet_ms", "end_events_ms"))]
        return f"{type(self).__qualname__}({', '.join(f'{f.name}={getattr(self, f.name)!r}' for f in shown)})"

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown browser profile {self.profile!r}; known: {list(PROFILES)}")

    def context_options(self) -> dict:
        """Playwright ``new_context`` settings of the profile (the part that decides layout).

        Both profiles use a 375x812 viewport at scale 1 and the iPhone user agent; they differ
        in mobile emulation, which decides the layout viewport of pages without a viewport meta
        tag, and touch / hover / pointer media features.
        """
        mobile = self.profile == "mobile"
        return {
            "viewport": {"width": self.width, "height": self.height},
            "screen": {"width": self.width, "height": self.height},
            "device_scale_factor": 1,
            "is_mobile": mobile,
            "has_touch": mobile,
            "user_agent": self.user_agent,
        }


# ---------------------------------------------------------------------------------------------
# Offline static server


class _QuietHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: many small files per page

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def handle(self):
        with contextlib.suppress(ConnectionError, TimeoutError):
            super().handle()


class StaticServer:
    """Serves a directory read-only on 127.0.0.1 (random free port) from a daemon thread."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"cannot serve {self.root}: not a directory")
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, rel_path: str) -> str:
        """URL of a file given by its path relative to the served root."""
        return f"{self.origin}/{quote(Path(rel_path).as_posix())}"

    def start(self) -> StaticServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="colorgen-http", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    async def __aenter__(self) -> StaticServer:
        return self.start()

    async def __aexit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# In-page helpers

_SEED_RANDOM_JS = """
(() => {
  let s = %d >>> 0;
  Math.random = function () {  // mulberry32: same sequence on every load
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
})();
"""

# Finite animations and transitions jump to their end (final colours); infinite ones (spinners,
# pulses) are cancelled, i.e. the element's own style without the animation, as a still page
# would show it. Counts the CSS transitions/animations among them: each dispatches one end (or
# cancel) event, which the window-level listener counts as it arrives.
_FINISH_ANIMATIONS_JS = """
() => {
  if (window.__colorgenEnded === undefined) {
    window.__colorgenEnded = 0;
    for (const type of ['transitionend', 'transitioncancel', 'animationend', 'animationcancel'])
      window.addEventListener(type, () => { window.__colorgenEnded++; }, true);
  }
  const ended = window.__colorgenEnded;
  let finished = 0, cancelled = 0, events = 0;
  for (const a of document.getAnimations()) {
    if (a.playState === 'finished') continue;  // held at its end (fill-mode): done already
    if ((typeof CSSTransition !== 'undefined' && a instanceof CSSTransition) ||
        (typeof CSSAnimation !== 'undefined' && a instanceof CSSAnimation)) events++;
    try {
      const end = a.effect ? a.effect.getComputedTiming().endTime : Infinity;
      if (Number.isFinite(end)) { a.finish(); finished++; } else { a.cancel(); cancelled++; }
    } catch (e) {
      try { a.cancel(); cancelled++; } catch (_) {}
    }
  }
  return {finished, cancelled, events, ended};
}
"""

# Appends a stylesheet to the page; ``data-colorgen`` names its role, so a colouring's can be found and swapped.
_APPEND_STYLE_JS = """
(role, css) => {
  const style = document.createElement('style');
  style.setAttribute('data-colorgen', role);
  style.textContent = css;
  (document.head || document.documentElement).appendChild(style);
}
""".strip()

_FREEZE_JS = (
    "(css) => {\n"
    f"  ({_APPEND_STYLE_JS})('freeze', css);\n"
    f"  const counts = ({_FINISH_ANIMATIONS_JS.strip()})();\n"
    """  for (const v of document.querySelectorAll('video,audio')) { try { v.pause(); } catch (_) {} }
  const ae = document.activeElement;
  if (ae && ae !== document.body && ae.blur) ae.blur();  // no focus ring / caret
  return {finished: counts.finished, cancelled: counts.cancelled};
}
"""
)

# Transitions off from now on (so recolouring applies at once), no caret blink.
_FREEZE_CSS = (
    f"@layer {_LAYER} {{ *, *::before, *::after {{ transition: none !important; "
    "caret-color: transparent !important; scroll-behavior: auto !important; } }"
)

_INJECT_CSS_JS = f"(css) => ({_APPEND_STYLE_JS})('colors', css)"


def apply_colors_css(
    selectors: Sequence[str],
    background_colors: Sequence[str | None],
    text_colors: Sequence[str | None] | None = None,
) -> str:
    """A stylesheet that gives element i its colours and wins over every rule of the page.

    Rules are ``!important`` inside a cascade layer: layered important declarations beat all
    unlayered ones (the page's, important or not). ``None`` leaves that property alone;
    text colour is set only where given (text elements), as the published renderer does.
    """
    if len(background_colors) != len(selectors) or (text_colors is not None and len(text_colors) != len(selectors)):
        raise ValueError("selectors and colour lists must have the same length")
    rules = []
    for i, sel in enumerate(selectors):
        decl = []
        if background_colors[i] is not None:
            decl.append(f"background-color: {background_colors[i]} !important;")
        if text_colors is not None and text_colors[i] is not None:
            decl.append(f"color: {text_colors[i]} !important;")
        if decl:
            rules.append(f"  {sel} {{ {' '.join(decl)} }}")
    return f"@layer {_LAYER} {{\n" + "\n".join(rules) + "\n}\n"


async def inject_css(page: Page, css: str) -> None:
    """Append a stylesheet to the page and let it apply (transitions are frozen, so at once)."""
    await page.evaluate(_INJECT_CSS_JS, css)


# ---------------------------------------------------------------------------------------------
# Browser, contexts, pages


@dataclass
class MobilePage:
    """One page in its own context (new or recycled), with the requests it tried to send elsewhere counted."""

    context: BrowserContext
    page: Page
    origin: str
    blocked: int = 0
    blocked_hosts: Counter = field(default_factory=Counter)
    freeze_stats: dict = field(default_factory=dict)
    status: int = 0  # HTTP status of the main document (0: unknown)
    shim: object | None = None  # a colorgen.corpus.shim.CdnShim when browser.cdn_shim is set
    inflight: int = 0  # requests started and not yet finished/failed (for the adaptive settle)
    waited_ms: int = -1  # real settle time actually waited (-1: not settled yet)
    release: Callable[[MobilePage], Awaitable[bool]] | None = field(default=None, repr=False)  # close() offers the context back (BrowserConfig.recycle)

    def _track_requests(self) -> None:
        def started(_req) -> None:
            self.inflight += 1

        def ended(_req) -> None:
            self.inflight -= 1

        self.page.on("request", started)
        self.page.on("requestfinished", ended)
        self.page.on("requestfailed", ended)

    def foreign(self) -> re.Pattern:
        """URLs not on our origin; matched inside Playwright, so allowed requests never reach Python."""
        return re.compile(rf"^(?!{re.escape(self.origin)}(?:/|$))")

    async def _block(self, route: Route) -> None:
        url = route.request.url
        # --- corpus CDN shim hook (issue 13): pinned packages answer CDN requests offline ---
        hit = self.shim.resolve(url) if self.shim is not None else None
        if hit is not None:
            await route.fulfill(status=200, body=hit.body, headers=hit.fulfil_headers())
            return
        # --- end of CDN shim hook ---
        self.blocked += 1
        self.blocked_hosts[url.split("/")[2] if "://" in url else url.split(":")[0]] += 1
        await route.abort("blockedbyclient")

    def forget(self) -> None:
        """The per-load counters back to a new page's (the context is serving another page)."""
        self.blocked, self.blocked_hosts, self.freeze_stats = 0, Counter(), {}
        self.status, self.waited_ms = 0, -1

    async def close(self) -> None:
        """Done with the page: its context is recycled when its browser takes it back, else closed."""
        release, self.release = self.release, None
        if release is not None and await release(self):
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.context.close(), timeout=10)


# Storage a page may have left for the next one of the same origin (cookies and HTTP cache are
# cleared from outside); run before its document is unloaded.
_CLEAR_STORAGE_JS = """
() => { for (const s of ['localStorage', 'sessionStorage']) { try { window[s].clear(); } catch (e) {} } }
"""


class Chromium:
    """A launched Chromium (async). Opens phone-sized pages (of ``cfg.profile``) on one served origin."""

    def __init__(self, cfg: BrowserConfig | None = None):
        self.cfg = cfg or BrowserConfig()
        self._pw_cm = None
        self._pw: Playwright | None = None
        self.browser: Browser | None = None
        self.generation = 0  # bumped by restart(): lets parallel users tell a fresh browser from the dead one
        self._spare: list[asyncio.Task] = []  # prewarmed contexts (cfg.prewarm), oldest first
        self._spare_origin: str | None = None
        self._idle: list[MobilePage] = []  # recycled contexts waiting for a page (cfg.recycle)

    def _cdn_shim(self):
        """The CDN shim of ``cfg.cdn_shim`` (built once), or None: corpus CDN shim hook (issue 13)."""
        if self.cfg.cdn_shim and getattr(self, "_shim", None) is None:
            from colorgen.corpus.shim import CdnShim

            self._shim = CdnShim(self.cfg.cdn_shim)
        return getattr(self, "_shim", None)

    async def start(self) -> Chromium:
        exe = self.cfg.executable or default_executable()
        if not Path(exe).is_file():
            raise FileNotFoundError(f"Chromium not found at {exe}; set browser.executable or $COLORGEN_CHROMIUM")
        self._pw_cm = async_playwright()
        self._pw = await self._pw_cm.__aenter__()
        self.browser = await self._pw.chromium.launch(executable_path=exe, args=list(self.cfg.args))
        return self

    async def _drop_spares(self) -> None:
        idle, self._idle = self._idle, []
        for mp in idle:
            mp.release = None  # closed for good, not offered back
            await mp.close()
        spares, self._spare = self._spare, []
        for task in spares:
            task.cancel()
        for task in spares:
            with contextlib.suppress(BaseException):
                mp = await task
                await mp.close()

    async def close(self) -> None:
        await self._drop_spares()
        if self.browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.browser.close(), timeout=15)
            self.browser = None
        if self._pw_cm is not None:
            with contextlib.suppress(Exception):
                await self._pw_cm.__aexit__(None, None, None)
            self._pw_cm = self._pw = None

    @property
    def alive(self) -> bool:
        return self.browser is not None and self.browser.is_connected()

    async def restart(self) -> None:
        """After a browser crash: a fresh process (same settings)."""
        await self.close()  # spares of the dead browser go with it
        await self.start()
        self.generation += 1

    async def __aenter__(self) -> Chromium:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def new_page(self, origin: str) -> MobilePage:
        """A fresh 375x812 page (own context) of the configured profile that may only talk to
        ``origin``: a recycled one when there is one (``cfg.recycle``), else taken from the
        prewarmed spares when there are any, which are then refilled."""
        assert self.browser is not None, "Chromium not started"
        origin = origin.rstrip("/")
        if self._spare_origin != origin:
            await self._drop_spares()
            self._spare_origin = origin
        if self._idle:
            return self._idle.pop()
        if self.cfg.prewarm <= 0:
            return await self._create_page(origin)
        mp = None
        while self._spare and mp is None:
            task = self._spare.pop(0)
            try:
                mp = await task
            except Exception as err:  # a spare that failed (e.g. browser restarting): make one now
                log.debug("prewarmed context failed: %s", err)
        while len(self._spare) < self.cfg.prewarm:
            self._spare.append(asyncio.ensure_future(self._create_page(origin)))
        return mp if mp is not None else await self._create_page(origin)

    async def _create_page(self, origin: str) -> MobilePage:
        assert self.browser is not None, "Chromium not started"
        c = self.cfg
        context = await self.browser.new_context(
            **c.context_options(),
            service_workers="block",
            java_script_enabled=True,
        )
        mp = MobilePage(context=context, page=await context.new_page(), origin=origin.rstrip("/"), shim=self._cdn_shim())
        if c.recycle:
            mp.release = self._make_release(self.generation)
        try:
            if c.settle_check or c.network_quiet_ms > 0:
                mp._track_requests()
            await context.route(mp.foreign(), mp._block)
            await context.add_init_script(_SEED_RANDOM_JS % c.random_seed)
            if c.fake_clock:  # JS time stands still except when settle() advances it
                await context.clock.install(time=self._clock_origin())
                await context.clock.pause_at(self._clock_start())
            mp.page.set_default_timeout(c.load_timeout_ms)
        except BaseException:
            await mp.close()
            raise
        return mp

    def _clock_origin(self) -> datetime:
        """Where the fake clock is installed (``cfg.clock_time``)."""
        return datetime.fromisoformat(self.cfg.clock_time.replace("Z", "+00:00"))

    def _clock_start(self) -> datetime:
        """Where a new context's fake clock stands when its page loads (paused)."""
        # the clock runs from install until paused: jump well ahead so a slow machine never asks
        # to pause in the past
        return self._clock_origin() + timedelta(minutes=10)

    def _make_release(self, generation: int) -> Callable[[MobilePage], Awaitable[bool]]:
        async def release(mp: MobilePage) -> bool:
            if generation != self.generation or mp.origin != self._spare_origin or not self.alive:
                return False
            try:
                await asyncio.wait_for(self._reset(mp), timeout=10)
            except Exception as err:  # a crashed or hung page: its context is closed instead
                log.debug("context not recycled: %s", err)
                return False
            mp.release = release
            self._idle.append(mp)
            return True

        return release

    async def _reset(self, mp: MobilePage) -> None:
        """Make a used context look new to the next page of its origin: storage cleared, document
        unloaded (its timers and requests end with it), cookies and HTTP cache cleared, the fake
        clock's wall time back at the start (its tick count keeps growing; pages see the same
        dates, and ``performance.now()`` differences, as in a new context)."""
        page = mp.page
        await page.evaluate(_CLEAR_STORAGE_JS)
        await page.goto("about:blank")
        for _ in range(40):  # cancelled requests report back (requestfailed) shortly after
            if mp.inflight <= 0:
                break
            await asyncio.sleep(0.025)
        if mp.inflight != 0:
            raise RuntimeError(f"{mp.inflight} requests of the last page still counted in flight")
        await mp.context.clear_cookies()
        cdp = await mp.context.new_cdp_session(page)
        try:
            await cdp.send("Storage.clearDataForOrigin", {"origin": mp.origin, "storageTypes": "all"})
            await cdp.send("Network.clearBrowserCache")
        finally:
            await cdp.detach()
        if self.cfg.fake_clock:
            await mp.context.clock.set_system_time(self._clock_start())
        mp.forget()

    async def open(self, url: str, origin: str) -> MobilePage:
        """Load ``url``, wait for `load`, let it settle, scroll to top, freeze animations.

        Raises on load timeout or navigation error (the caller records the reason).
        """
        mp = await self.new_page(origin)
        try:
            response = await mp.page.goto(url, wait_until="load", timeout=self.cfg.load_timeout_ms)
            mp.status = response.status if response is not None else 0
            mp.waited_ms = await settle(mp.page, self.cfg, mp)
            mp.freeze_stats = await freeze(mp.page, self.cfg.end_events_ms)
        except BaseException:
            await mp.close()
            raise
        return mp

    async def screenshot(self, url: str, origin: str, css: str | None = None) -> bytes:
        """PNG of the first screen, optionally after injecting a stylesheet: one call to re-render."""
        mp = await self.open(url, origin)
        try:
            if css:
                await inject_css(mp.page, css)
            return await first_screen_png(mp.page)
        finally:
            await mp.close()


async def _run_clock(page: Page, ms: int) -> None:
    """Advance the fake clock. A page script that throws inside a timer (e.g. a jQuery plugin
    that failed to load) is what a real browser logs and survives: Playwright runs every due
    timer and then re-raises the first such error, so log it and carry on."""
    try:
        await page.clock.run_for(ms)
    except PlaywrightError as err:
        if "Clock.run_for" not in str(err):
            raise
        log.info("page script error in a timer (ignored, as a browser would): %s", str(err).splitlines()[0][:200])


# Nothing left that the real wait is for: fonts in, every <img> on (or near) the first screen
# loaded. Lazy images further down are not waited for (their observers have not fired).
_SETTLED_JS = """
() => {
  if (document.readyState !== 'complete' || document.fonts.status !== 'loaded') return false;
  const h = window.innerHeight, w = window.innerWidth;
  for (const img of document.images) {
    if (img.complete) continue;
    const r = img.getBoundingClientRect();
    if (r.bottom >= -h && r.top <= 2 * h && r.right >= -w && r.left <= 2 * w) return false;
  }
  return true;
}
"""


async def settled(page: Page, mp: MobilePage | None) -> bool:
    """Whether the page has nothing pending that a longer real wait would let finish."""
    if mp is not None and mp.inflight > 0:
        return False
    try:
        return bool(await page.evaluate(_SETTLED_JS))
    except PlaywrightError:
        return False


async def settle(page: Page, cfg: BrowserConfig, mp: MobilePage | None = None) -> int:
    """Let the page reach its resting state after `load` (virtual timers, then a short real wait).

    With ``cfg.settle_check`` the real wait ends after ``settle_check_ms`` when :func:`settled`
    says nothing is pending (``mp`` counts requests in flight), else it runs to
    ``real_settle_ms``. Returns the real milliseconds waited.
    """
    if cfg.fake_clock:
        await _run_clock(page, cfg.settle_ms)
    await page.evaluate("() => window.scrollTo(0, 0)")
    with contextlib.suppress(Exception):
        await asyncio.wait_for(page.evaluate("() => document.fonts.ready.then(() => true)"), timeout=2)
    wait_ms = cfg.real_settle_ms if cfg.fake_clock else cfg.settle_ms
    if cfg.settle_check and cfg.settle_check_ms < wait_ms:
        await page.wait_for_timeout(cfg.settle_check_ms)
        if await settled(page, mp):
            wait_ms = cfg.settle_check_ms
        else:
            await page.wait_for_timeout(wait_ms - cfg.settle_check_ms)
    else:
        await page.wait_for_timeout(wait_ms)
    if cfg.network_quiet_ms > 0 and mp is not None:
        wait_ms += await wait_for_network(page, mp, cfg.network_quiet_ms)
    if cfg.fake_clock:  # timers queued by observers/image loads during the real wait
        await _run_clock(page, 100)
    return wait_ms


async def wait_for_network(page: Page, mp: MobilePage, limit_ms: int, poll_ms: int = 25, after_ms: int = 50) -> int:
    """Wait (real time, at most ``limit_ms``) until no request of the page is in flight; then
    ``after_ms`` more for their load handlers (an image's ``onload`` follows its response).
    Returns the real milliseconds waited (0 when nothing was in flight)."""
    waited = 0
    while mp.inflight > 0 and waited < limit_ms:
        await page.wait_for_timeout(poll_ms)
        waited += poll_ms
    if waited:
        if mp.inflight > 0:
            log.info("%d requests still in flight after %d ms; settling without them", mp.inflight, waited)
        await page.wait_for_timeout(after_ms)
        waited += after_ms
    return waited


async def freeze(page: Page, end_events_ms: int = 0, max_rounds: int = 5) -> dict:
    """Finish finite animations, cancel infinite ones, switch transitions off.

    With ``end_events_ms`` the finished CSS transitions and animations first dispatch their end
    events and the page's handlers for them run (a carousel shows its caption once its slide
    has arrived), round after round while the handlers start new ones, waiting at most
    ``end_events_ms`` real ms a round for the events. Why: without it, a transition still running
    when the page is frozen is cancelled without its end event, so what the page shows depends
    on whether the machine was fast enough to end it during the real settle wait.
    """
    rounds = finished = cancelled = 0
    while end_events_ms > 0 and rounds < max_rounds:
        counts = await page.evaluate(_FINISH_ANIMATIONS_JS)
        finished, cancelled = finished + counts["finished"], cancelled + counts["cancelled"]
        if not counts["events"]:
            break
        rounds += 1
        await _wait_for_end_events(page, counts["ended"] + counts["events"], end_events_ms)
    last = await page.evaluate(_FREEZE_JS, _FREEZE_CSS)
    stats = {"finished": finished + last["finished"], "cancelled": cancelled + last["cancelled"]}
    return stats | ({"end_event_rounds": rounds} if end_events_ms > 0 else {})


async def _wait_for_end_events(page: Page, target: int, limit_ms: int, poll_ms: int = 10) -> None:
    """Wait (real time, at most ``limit_ms``) until the page has counted ``target`` end events.
    An animation whose element left the rendering dispatches none: the limit ends that wait."""
    waited = 0
    while waited < limit_ms:
        if await page.evaluate("() => window.__colorgenEnded") >= target:
            return
        await page.wait_for_timeout(poll_ms)
        waited += poll_ms
    log.debug("end events: %d expected, still missing after %d ms", target, limit_ms)


async def first_screen_png(page: Page) -> bytes:
    """Viewport screenshot (375x812 at scale 1). Animations were settled by :func:`freeze`;
    Playwright's own ``animations="disabled"`` would restart infinite ones afterwards."""
    return await page.screenshot(type="png", full_page=False, animations="allow", caret="hide")
