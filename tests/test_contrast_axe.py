"""The contrast model agrees with axe-core element by element on a rendered fixture page (browser)."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.browser

# nested transparent / translucent backgrounds, text alpha, large and bold text, passes and fails
FIXTURE = """<!doctype html><html><head><meta name="viewport" content="width=device-width">
<style>body{margin:0;font:16px sans-serif} p,h1,h2,span{margin:4px}</style></head><body>
<div style="background:rgba(0,0,0,0.5)">
  <div style="background:transparent">
    <p style="color:#fff">white on 50% black over white canvas: 4.0, fails</p>
    <p style="color:rgba(255,255,255,0.9);background:rgba(0,0,0,0.5)">translucent white on 75% black</p>
    <h1 style="font-size:24px;font-weight:400;color:#fff">large white on grey, 4.0 passes</h1>
  </div>
</div>
<p style="color:#777">grey 777 on white: 4.48, fails</p>
<p style="color:#767676">grey 767676 on white: 4.54, passes</p>
<h2 style="font-size:18.7px;font-weight:700;color:#949494">bold 18.7px grey 3.03: passes large</h2>
<span style="font-size:18.7px;font-weight:400;color:#949494">normal 18.7px grey: fails</span>
<p style="color:rgba(0,0,0,0.4)">40 % black text on white: fails</p>
<div style="background:#1a4"><p style="color:#000">black on green</p><p style="color:#fff">white on green</p></div>
<div style="background:#fcfdfc;position:relative;height:60px">
  <div style="background:#0e0c0e;width:30px;height:20px"><p style="position:absolute;left:40px;top:20px;margin:0;color:#fff">white link of a dark box, placed beside it: fails</p></div>
</div>
<div style="background:#fdfdfd"><p style="color:#fefefe;background:rgba(18,112,239,0.9961)">
  near white on almost opaque blue: 4.51 unrounded, 4.49 as axe-core rounds it, fails</p></div>
<div style="position:relative;height:30px">
  <div style="position:absolute;left:0;top:0;width:100%;height:30px;background:#0e0c0e"></div>
  <p style="position:relative;margin:0;color:#fff">white on a positioned dark sibling: passes</p>
</div>
<div style="position:relative;height:90px">
  <div style="background:#eee;height:30px"></div><div style="background:#0e0c0e;height:60px"></div>
  <nav style="position:absolute;left:0;top:0;width:100%;height:90px">
    <a style="display:block;height:30px;color:#fff">white link of a clear sidebar on the light panel: fails</a>
    <a style="display:block;height:30px;color:#fff">white link of the same sidebar on the dark panel: passes</a>
    <a style="display:block;height:30px;color:#fff">another on the dark panel: passes</a>
  </nav>
</div>
<div style="position:relative;height:60px">
  <div style="background:#0e0c0e;height:20px"></div><div style="background:#eee;height:40px"></div>
  <nav style="position:absolute;left:0;top:0;width:100%;height:60px">
    <a style="display:block;line-height:20px;padding-bottom:40px;color:#fff">line on the dark: passes</a>
  </nav>
</div>
<p style="color:#000;opacity:0.5">black at 50 % opacity on white: 3.95, fails</p>
<div style="background:#fff;opacity:0.6"><p style="color:#000">black in a 60 % opaque box: 5.7, passes</p></div>
<div style="background:#0e0c0e"><div style="opacity:0.45"><p style="color:#bbb">grey in a faded box on dark: 2.9, fails</p></div></div>
<table style="border-collapse:collapse;width:100%"><tr style="background:#0e0c0e">
  <td style="color:#fff">white in a cell of a dark row: passes</td></tr></table>
<table style="border-collapse:collapse;width:100%;background:#eee"><tr style="background:#0e0c0e"><td>
  <table style="width:100%"><tr><td><b style="color:#fff">white in a table nested in a dark row: passes</b></td></tr></table>
