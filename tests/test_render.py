"""Recolouring and screenshots: known colours at known pixels, resumable batches, sheets, Pixel-FCD."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image
from torch_geometric.data import Batch

from colorgen import visual as visual_cli
from colorgen.browser import BrowserConfig
from colorgen.data.colors import encode_color
from colorgen.data.graph import page_to_data
from colorgen.data.webcolor_format import read_pages
from colorgen.evaluation import Generated
from colorgen.evaluation.results import read_run_metrics
from colorgen.evaluation.visual import VisualRun, score_runs, visual_metrics
from colorgen.extract.fidelity import pixel_change
from colorgen.metrics.pixels import load_pixel_histogram, pixel_fcd
from colorgen.pixel_pages import page_effects
from colorgen.render import screenshots
from colorgen.render.contact_sheet import contact_sheet, save_contact_sheet
from colorgen.render.recolor import (
    PageColors,
    page_css,
    recolored_html,
    render_key,
    rest_key,
    split_pages,
)
from colorgen.render.screenshots import RenderJob, Variant, render

FIXTURES = Path(__file__).parent / "fixtures" / "render"
# known.html: #top is 0-200 px (red, !important in the page), #band 200-400 (green), #text 400-500 (blue)
SELECTORS = ["html", "body", "#top", "#band", "#text"]
PIXELS = {"top": (100, 20), "band": (300, 20), "text_bg": (450, 340)}  # (y, x) away from the glyphs


def colors_of(bg: list[str], text: str) -> PageColors:
    """The known page's colours from CSS strings, through the codec (classes + residuals)."""
    enc = [encode_color(c) for c in bg]
    t = encode_color(text)
    has_text = np.array([False, False, False, False, True])
    zeros = np.zeros(5, np.int64)
    return PageColors(
        has_text=has_text,
        text_rgb=np.where(has_text, t.rgb, zeros), text_alpha=np.where(has_text, t.alpha, zeros),
        bg_rgb=np.array([e.rgb for e in enc]), bg_alpha=np.array([e.alpha for e in enc]),
        text_res=np.where(has_text[:, None], np.array(t.residual), 0.0),
        bg_res=np.array([e.residual for e in enc]),
    )


PALETTES = [
    (["rgb(255, 255, 255)", "rgb(255, 255, 255)", "rgb(10, 200, 30)", "rgb(200, 40, 160)", "rgb(250, 250, 0)"], "rgb(20, 20, 20)"),
    (["rgb(0, 0, 0)", "rgb(0, 0, 0)", "rgb(33, 66, 99)", "rgb(128, 128, 128)", "rgb(1, 2, 3)"], "rgb(240, 240, 240)"),
    (["rgb(255, 255, 255)", "rgb(250, 250, 250)", "rgb(255, 0, 0)", "rgb(0, 255, 0)", "rgb(0, 0, 255)"], "rgb(0, 0, 0)"),
]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> tuple[Path, list[RenderJob]]:
    out = tmp_path_factory.mktemp("shots")
    variants = [Variant(None, out / "original.png")] + [
        Variant(page_css(SELECTORS, colors_of(bg, fg)), out / f"p{i}.png") for i, (bg, fg) in enumerate(PALETTES)
    ]
    jobs = [RenderJob("known", "known.html", tuple(variants))]
    report = render(jobs, FIXTURES, workers=1)
    assert not report.failed and report.rendered == 1 and report.variants == len(variants)
    return out, jobs


def pixel(path: Path, where: str) -> tuple[int, ...]:
    y, x = PIXELS[where]
    with Image.open(path) as im:
        assert im.size == (375, 812)
        return tuple(int(v) for v in im.convert("RGB").getpixel((x, y)))


def rgb(css: str) -> tuple[int, int, int]:
    return tuple(int(v) for v in css[css.index("(") + 1 : -1].split(",")[:3])


@pytest.mark.browser
def test_original_colours(shots):
    out, _ = shots
    assert pixel(out / "original.png", "top") == (255, 0, 0)
    assert pixel(out / "original.png", "band") == (0, 255, 0)
    assert pixel(out / "original.png", "text_bg") == (0, 0, 255)


