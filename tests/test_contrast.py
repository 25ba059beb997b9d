"""The contrast audit: axe-core flags pale text, passes dark text, and sees injected colours."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from colorgen.evaluation.visual import contrast_summary
from colorgen.render import contrast
from colorgen.render.screenshots import RenderJob, Variant, render

FIXTURES = Path(__file__).parent / "fixtures" / "render"
PALE_P = "@layer colorgen { p { color: rgb(230, 230, 230) !important; } }"
HIDDEN_P = "@layer colorgen { p { color: #ffffff !important; } }"  # white on the white page


@pytest.fixture(scope="module")
def audits(tmp_path_factory) -> dict[str, dict]:
    """One browser session: audit both fixture pages, and the dark page re-coloured pale."""
    out = tmp_path_factory.mktemp("contrast")
    jobs = [
        RenderJob("low", "contrast_low.html", (Variant(None, audit=out / "low.json"),)),
        RenderJob("fold", "contrast_fold.html", (Variant(None, audit=out / "fold.json"),)),
        RenderJob("high", "contrast_high.html", (
            Variant(None, audit=out / "high.json"),
            Variant(PALE_P, png=out / "high_pale.png", audit=out / "high_pale.json"),
            Variant(None, audit=out / "high_again.json"),  # the injected sheet is removed again
            Variant(HIDDEN_P, audit=out / "high_hidden.json"),
        )),
    ]
    report = render(jobs, FIXTURES, workers=2)
    assert not report.failed, report.failed
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


@pytest.mark.browser
def test_low_contrast_page_is_flagged(audits):
    low = audits["low"]
    assert low["violations"] == 3  # the pale h1 and both pale paragraphs
    assert {n["target"] for n in low["nodes"]} >= {"h1"}
    assert all(n["ratio"] < n["expected"] for n in low["nodes"] if n["ratio"])


@pytest.mark.browser
def test_first_screen_violations_are_counted_apart(audits):
    fold = audits["fold"]
    assert fold["violations"] == 2 and fold["violations_first_screen"] == 1
    assert [n["first_screen"] for n in fold["nodes"]].count(True) == 1
    assert audits["low"]["violations_first_screen"] == audits["low"]["violations"] == 3


@pytest.mark.browser
def test_high_contrast_page_passes(audits):
    assert audits["high"]["violations"] == 0
    assert audits["high"]["version"] == json.loads((Path(__file__).resolve().parents[1] / "package.json").read_text())["dependencies"]["axe-core"]


@pytest.mark.browser
def test_audit_sees_injected_colours(audits):
    assert audits["high_pale"]["violations"] == 2  # both paragraphs, not the (still dark) h1
    assert audits["high_again"]["violations"] == 0


@pytest.mark.browser
def test_text_like_its_background_is_invisible_not_a_violation(audits):
    hidden = audits["high_hidden"]
    assert hidden["violations"] == 0 and hidden["invisible"] == 2  # axe's 1:1 "incomplete"
    assert len(hidden["invisible_targets"]) == 2
    assert audits["high"]["invisible"] == 0 and audits["low"]["invisible"] == 0


def test_missing_axe_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(contrast.AXE_ENV, str(tmp_path / "nope.js"))
    with pytest.raises(FileNotFoundError, match="npm ci"):
        contrast.axe_path()


def test_contrast_summary(tmp_path):
    paths = []
    for i, (n, hidden, first) in enumerate([(0, 0, 0), (3, 0, 1), (1, 2, 0), (0, 1, 0)]):
        p = tmp_path / f"{i}.json"
        p.write_text(json.dumps({"violations": n, "invisible": hidden, "violations_first_screen": first}))
        paths.append(p)
    m, pages = contrast_summary([*paths, tmp_path / "missing.json"], "contrast_real")
    assert pages == 4
    assert (m["contrast_real_pages_pct"], m["contrast_real_elements_per_page"]) == (50.0, 1.0)
    assert (m["contrast_real_strict_pages_pct"], m["contrast_real_strict_elements_per_page"]) == (75.0, 1.75)
    assert (m["contrast_real_first_screen_pages_pct"], m["contrast_real_first_screen_elements_per_page"]) == (25.0, 0.25)
    old = tmp_path / "old.json"  # an audit written before first-screen counts: no number, not 0
    old.write_text(json.dumps({"violations": 1}))
    m, _ = contrast_summary([*paths, old])
    assert math.isnan(m["contrast_first_screen_pages_pct"]) and m["contrast_pages_pct"] == 60.0