</td></tr></table>
<p>end</p>
</body></html>"""


# a fixed header above body's top margin: it lies on the canvas, which shows body's background
# because html paints none (lz__darktouch-corporate-portfolio at 375 px)
FIXED_HEADER = """<!doctype html><html><head><meta name="viewport" content="width=device-width">
<style>body{margin:88px 0 0;background:#304d0f;font:16px sans-serif} p,b{margin:4px}
header{position:fixed;top:0;left:0;width:100%;height:80px}</style></head><body>
<header><b style="color:#fff">white on the canvas, which shows body's green: passes</b>
<p style="color:#1e1f1e">near black on it: fails</p></header>
<p style="color:#fff">white in body: passes</p><p style="color:#2a2a2a">dark grey in body: fails</p>
</body></html>"""


def extract_and_audit(tmp_path, html: str):
    """The fixture page's extraction and axe-core's color-contrast nodes mapped to its elements."""
    from colorgen.browser import Chromium, StaticServer
    from colorgen.contrast_audit import axe_by_element
    from colorgen.extract.elements import extract_elements

    (tmp_path / "index.html").write_text(html)

    async def run():
        async with StaticServer(tmp_path) as server, Chromium() as chrome:
            mp = await chrome.open(server.url("index.html"), server.origin)
            try:
                ex = await extract_elements(mp.page, "fixture", server.origin, tmp_path, (375, 812))
                return ex, await axe_by_element(mp.page, ex.selectors)
            finally:
                await mp.close()

    return asyncio.run(run())


def test_model_and_axe_agree_on_every_element_both_judge(tmp_path) -> None:
    from colorgen.contrast_audit import compare, model_verdict, page_data

    ex, nodes = extract_and_audit(tmp_path, FIXTURE)
    els = ex.page.elements
    cells = [i for i, e in enumerate(els) if e.html_tag == "td"]
    assert len(cells) == 3
    # Chromium's hit test skips a cell's row; extraction puts it back (axe-core stacks every box),
    # also for the outer cell, whose centre lies in the nested table's cell
    assert [els[els[i].behind].html_tag for i in cells[:2]] == ["tr", "tr"]
    assert all(els[i].behind == els[i].parent for i in cells[:2])
    data = page_data(ex.page)
    fonts = {e.font_size for e in ex.page.elements if e.text_color}
    assert {24.0, 18.7, 16.0} <= {round(f, 2) for f in fonts}
    agreement = compare(data, nodes, "aa", ex.extras)
    _, fails = model_verdict(data)
    assert agreement.both_judge >= 10
    assert agreement.rate == 1.0, (agreement.model_only, agreement.axe_only)
    assert 3 <= int(fails.sum()) < int(data.has_text.sum())  # both verdicts occur
    # on the tree alone the model puts the placed white text on its dark parent (19.5:1) and
    # the white text over its sibling's dark box on the white canvas (1:1)
    # the sidebar's centre lies on the dark panel, so without the stack under each of its links
    # the model puts the first one on the dark panel too; the last link's box centre lies on the
    # light panel, its line (where axe-core looks) on the dark one
    stack = data.stack
    del data.stack
    unstacked = compare(data, nodes, "aa", ex.extras)
    assert unstacked.both_judge == agreement.both_judge and unstacked.agree == agreement.agree - 2
    assert [c["text"][:40] for c in unstacked.axe_only] == ["white link of a clear sidebar on the lig"]
    assert [c["text"] for c in unstacked.model_only] == ["line on the dark: passes"]
    data.stack = stack
    # three texts lie under CSS opacity: blind to it, the model passes the faded black and grey
    # (21:1, 10:1) and judges the boxed black as axe does either way
    opacity = data.opacity, data.text_opacity
    del data.opacity, data.text_opacity
    unfaded = compare(data, nodes, "aa", ex.extras)
    assert unfaded.both_judge == agreement.both_judge and unfaded.agree == agreement.agree - 2
    assert sorted(c["text"][:12] for c in unfaded.axe_only) == ["black at 50 ", "grey in a fa"]
    data.opacity, data.text_opacity = opacity
    del data.box, data.behind
    blind = compare(data, nodes, "aa", ex.extras)
    assert blind.both_judge == agreement.both_judge and blind.agree == agreement.agree - 2


def test_text_above_body_is_seen_on_body_background_as_axe_sees_it(tmp_path) -> None:
    """html paints no background, so the canvas shows body's: the fixed header's texts lie there.
    Blind to that (no tags: the canvas white) the model judges both header texts wrongly."""
    from colorgen.contrast_audit import compare, model_verdict, page_data

    ex, nodes = extract_and_audit(tmp_path, FIXED_HEADER)
    data = page_data(ex.page)
    els = ex.page.elements
    header = next(i for i, e in enumerate(els) if e.html_tag == "header")
    assert els[header].behind == 0 and els[0].html_tag == "html" and els[1].box[1] == 88
    agreement = compare(data, nodes, "aa", ex.extras)
    assert agreement.both_judge == 4 and agreement.rate == 1.0, (agreement.model_only, agreement.axe_only)
    assert int(model_verdict(data)[1].sum()) == 2
    del data.tag
    blind = compare(data, nodes, "aa", ex.extras)
    assert blind.both_judge == 4 and blind.agree == 2
