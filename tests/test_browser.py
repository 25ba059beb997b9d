"""The shared browser layer in real Chromium: phone viewport, offline serving, blocking,
determinism, frozen animations, and recolouring rules that beat the page's own."""

from __future__ import annotations

import asyncio
import io
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from colorgen.browser import (
    BrowserConfig,
    Chromium,
    StaticServer,
    apply_colors_css,
    first_screen_png,
    inject_css,
)
from colorgen.extract.colors import to_rgb_string

CORPUS = Path(__file__).parent / "fixtures" / "html"


def test_static_server_serves_the_root_on_loopback_only():
    with StaticServer(CORPUS) as srv:
        assert srv.origin.startswith("http://127.0.0.1:")
        body = urllib.request.urlopen(srv.url("sites/fx__basic/colors.html"), timeout=5).read()
        assert body == (CORPUS / "sites/fx__basic/colors.html").read_bytes()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(srv.url("sites/nothing.html"), timeout=5)
        assert srv.url("a b/c.html").endswith("/a%20b/c.html")


def test_apply_colors_css_text():
    css = apply_colors_css(["#a", "#b"], ["rgb(1, 2, 3)", None], [None, "rgba(4, 5, 6, 0.5)"])
    assert "#a { background-color: rgb(1, 2, 3) !important; }" in css
    assert "#b { color: rgba(4, 5, 6, 0.5) !important; }" in css
    assert css.startswith("@layer colorgen {")
    with pytest.raises(ValueError):
        apply_colors_css(["#a"], [])


def run(coro):
    return asyncio.run(coro)


@pytest.mark.browser
def test_phone_page_is_deterministic_blocked_and_recolourable(tmp_path):
    (tmp_path / "p.html").write_text(
        """<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
          body { margin: 0 }
          #a { height: 100px; background-color: rgb(255, 0, 0) !important; color: rgb(0, 0, 0) !important }
          #b { height: 100px; transition: background-color 10s; background-color: rgb(0, 0, 255) }
        </style></head><body>
        <div id="a">A</div><div id="b" style="background-color: rgb(0, 255, 0)">B</div>
        <img src="https://example.com/x.png"><script src="http://cdn.example.org/y.js"></script>
        </body></html>"""
    )

    async def go():
        async with StaticServer(tmp_path) as srv, Chromium(BrowserConfig()) as chrome:
            url = srv.url("p.html")
            first = await chrome.open(url, srv.origin)
            try:
                info = await first.page.evaluate(
                    "() => [innerWidth, innerHeight, navigator.userAgent, Date.now(), Math.random(), matchMedia('(pointer: coarse)').matches]"
                )
                blocked = first.blocked
                css = apply_colors_css(["#a", "#b"], ["rgb(10, 20, 30)", "rgb(40, 50, 60)"], ["rgb(1, 1, 1)", None])
                await inject_css(first.page, css)
                colors = await first.page.evaluate(
                    "() => ['#a', '#b'].map(s => [getComputedStyle(document.querySelector(s)).backgroundColor, getComputedStyle(document.querySelector(s)).color])"
                )
                png = await first_screen_png(first.page)
            finally:
                await first.close()
            second = await chrome.open(url, srv.origin)
            try:
                info2 = await second.page.evaluate("() => [Date.now(), Math.random()]")
            finally:
                await second.close()
            return info, blocked, colors, png, info2

    info, blocked, colors, png, info2 = run(go())
    width, height, ua, now, rnd, coarse = info
    assert (width, height) == (375, 812) and "iPhone" in ua and not coarse  # official profile: no touch emulation
    assert [now, rnd] == info2  # fake clock and seeded Math.random: every load sees the same values
    assert blocked == 2
    # layered !important beats the page's !important and inline style; transitions are frozen
    assert colors == [["rgb(10, 20, 30)", "rgb(1, 1, 1)"], ["rgb(40, 50, 60)", "rgb(0, 0, 0)"]]
    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (375, 812)
        assert im.convert("RGB").getpixel((300, 50)) == (10, 20, 30)
        assert im.convert("RGB").getpixel((300, 150)) == (40, 50, 60)


@pytest.mark.browser
def test_modern_colour_conversion_matches_chromium_painting():
    """Our CSS Color 4 maths against the pixels Chromium paints for the same (opaque) colour."""
    colors = ["oklch(0.7 0.1 200)", "lab(50 20 30)", "lch(60 40 300)", "oklab(0.5 -0.1 0.05)",
              "color(display-p3 0.2 0.6 0.3)", "color(srgb-linear 0.2 0.3 0.4)", "color(xyz-d50 0.2 0.3 0.4)",
              "color(prophoto-rgb 0.3 0.5 0.7)", "color(rec2020 0.3 0.5 0.7)", "color(a98-rgb 0.3 0.5 0.7)"]

    async def go():
        async with StaticServer(CORPUS) as srv, Chromium(BrowserConfig(fake_clock=False, settle_ms=0)) as chrome:
            mp = await chrome.new_page(srv.origin)
            try:
                return await mp.page.evaluate(
                    """(cs) => cs.map((c) => {
                        const d = document.createElement('div'); d.style.backgroundColor = c; document.body.appendChild(d);
                        const cv = document.createElement('canvas'); cv.width = cv.height = 1;
                        const x = cv.getContext('2d'); x.fillStyle = c; x.fillRect(0, 0, 1, 1);
                        return [getComputedStyle(d).backgroundColor, Array.from(x.getImageData(0, 0, 1, 1).data)];
                    })""",
                    colors,
                )
            finally:
                await mp.close()

    for css, (computed, painted) in zip(colors, run(go()), strict=True):
        ours = to_rgb_string(computed)
        rgb = [int(v) for v in ours[ours.index("(") + 1 : -1].split(",")]
        assert max(abs(a - b) for a, b in zip(rgb, painted[:3], strict=True)) <= 1, (css, computed, ours, painted)