@pytest.mark.browser
@pytest.mark.parametrize("i", range(len(PALETTES)))
def test_known_colours_at_known_pixels(shots, i):
    out, _ = shots
    bg, _ = PALETTES[i]
    assert pixel(out / f"p{i}.png", "top") == rgb(bg[2])  # beats the page's own !important rule
    assert pixel(out / f"p{i}.png", "band") == rgb(bg[3])
    assert pixel(out / f"p{i}.png", "text_bg") == rgb(bg[4])


@pytest.mark.browser
def test_text_colour_is_applied(shots):
    out, _ = shots
    with Image.open(out / "p1.png") as im:  # "Hello" in rgb(240, 240, 240) on rgb(1, 2, 3)
        band = np.asarray(im.convert("RGB"))[400:500, :200].reshape(-1, 3)
    assert (np.abs(band.astype(int) - [240, 240, 240]).max(axis=1) <= 2).sum() > 50


@pytest.mark.browser
def test_pixel_fcd_of_a_set_against_itself_is_zero(shots):
    out, _ = shots
    hists = [load_pixel_histogram(p) for p in sorted(out.glob("*.png"))]
    assert abs(pixel_fcd(hists, hists)) < 1e-3  # x10^3 units; published values are ~1-200
    assert pixel_fcd(hists[:2], hists[2:]) > 1.0  # and different sets are far apart


@pytest.mark.browser
def test_finished_jobs_are_resumed_not_redone(shots):
    out, jobs = shots
    before = {p: p.stat().st_mtime_ns for p in out.glob("*.png")}
    report = render(jobs, FIXTURES, workers=1)
    assert report.skipped == 1 and report.rendered == 0
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.png")} == before


@pytest.mark.browser
def test_failed_page_is_recorded_not_fatal(tmp_path):
    jobs = [RenderJob("slow", "known.html", (Variant(None, tmp_path / "x.png"),))]
    report = render(jobs, FIXTURES, workers=1, timeout_s=0.01)  # cannot load in 10 ms
    assert list(report.failed) == ["slow"] and report.rendered == 0
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(FileNotFoundError):
        render(jobs, tmp_path / "nowhere")


def test_page_css_rules():
    colors = colors_of(*PALETTES[0])
    css = page_css(SELECTORS, colors)
    assert "#text { background-color: rgb(250, 250, 0) !important; color: rgb(20, 20, 20) !important; }" in css
    assert "#top { background-color: rgb(10, 200, 30) !important; }" in css  # no text colour on non-text
    with pytest.raises(ValueError, match="selectors"):
        page_css(SELECTORS[:-1], colors, "p")


def test_bin_centres_without_residuals():
    c = PageColors(np.array([False]), np.zeros(1, int), np.zeros(1, int), np.array([511]), np.array([7]))
    assert "rgb(240, 240, 240)" in page_css(["div"], c)  # 32 * 7 + 31 * 0.5 rounded; alpha bin 7 = opaque
    c = PageColors(np.array([False]), np.zeros(1, int), np.zeros(1, int), np.array([0]), np.array([0]))
    assert "rgba(16, 16, 16, 0)" in page_css(["div"], c)  # alpha bin 0 = fully transparent


