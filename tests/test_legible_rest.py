"""Text no model colours is made legible in the page (legible_rest.js), and undone per colouring (browser)."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.browser

# #tree and #treetext are "extracted" (the colour stylesheet names them); the rest is not
PAGE = """<!doctype html><html><head><meta name="viewport" content="width=device-width">
<style>body{margin:0;font:16px sans-serif} p,span{margin:4px;display:block}</style></head><body>
<div id="tree"><p id="treetext">coloured by the model</p>
  <span id="below" style="color:#444">left out of the tree: dark grey</span>
  <span id="big" style="color:#555;font-size:30px">large grey</span></div>
<div id="img" style="background-image:linear-gradient(#000,#000)"><span id="onimg" style="color:#111">over an image</span></div>
<p id="ok" style="color:#000">black on white</p>
<input id="send" type="submit" value="Send" style="color:#fff;background:#8f8;border:0">
<input id="name" type="text" placeholder="Your name" style="color:#bbb;background:#fff;border:0">
<div style="height:2000px"></div><p id="far" style="color:#ccc">light grey far below</p>
</body></html>"""
# the model made the section black (and its own text white)
CSS = "#tree { background-color: rgb(0, 0, 0) !important; } #treetext { color: rgb(255, 255, 255) !important; }"
COLOR_OF = "(ids) => ids.map(id => getComputedStyle(document.getElementById(id)).color)"


def test_legible_rest_fixes_only_the_uncoloured_failing_text_and_is_undone(tmp_path) -> None:
    from colorgen.browser import Chromium, StaticServer
    from colorgen.render.contrast import audit_contrast
    from colorgen.render.screenshots import set_colors_css

    (tmp_path / "index.html").write_text(PAGE)
    ids = ["treetext", "below", "big", "onimg", "ok", "far", "send", "name"]

    async def run():
        async with StaticServer(tmp_path) as server, Chromium() as chrome:
            mp = await chrome.open(server.url("index.html"), server.origin)
            try:
                page, out = mp.page, {}
                out["plain"] = (await set_colors_css(page, CSS), await page.evaluate(COLOR_OF, ids), await audit_contrast(page))
                out["rest"] = (await set_colors_css(page, CSS, "aa"), await page.evaluate(COLOR_OF, ids), await audit_contrast(page))
                out["again"] = (await set_colors_css(page, CSS), await page.evaluate(COLOR_OF, ids), await audit_contrast(page))
                return out
            finally:
                await mp.close()

    out = asyncio.run(run())
    counts, colors, audit = out["rest"]
    plain_counts, plain_colors, plain_audit = out["plain"]
    assert plain_counts is None and plain_colors[1] == "rgb(68, 68, 68)"
    assert plain_audit["violations"] >= 5  # dark grey on black, large grey on black, light grey on white, 2 fields
    # changed: the dark grey and the large grey on the black section, the light grey far below, the button, the field
    assert counts["changed"] == 5 and counts["checked"] == 6  # onimg (image) and treetext (a rule) are not checked
    assert colors[0] == plain_colors[0] and colors[3] == plain_colors[3] and colors[4] == plain_colors[4]
    assert all(colors[i] != plain_colors[i] for i in (1, 2, 5, 6, 7))
    assert audit["violations"] == 0, audit["nodes"]
    assert out["again"][1] == plain_colors and out["again"][2]["violations"] == plain_audit["violations"]


def test_recolored_html_with_rest_makes_the_text_legible_when_opened(tmp_path) -> None:
    """colorize's saved sample_*.html carry the script: opened on their own they look like the audit."""
    from colorgen.browser import Chromium, StaticServer
    from colorgen.render.contrast import audit_contrast
    from colorgen.render.recolor import recolored_html

    (tmp_path / "plain.html").write_text(recolored_html(PAGE, CSS))
    (tmp_path / "rest.html").write_text(recolored_html(PAGE, CSS, rest="aa"))

    async def run():
        async with StaticServer(tmp_path) as server, Chromium() as chrome:
            out = {}
            for name in ("plain", "rest"):
                mp = await chrome.open(server.url(f"{name}.html"), server.origin)
                try:
                    out[name] = (await mp.page.evaluate(COLOR_OF, ["below"]), await audit_contrast(mp.page))
                finally:
                    await mp.close()
            return out

    out = asyncio.run(run())
    assert out["plain"][0] == ["rgb(68, 68, 68)"] and out["plain"][1]["violations"] >= 5
    assert out["rest"][0] != out["plain"][0] and out["rest"][1]["violations"] == 0