@pytest.mark.browser
def test_a_script_error_in_a_timer_does_not_fail_the_page(tmp_path):
    """Pages whose jQuery plugins failed to load throw inside timers; a browser survives that, so must we."""
    (tmp_path / "p.html").write_text(
        """<!doctype html><html><body><div id="a">A</div><script>
        setTimeout(() => { undefinedPlugin(); }, 50);
        setTimeout(() => { document.getElementById('a').style.backgroundColor = 'rgb(1, 2, 3)'; }, 500);
        </script></body></html>"""
    )

    async def go():
        async with StaticServer(tmp_path) as srv, Chromium(BrowserConfig()) as chrome:
            mp = await chrome.open(srv.url("p.html"), srv.origin)
            try:
                return await mp.page.evaluate("() => getComputedStyle(document.getElementById('a')).backgroundColor")
            finally:
                await mp.close()

    assert run(go()) == "rgb(1, 2, 3)"  # the later timer still ran


@pytest.mark.browser
@pytest.mark.parametrize("quiet_ms", [0, 3000])
def test_a_script_loaded_image_is_waited_for_when_asked(tmp_path, monkeypatch, quiet_ms):
    """A preloader's bar hides once a script-loaded image arrives; served late (a busy machine), the
    bar is still up at the end of the fixed real wait unless the settle waits for the network."""
    import time

    from colorgen import browser

    (tmp_path / "slow.png").write_bytes(b"not really a png")
    (tmp_path / "p.html").write_text(
        """<!doctype html><html><head><style>
          #bar { height: 4px; background: blue; transition: opacity .25s 1s }
          #bar.loaded { opacity: 0 }
        </style></head><body><div id="bar"></div>
        <script>window.addEventListener('load', () => {
          const im = new Image(), done = () => document.getElementById('bar').classList.add('loaded');
          im.onload = done; im.onerror = done; im.src = 'slow.png';
        });</script></body></html>"""
    )
    plain_get = browser._QuietHandler.do_GET

    def slow_get(self):
        if self.path.endswith("slow.png"):
            time.sleep(2.0)  # well past the 250 ms real wait on a slow first start, within the 3 s network wait
        return plain_get(self)

    monkeypatch.setattr(browser._QuietHandler, "do_GET", slow_get)

    async def go():
        async with StaticServer(tmp_path) as srv, Chromium(BrowserConfig(network_quiet_ms=quiet_ms)) as chrome:
            mp = await chrome.open(srv.url("p.html"), srv.origin)
            try:
                return await mp.page.evaluate("() => getComputedStyle(document.getElementById('bar')).opacity"), mp.waited_ms
            finally:
                await mp.close()

    opacity, waited = run(go())
    cfg = BrowserConfig(network_quiet_ms=quiet_ms)
    if quiet_ms:
        assert opacity == "0" and waited > cfg.real_settle_ms
    else:
        assert opacity == "1" and waited == cfg.real_settle_ms


@pytest.mark.browser
@pytest.mark.parametrize("end_events_ms", [0, 250])
def test_end_events_of_frozen_transitions_run_their_handlers(tmp_path, end_events_ms):
    """A carousel shows its caption when the slide's transition ends (transitionend), and the
    caption's entrance animation marks it when done (animationend). The slide starts moving in
    virtual time and takes 2 s of real time, so it is still moving at the end of the real wait on
    any machine: frozen without its end event, the caption stays hidden (what a busy machine
    used to extract); with the end events awaited, both handlers run."""
    (tmp_path / "p.html").write_text(
        """<!doctype html><html><head><style>
          #slide { height: 50px; background: rgb(0, 0, 255); transition: transform 2s linear }
          #slide.moved { transform: translateX(-10px) }
          #caption { display: none; color: rgb(255, 0, 0) }
          @keyframes enter { from { opacity: 0 } to { opacity: 1 } }
          #caption.entering { animation: enter 1s both }
        </style></head><body><div id="slide"></div><p id="caption">Caption</p>
        <script>
          const slide = document.getElementById('slide'), caption = document.getElementById('caption');
          slide.addEventListener('transitionend', () => { caption.style.display = 'block'; caption.classList.add('entering'); });
          caption.addEventListener('animationend', () => { caption.dataset.entered = 'yes'; });
          setTimeout(() => slide.classList.add('moved'), 1000);
        </script></body></html>"""
    )
    cfg = BrowserConfig(real_settle_ms=0, network_quiet_ms=0, end_events_ms=end_events_ms)

    async def go():
        async with StaticServer(tmp_path) as srv, Chromium(cfg) as chrome:
            mp = await chrome.open(srv.url("p.html"), srv.origin)
            try:
                state = await mp.page.evaluate("""() => { const c = document.getElementById('caption'), s = getComputedStyle(c);
                  return [s.display, s.opacity, c.dataset.entered || null, getComputedStyle(document.getElementById('slide')).transform]; }""")
                return state, mp.freeze_stats
            finally:
                await mp.close()

    (display, opacity, entered, transform), stats = run(go())
    assert transform == "matrix(1, 0, 0, 1, -10, 0)"  # the slide is at its end either way
    if end_events_ms:
        assert (display, opacity, entered) == ("block", "1", "yes")
        assert stats == {"finished": 2, "cancelled": 0, "end_event_rounds": 2}
    else:
        assert display == "none" and entered is None
        assert "end_event_rounds" not in stats
