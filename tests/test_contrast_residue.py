"""Where axe's contrast violations lie: classification on hand-made fixtures, and 2 real pages end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from colorgen.contrast_residue import (
    PageVerdict,
    classify,
    mark_same_in_real,
    page_verdict,
    summarize,
    to_markdown,
)
from colorgen.data.colors import encode_color, encode_rgba
from colorgen.data.graph import page_to_data
from colorgen.data.webcolor_format import MAX_ELEMENTS, RawElement, RawPage, read_pages
from colorgen.evaluation.generate import Generated
from colorgen.render.recolor import PageColors

WEBPAGES = Path(os.environ.get("COLORGEN_WEBPAGES", Path(__file__).resolve().parents[2] / "shared" / "webpages"))


def verdict(n: int = 4) -> PageVerdict:
    """Element 0 root (no text), 1 text passing, 2 text failing, 3 text under a background image."""
    return PageVerdict(
        has_text=np.array([False, True, True, True][:n] + [False] * max(0, n - 4)),
        ratio=np.array([1.0, 8.0, 2.0, 2.0] + [1.0] * max(0, n - 4))[:n],
        fails=np.array([False, False, True, False] + [False] * max(0, n - 4))[:n],
        required=np.array([4.5, 4.5, 4.5, 0.0] + [4.5] * max(0, n - 4))[:n],
        fg=np.array([[0, 0, 0], [0, 0, 0], [200, 200, 200], [200, 200, 200]] + [[0, 0, 0]] * max(0, n - 4))[:n],
        bg=np.full((n, 3), 255.0),
    )


def node(element: int, fg: str = "#c8c8c8", bg: str = "#ffffff", ratio: float = 1.7, expected: float = 4.5, kind="violation"):
    return {"kind": kind, "element": element, "ratio": ratio, "fg": fg, "bg": bg, "expected": expected,
            "target": [f"#e{element}"], "reason": None}


SEEN = {"found": True, "in_view": True, "tree_ancestor": 0, "opacity": 1.0, "tag": "p", "text": "hi"}


def test_each_class_and_reason():
    nodes = [node(2), node(1, fg="#000000", bg="#333333"), node(3), node(0), node(1, expected=7.0),
             node(-1), node(-1), node(-1), node(1), node(4, kind="pass")]
    details = [SEEN, SEEN, SEEN, SEEN, SEEN,
               {**SEEN, "in_view": False}, {"found": False, "nested": True}, {**SEEN, "tag": "input"},
               {**SEEN, "opacity": 0.5}]
    recs = classify(nodes, details, verdict())
    got = [(r["class"], r["reason"].split(":")[0] if r["class"] == "a" else r["reason"]) for r in recs]
    assert [c for c, _ in got] == ["a", "a", "b", "b", "a", "c", "c", "c", "b"]  # the pass is not a violation
    assert recs[0]["model_fails"] and recs[0]["reason"].startswith("model agrees")
    assert not recs[1]["model_fails"] and "another background" in recs[1]["reason"]
    assert recs[1]["model_ratio"] == 8.0 and recs[1]["axe_ratio"] == 1.7 and recs[1]["model_bg"] == "#ffffff"
    assert "background image" in recs[2]["reason"] and "without text" in recs[3]["reason"]
    assert "threshold: axe needs 7" in recs[4]["reason"]
    assert "first screen" in recs[5]["reason"] and "shadow DOM" in recs[6]["reason"]
    assert "form control <input>" in recs[7]["reason"] and "opacity" in recs[8]["reason"]
    assert recs[5]["on_tree_background"]  # axe's #ffffff is the model's background of ancestor 0


def test_same_colours_disagreeing_is_rounding_and_the_cap_is_named():
    (rec,) = classify([node(1, fg="#000000", bg="#ffffff")], [SEEN], verdict())
    assert rec["reason"] == "disagreement: same colours, ratios differ at the threshold (rounding)"
    (rec,) = classify([node(-1)], [SEEN], verdict(MAX_ELEMENTS))
    assert "200-element cap" in rec["reason"]
    (rec,) = classify([node(-1)], [SEEN], verdict(4))
    assert "not extracted" in rec["reason"]


def test_misaligned_details_are_an_error():
    with pytest.raises(ValueError, match="1 node details for 2 violations"):
        classify([node(1), node(2)], [SEEN], verdict())


def test_summary_counts_pages_that_would_still_fail():
    v = verdict()
    pages = {
        "p1": classify([node(2)], [SEEN], v),  # a only: fixed if class a were
        "p2": classify([node(2), node(-1)], [SEEN, {**SEEN, "in_view": False}], v),  # a + c
        "p3": [],
        "p4": classify([node(3)], [SEEN], v),  # b only
        "p5": classify([node(-1)], [{**SEEN, "in_view": False}], v),  # c below the first screen only
    }
    real = {"p2": classify([node(-1)], [{**SEEN, "in_view": False}], v),
            "p1": classify([node(2, fg="#dddddd")], [SEEN], v)}  # the same node fails there, other colours
    mark_same_in_real(pages, real)
    s = summarize(pages, "x")
    assert s["per_class"] == {"a": 2, "b": 1, "c": 2} and s["violations"] == 5 and s["unmapped"] == 2
    assert s["pages_failing_pct"] == 80.0 and s["pages_failing_without_a_pct"] == 60.0
    assert s["pages_with_c_pct"] == 40.0 and s["pages_with_a_pct"] == 40.0
    assert s["same_in_real"] == 1 and s["pages_failing_without_same_in_real_pct"] == 80.0
    assert s["node_fails_in_real"] == 2 and s["pages_failing_on_nodes_passing_in_real_pct"] == 60.0
    assert s["pages_failing_first_screen_pct"] == 60.0  # p1, p2 (its class a), p4; not p5
    assert summarize({"p": classify([node(2)], [SEEN], v)}, "y")["same_in_real"] is None  # not compared
    assert {r["reason"][:13] for r in s["reasons"][:2]} == {"model agrees:", "outside the f"}
    assert s["reasons"][0]["pages"] == 2
    assert s["disagreements"] == []
    md = to_markdown(s, "cmd")
    assert "| a | tree text element judged by the Python model | 2 |" in md and "`cmd`" in md


def _colors(page: RawPage, text: list[str | None], bg: list[str]) -> PageColors:
    enc_t = [encode_color(t) if t else encode_rgba(0, 0, 0, 0.0) for t in text]
    enc_b = [encode_color(b) for b in bg]
    return PageColors(
        has_text=np.array([t is not None for t in text]),
        text_rgb=np.array([e.rgb for e in enc_t]), text_alpha=np.array([e.alpha for e in enc_t]),
        bg_rgb=np.array([e.rgb for e in enc_b]), bg_alpha=np.array([e.alpha for e in enc_b]),
        text_res=np.array([e.residual for e in enc_t]), bg_res=np.array([e.residual for e in enc_b]))


def test_page_verdict_judges_the_exact_rendered_colours():
    page = RawPage("p", [RawElement(-1, "html", 0, "rgb(255, 255, 255)"),
                         RawElement(0, "div", 0, "rgba(0, 0, 0, 0.5)"),
                         RawElement(1, "p", 0, "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)", font_size=16, font_weight=400),
                         RawElement(0, "p", 1, "rgba(0, 0, 0, 0)", "rgb(119, 119, 119)", font_size=16, font_weight=400),
                         RawElement(0, "h1", 2, "rgba(0, 0, 0, 0)", "rgb(119, 119, 119)", font_size=32, font_weight=700)])
    colors = _colors(page, [e.text_color for e in page.elements], [e.background_color for e in page.elements])
    v = page_verdict(page, colors)
    # white on 50 % black (rendered 128/255 over white: #7f7f7f) < 4.5; #777 on white 4.48 < 4.5; large text needs 3
    assert v.fails.tolist() == [False, False, True, True, False]
    assert v.bg[2].tolist() == [127.0, 127.0, 127.0] and v.required.tolist()[3:] == [4.5, 3.0]
    assert round(float(v.ratio[3]), 2) == 4.48


@pytest.mark.browser
def test_two_real_pages_end_to_end(tmp_path):
    """Extract 2 real pages, colour their text light grey on a white page, audit: every violation
    on a coloured text element is class a and the model agrees; summaries are written."""
    if not (WEBPAGES / "MANIFEST.tsv").is_file():
        pytest.skip(f"real web pages not found at {WEBPAGES} (set COLORGEN_WEBPAGES)")
    root = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-m", "colorgen.extract", f"corpus={WEBPAGES}", f"out={root}",
                          "fidelity.enabled=false", "pages=[lz__one-wonder/index.html,lz__ace-coming-soon/index.html]",
                          f"hydra.run.dir={tmp_path}/h"], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    pages = list(read_pages(root / "webcolor_webpages.hdf5"))
    assert len(pages) == 2
    true: dict[str, list] = {}
    pred: dict[str, list] = {}
    node_page, has_text = [], []
    for k, p in enumerate(pages):
        data = page_to_data(p)
        text = [e.text_color if h else None for e, h in zip(p.elements, data.has_text.tolist(), strict=True)]
        real = _colors(p, text, [e.background_color for e in p.elements])
        grey = _colors(p, ["rgb(200, 200, 200)" if t else None for t in text], ["rgb(255, 255, 255)"] * len(text))
        for src, c in ((true, real), (pred, grey)):
            for key in ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha", "text_res", "bg_res"):
                src.setdefault(key, []).append(getattr(c, key))
        node_page.append(np.full(len(text), k))
        has_text.append(data.has_text.numpy())
    g = Generated([p.page_id for p in pages], np.array([False, True]), np.concatenate(node_page),
                  np.concatenate(has_text), {k: np.concatenate(v) for k, v in true.items()},
                  {k: np.concatenate(v) for k, v in pred.items()})
    run = tmp_path / "run"
    g.save(run / "generated.npz", {"label": "grey", "data": {
        "name": "webpages", "root": str(root), "hdf5": "webcolor_webpages.hdf5", "corpus": str(WEBPAGES)}})
    out = subprocess.run([sys.executable, "-m", "colorgen.contrast_residue", str(run), "--real"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    grey_s = json.loads((run / "contrast_residue.json").read_text())
    real_s = json.loads((run / "contrast_residue_real.json").read_text())
    assert (run / "contrast_residue.md").read_text().startswith("## grey:")
    assert grey_s["pages"] == real_s["pages"] == 2 and grey_s["pages_failing_pct"] == 100.0
    recs = [r for recs in grey_s["by_page"].values() for r in recs]
    assert grey_s["per_class"]["a"] >= 2 and sum(grey_s["per_class"].values()) == len(recs)
    assert all(r["model_fails"] for r in recs if r["class"] == "a")  # #c8c8c8 on white fails, both agree
    assert all(r["axe_fg"] == "#c8c8c8" for r in recs if r["class"] == "a")
    again = subprocess.run([sys.executable, "-m", "colorgen.contrast_residue", str(run), "--real", "--pages", "1"],
                           capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode == 0 and "audited" not in again.stderr  # resumed from the cache, no browser
    assert json.loads((run / "contrast_residue.json").read_text())["pages"] == 1
