"""Browser profiles: the official one (desktop headless, 375x812, iPhone UA) is the default, mobile
emulation is the switch; extraction and rendering see the same page under the same profile."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from colorgen.browser import IPHONE_UA, BrowserConfig, Chromium, StaticServer
from colorgen.extract.corpus import RunSettings, extract_pages, read_manifest
from colorgen.extract.fidelity import pixel_change

CORPUS = Path(__file__).parent / "fixtures" / "profile"
NO_META, META = "sites/prof/pages/noviewport.html", "sites/prof/viewport.html"
PROBE_JS = """() => ({width: document.documentElement.clientWidth, inner: innerWidth, ua: navigator.userAgent,
  touch: navigator.maxTouchPoints, lead: document.querySelector('#lead').getBoundingClientRect().width})"""


def test_official_profile_is_the_default_and_mobile_the_switch():
    assert BrowserConfig().profile == "official"
    assert BrowserConfig.from_cfg({"profile": "mobile"}).profile == "mobile"
    with pytest.raises(ValueError, match="unknown browser profile 'desktop'"):
        BrowserConfig(profile="desktop")
    official, mobile = BrowserConfig().context_options(), BrowserConfig(profile="mobile").context_options()
    assert official["viewport"] == mobile["viewport"] == {"width": 375, "height": 812}
    assert official["user_agent"] == mobile["user_agent"] == IPHONE_UA
    assert (official["is_mobile"], official["has_touch"]) == (False, False)
    assert (mobile["is_mobile"], mobile["has_touch"]) == (True, True)
    # render caches are salted with the config's repr: another profile never reuses a render
    assert repr(BrowserConfig()) != repr(BrowserConfig(profile="mobile"))


async def _open(profile: str, source: str) -> tuple[dict, bytes]:
    async with StaticServer(CORPUS) as server, Chromium(BrowserConfig(profile=profile)) as chrome:
        mp = await chrome.open(server.url(source), server.origin)
        try:
            return await mp.page.evaluate(PROBE_JS), await mp.page.screenshot(type="png")
        finally:
            await mp.close()


@pytest.fixture(scope="module")
def shots() -> dict[tuple[str, str], tuple[dict, bytes]]:
    async def all_shots():
        return {(p, s): await _open(p, s) for p in ("official", "mobile") for s in (NO_META, META)}
    return asyncio.run(all_shots())


@pytest.mark.browser
def test_page_without_viewport_meta_lays_out_375_wide_only_with_the_official_profile(shots):
    official, mobile = shots[("official", NO_META)][0], shots[("mobile", NO_META)][0]
    assert official["width"] == official["inner"] == 375  # scrollbars hidden: the whole 375 px lay out
    assert mobile["width"] == 980 and mobile["lead"] > 900  # phone default layout viewport
    assert official["lead"] < 375
    assert official["ua"] == mobile["ua"] == IPHONE_UA
    assert official["touch"] == 0 and mobile["touch"] > 0
    change = pixel_change(shots[("official", NO_META)][1], shots[("mobile", NO_META)][1], tolerance=2)
    assert change["changed"] > 0.2, change


@pytest.mark.browser
def test_page_with_viewport_meta_looks_the_same_under_both_profiles(shots):
    assert shots[("official", META)][0]["width"] == shots[("mobile", META)][0]["width"] == 375
    change = pixel_change(shots[("official", META)][1], shots[("mobile", META)][1], tolerance=2)
    assert change["changed"] == 0.0, change


@pytest.mark.browser
@pytest.mark.parametrize("profile", ["official", "mobile"])
def test_extraction_sees_the_page_its_profile_renders(shots, profile, tmp_path):
    entries = [e for e in read_manifest(CORPUS) if e.source == NO_META]
    asyncio.run(extract_pages(CORPUS, tmp_path, entries, BrowserConfig(profile=profile), RunSettings(workers=1, fidelity=False)))
    (entry,) = entries
    bundle = tmp_path / "pages" / entry.page_id
    extracted_png = (bundle / "screenshot.png").read_bytes()
    other = "mobile" if profile == "official" else "official"
    assert pixel_change(extracted_png, shots[(profile, NO_META)][1], tolerance=2)["changed"] == 0.0
    assert pixel_change(extracted_png, shots[(other, NO_META)][1], tolerance=2)["changed"] > 0.2
    # the extracted geometry is the profile's layout: the header spans the layout viewport
    selectors = (bundle / "selectors.txt").read_text().splitlines()
    rects = {s: e["rect"] for s, e in zip(selectors, json.loads((bundle / "elements.json").read_text()), strict=True)}
    (header,) = [r for s, r in rects.items() if s.endswith("header:nth-child(1)")]
    assert header[2] == (375 if profile == "official" else 980)