def test_split_pages_is_node_aligned():
    page = np.array([0, 0, 1, 1, 1, 2])
    arrays = {k: np.arange(6) for k in ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha")}
    pages = split_pages(page, np.arange(6) % 2 == 0, arrays, 4)
    assert [len(p) for p in pages] == [2, 3, 1, 0]
    assert pages[1].bg_rgb.tolist() == [2, 3, 4] and pages[1].text_res is None


def test_render_key_changes_with_css():
    assert render_key("a.html", "x") != render_key("a.html", "y")
    assert render_key("a.html", "x") == render_key("a.html", "x")
    # renders with the legible-rest script are cached apart, per level and per version of the script
    assert rest_key(None) == "" and rest_key("aa") != rest_key("aaa") and "rest aa" in rest_key("aa")


def test_recolored_html_keeps_the_page_and_inlines_the_css():
    html = "<!doctype html><html><HEAD><title>t</title></head><body>x</body></html>"
    out = recolored_html(html, "p{color:red}", "file:///site/")
    assert out.index('<base href="file:///site/">') < out.index("<title>") < out.index("p{color:red}") < out.index("</head>")
    assert out.replace('<base href="file:///site/">\n', "").replace('<style data-colorgen="colors">\np{color:red}</style>\n', "").replace("\n", "") == html


def test_contact_sheet_layout(tmp_path):
    red = Image.new("RGB", (375, 812), (255, 0, 0))
    blue = Image.new("RGB", (375, 812), (0, 0, 255))
    sheet = contact_sheet([[("original", red), ("sample 1", blue), ("missing", tmp_path / "none.png")]], cell_size=(100, 200))
    a = np.asarray(sheet)
    assert sheet.width >= 3 * 100 and sheet.height >= 200
    assert (a.reshape(-1, 3) == [255, 0, 0]).all(axis=1).sum() > 0.9 * 92 * 200  # the red cell, scaled
    assert (a.reshape(-1, 3) == [0, 0, 255]).all(axis=1).sum() > 0.9 * 92 * 200
    assert (a[:15] < 128).any()  # labels are drawn above the cells
    path = save_contact_sheet(tmp_path / "s.png", [[("a", red)]])
    assert Image.open(path).size[0] > 0


# ------------------------------------------------------------------ real pages, end to end

WEBPAGES = Path(os.environ.get("COLORGEN_WEBPAGES", Path(__file__).resolve().parents[2] / "shared" / "webpages"))
# four small pages of four sites: test1 = the first two, test2 = the last two
REAL_PAGES = [
    "bootstrapmade__kelly/portfolio-details.html",
    "enlian__present/contact.html",
    "gridgum__dashgum-basic/login.html",
    "bootstrapmade__sailor/portfolio-details.html",
]


def generated_from_dataset(root: Path, page_ids: list[str], is_test2: list[bool]) -> Generated:
    """A ``Generated`` whose predictions are the ground truth (tests override parts of it)."""
    pages = [page_to_data(p, t2) for p, t2 in zip(read_pages(root / "webcolor_webpages.hdf5", page_ids), is_test2, strict=True)]
    batch = Batch.from_data_list(pages)
    keys = ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha", "text_res", "bg_res")
    true = {k: getattr(batch, k).numpy() for k in keys}
    return Generated(list(batch.page_id), np.array(is_test2), batch.batch.numpy(), batch.has_text.numpy(),
                     true, {k: v.copy() for k, v in true.items()})


@pytest.fixture(scope="module")
def real_data(tmp_path_factory) -> Path:
    if not (WEBPAGES / "MANIFEST.tsv").is_file():
        pytest.skip(f"real web pages not found at {WEBPAGES} (set COLORGEN_WEBPAGES)")
    from colorgen.extract.corpus import (
        RunSettings,
        assemble,
        extract_pages,
        read_manifest,
        select_entries,
    )

    out = tmp_path_factory.mktemp("webpages")
    all_entries = read_manifest(WEBPAGES)
    entries = select_entries(all_entries, REAL_PAGES)
    asyncio.run(extract_pages(WEBPAGES, out, entries, BrowserConfig(), RunSettings(workers=2, fidelity=False)))
    result = assemble(out, "webpages", entries, all_entries, 0, {"test1": 0.1, "test2": 0.1, "val": 0.1})
    assert not result["failures"], result["failures"]
    return out


@pytest.mark.browser
def test_visual_metrics_on_real_pages(real_data, tmp_path):
    ids = [p.removesuffix(".html").replace("/", "__") for p in REAL_PAGES]
    g = generated_from_dataset(real_data, ids, [False, False, True, True])
    black = g.page == 3  # the last (test2) page: black text on black; the others keep their true colours
    for k in ("text_rgb", "bg_rgb"):
        g.pred[k][black] = 0
    for k in ("text_alpha", "bg_alpha"):
        g.pred[k][black] = 7
    cfg = OmegaConf.create({
        "data": {"root": str(real_data), "corpus": str(WEBPAGES), "name": "webpages"},
        "model": {"name": "black"}, "decoding": {"top_p": 0.0}, "visual": {"workers": 3, "contact_pages": 2},
    })
    m = visual_metrics(cfg, g, tmp_path)
    assert m["visual_pages"] == 4 and m["visual_pages_failed"] == 0

    # ground-truth recolouring reproduces each page as extracted
    truth = sorted((real_data / "renders" / "truth").glob("*.png"))
    assert len(truth) == 4
    for png in truth:
        pid = png.name.split(".")[0]
        change = pixel_change((real_data / "pages" / pid / "screenshot.png").read_bytes(), png.read_bytes())
        assert change["changed"] < 0.01, (pid, change)

    audits = {p.name.split(".")[0]: json.loads(p.read_text())["violations"] for p in (tmp_path / "renders").glob("*.axe.json")}
    real = {p.name.split(".")[0]: json.loads(p.read_text())["violations"] for p in (real_data / "renders" / "truth").glob("*.axe.json")}
    assert [audits[i] for i in ids[:3]] == [real[i] for i in ids[:3]]  # same colours, same verdict
    assert audits[ids[3]] > real[ids[3]]  # black on black fails wherever there is text
    assert m["contrast_elements_per_page"] > m["contrast_real_elements_per_page"]
    assert m["pixel_fcd"] > m["pixel_fcd_real"] >= 0
    # the generated render of a page (shot after the truth's audit) equals its truth render, up to
    # the 1-level image-rescaling noise between two loads of a page (seen on 7 pixels of one page)
    (same,) = (tmp_path / "renders").glob(f"{ids[2]}.*.png")
    (true_png,) = (real_data / "renders" / "truth").glob(f"{ids[2]}.*.png")
    assert pixel_change(same.read_bytes(), true_png.read_bytes(), tolerance=2)["changed"] == 0
    assert len(list((tmp_path / "renders").glob("*.png"))) == 2  # generated screenshots: test2 only
    assert Image.open(tmp_path / "contact_sheet.png").size[0] > 2 * 150

    # resumed: nothing is rendered again, the numbers are the same
    stamps = {p: p.stat().st_mtime_ns for p in [*truth, *(tmp_path / "renders").iterdir()]}
    again = visual_metrics(cfg, g, tmp_path)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    timings = ("render_pages_per_s", "visual_seconds")
    assert {k: again[k] for k in m if k not in timings} == {k: m[k] for k in m if k not in timings}


@pytest.mark.browser
def test_runs_scored_together_open_each_page_once(real_data, tmp_path, monkeypatch):
    ids = [p.removesuffix(".html").replace("/", "__") for p in REAL_PAGES]
    exact = generated_from_dataset(real_data, ids, [False, False, True, True])
    black = generated_from_dataset(real_data, ids, [False, False, True, True])
    dark = black.page >= 2  # both test2 pages: black on black
    for k, v in (("text_rgb", 0), ("bg_rgb", 0), ("text_alpha", 7), ("bg_alpha", 7)):
        black.pred[k][dark] = v
    opened: list[str] = []
    run_job = screenshots._Runner.run_job

    async def counting(self, job):
        opened.append(job.key)
        return await run_job(self, job)

    monkeypatch.setattr(screenshots._Runner, "run_job", counting)
    runs = [VisualRun("exact", exact, tmp_path / "exact"), VisualRun("black", black, tmp_path / "black"),
            VisualRun("exact+rest", exact, tmp_path / "exact_rest", rest="aa")]
    data = {"name": "webpages", "root": str(real_data), "corpus": str(WEBPAGES)}
    m_exact, m_black, m_rest = score_runs(runs, data, {"workers": 2, "contact_pages": 2})
    assert sorted(opened) == sorted(ids)  # one page open serves both runs (and the ground truth)
    assert m_exact["visual_runs_shared"] == 3 and m_exact["visual_pages"] == m_black["visual_pages"] == 4
    assert m_exact["contrast_pages_pct"] == m_exact["contrast_real_pages_pct"]
    assert m_exact["pixel_fcd"] == pytest.approx(m_exact["pixel_fcd_real"])
    assert m_black["contrast_elements_per_page"] > m_black["contrast_real_elements_per_page"]
    assert m_black["pixel_fcd"] > m_exact["pixel_fcd"]
    # the true colours, and legible text where no colour rule reaches: the real pages' own failures
    # there (below the first screen, text outside the tree) are gone, the truth's stay
    assert m_rest["contrast_real_elements_per_page"] == m_exact["contrast_real_elements_per_page"] > 0
    assert m_rest["contrast_elements_per_page"] < m_exact["contrast_elements_per_page"]
    assert m_rest["contrast_first_screen_elements_per_page"] <= m_exact["contrast_first_screen_elements_per_page"]
    for run in runs:
        assert (run.out_dir / "contact_sheet.png").is_file()
    # renders.json traces the score to pages: the two darkened test2 pages, and nothing else, move it
    effects = page_effects(*(json.loads((r.out_dir / "renders.json").read_text()) for r in runs[:2]))
    assert (effects.fcd_a, effects.fcd_b) == (pytest.approx(m_exact["pixel_fcd"]), pytest.approx(m_black["pixel_fcd"]))
    assert sorted(p for p, _ in effects.effects) == sorted(ids[2:])

    # the CLI over saved runs: cached renders, so nothing opens; visual.json beside metrics.json
    for run in runs:
        run.generated.save(run.out_dir / "generated.npz",
                           {"label": run.label, "data": data, "visual": {"workers": 2}, "rest": run.rest})
        (run.out_dir / "metrics.json").write_text(json.dumps({"row": run.label, "generate_seconds": 1.5}))
    opened.clear()
    visual_cli.main([str(r.out_dir) for r in runs])
    assert opened == []
    for run, before in zip(runs, (m_exact, m_black, m_rest), strict=True):
        assert json.loads((run.out_dir / "metrics.json").read_text()) == {"row": run.label, "generate_seconds": 1.5}
        m = read_run_metrics(run.out_dir / "metrics.json")
        assert m["row"] == run.label and m["eval_seconds"] == pytest.approx(1.5 + m["visual_seconds"])
        keys = ("pixel_fcd", "contrast_pages_pct", "contrast_elements_per_page", "visual_pages")
        assert {k: m[k] for k in keys} == {k: before[k] for k in keys}


def test_visual_cli_names_the_missing_eval(tmp_path):
    with pytest.raises(FileNotFoundError, match="generated.npz"):
        visual_cli.main([str(tmp_path)])


def test_visual_metrics_without_page_html_are_nan(tmp_path):
    g = Generated(["p"], np.array([True]), np.zeros(1, int), np.zeros(1, bool),
                  {k: np.zeros(1, int) for k in ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha")},
                  {k: np.zeros(1, int) for k in ("text_rgb", "text_alpha", "bg_rgb", "bg_alpha")})
    cfg = OmegaConf.create({"data": {"name": "webcolor", "root": str(tmp_path)}, "model": {"name": "nar"}})
    m = visual_metrics(cfg, g, tmp_path)
    assert np.isnan(m["pixel_fcd"]) and np.isnan(m["contrast_real_pages_pct"]) and m["visual_pages"] == 0


@pytest.mark.browser
def test_official_processed_pages_score_like_extracted_pages(real_data, tmp_path):
    """data.pages=<official archives>: the visual pass renders them, with the real-data floor."""
    from colorgen.extract.official_pages import archive_from_extracted

    ids = [p.removesuffix(".html").replace("/", "__") for p in REAL_PAGES]
    archives = tmp_path / "archives"
    for pid in ids:
        archive_from_extracted(real_data, WEBPAGES, pid, archives)
    exact = generated_from_dataset(real_data, ids, [False, False, True, True])
    data = {"name": "webcolor", "root": str(real_data), "pages": str(archives), "cache_dir": str(tmp_path / "cache")}
    (m,) = score_runs([VisualRun("exact", exact, tmp_path / "exact")], data, {"workers": 2, "contact_pages": 2})
    assert m["visual_pages"] == 4
    assert m["pixel_fcd"] == pytest.approx(m["pixel_fcd_real"]) and m["pixel_fcd_real"] > 0
    assert m["contrast_pages_pct"] == m["contrast_real_pages_pct"]
    assert list((tmp_path / "cache" / "renders" / "truth").glob("*.png"))  # truth renders beside, not in the data
