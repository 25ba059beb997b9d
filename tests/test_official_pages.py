"""Processed-page archives (the official ``<data_id>.zip`` layout): written from colorgen's own
extracted pages, read back, rendered and recoloured by colorgen's renderer."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorgen.browser import BrowserConfig, apply_colors_css
from colorgen.extract import official_pages
from colorgen.extract.corpus import (
    RunSettings,
    assemble,
    extract_pages,
    read_manifest,
    select_entries,
)
from colorgen.extract.fidelity import pixel_change
from colorgen.extract.official_pages import (
    ARCHIVE_FILES,
    OfficialPages,
    archive_from_extracted,
    format_user_css,
    parse_selectors,
    parse_user_css,
    user_html,
    write_archive,
)
from colorgen.render.recolor import page_css, split_pages
from colorgen.render.screenshots import RenderJob, Variant, render
from test_render import WEBPAGES, generated_from_dataset

PROFILE_CORPUS = Path(__file__).parent / "fixtures" / "profile"
SELECTORS = ["html", "body", "#a", "#b"]
BG = ["rgb(255, 255, 255)", "rgba(0, 0, 0, 0)", "rgb(10, 20, 30)", "rgb(200, 100, 0)"]
TEXT = [None, None, None, "rgb(1, 2, 3)"]


def test_user_css_and_selectors_follow_the_official_layout():
    css = format_user_css(SELECTORS, BG, TEXT)
    assert css.splitlines()[2] == "#a { background-color: rgb(10, 20, 30); }"  # no colour on non-text
    assert css.splitlines()[3] == "#b { background-color: rgb(200, 100, 0); color: rgb(1, 2, 3); }"
    assert parse_user_css(css, SELECTORS) == list(zip(BG, TEXT, strict=True))
    with pytest.raises(ValueError, match="rule 3 does not address selector '#b'"):
        parse_user_css(css, ["html", "body", "#b", "#a"])
    with pytest.raises(ValueError, match="3 rules but 4 selectors"):
        parse_user_css("".join(css.splitlines(keepends=True)[:3]), SELECTORS)
    assert parse_selectors("a\nb") == parse_selectors("a\nb\n") == ("a", "b")
    with pytest.raises(ValueError, match="empty selector on line 2"):
        parse_selectors("a\n\nb")


def test_user_html_finds_its_assets_and_links_user_css_last():
    html = user_html('<html><head><link rel="stylesheet" href="../css/x.css"></head><body></body></html>',
                     Path("pages"))
    head = html[: html.index("</head>")]
    assert head.index('<base href="assets/pages/">') < head.index("x.css") < head.index('href="../../user.css"')
    assert user_html("<p>bare</p>", Path(".")).startswith('<base href="assets/">\n<link rel="stylesheet" href="../user.css">')


def test_archive_round_trip_zip_and_folder(tmp_path):
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "css" / "x.css").write_text("#a { color: red }")
    html = "<html><head><meta charset='windows-1252'></head><body><p id='a'>caf\xe9</p></body></html>".encode("cp1252")
    zpath = write_archive(tmp_path / "pages" / "p1.zip", html, SELECTORS, BG, TEXT, site, "index.html")
    write_archive(tmp_path / "pages" / "p2", html, SELECTORS, BG, TEXT)  # unpacked folder, no assets
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        assert set(ARCHIVE_FILES) <= set(names) and "assets/css/x.css" in names
        assert zf.read("selectors.txt") == b"html\nbody\n#a\n#b"  # no trailing newline: split("\n") = elements
        assert b"caf\xe9" in zf.read("user.html")  # the page's own bytes, whatever its charset
    again = write_archive(tmp_path / "again.zip", html, SELECTORS, BG, TEXT, site, "index.html")
    assert again.read_bytes() == zpath.read_bytes()  # deterministic

    pages = OfficialPages(tmp_path / "pages", tmp_path / "serve")
    assert pages.ids() == ["p1", "p2"]
    for pid in ("p1", "p2"):
        page = pages.page(pid)
        assert page.selectors == tuple(SELECTORS) and page.colors() == list(zip(BG, TEXT, strict=True))
        assert (page.serve_root / page.source).is_file() and page.source.endswith("/user.html")
        bundle = pages.bundle(pid)
        assert (bundle.page_id, bundle.source, bundle.selectors) == (pid, page.source, tuple(SELECTORS))
    assert (pages.page("p1").dir / "assets" / "css" / "x.css").is_file()
    with pytest.raises(FileNotFoundError, match="'nope' has no processed page"):
        pages.page("nope")


def test_bad_archives_are_named(tmp_path):
    (tmp_path / "pages").mkdir()
    with zipfile.ZipFile(tmp_path / "pages" / "evil.zip", "w") as zf:
        zf.writestr("../outside.txt", "x")
    with zipfile.ZipFile(tmp_path / "pages" / "short.zip", "w") as zf:
        zf.writestr("user.html", "<p>")
    (tmp_path / "pages" / "junk.zip").write_text("not a zip")
    pages = OfficialPages(tmp_path / "pages", tmp_path / "serve")
    with pytest.raises(ValueError, match="'../outside.txt' would unpack outside"):
        pages.page("evil")
    with pytest.raises(ValueError, match="user.css, selectors.txt missing"):
        pages.page("short")
    with pytest.raises(ValueError, match="junk.zip: not a zip"):
        pages.page("junk")
    assert not (tmp_path / "outside.txt").exists()


# ---------------------------------------------------------------------------------------------
# Browser: archives built from extracted pages render like the pages themselves


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> tuple[Path, Path, list[str]]:
    """Both profile fixture pages (one per corpus) extracted, and their archives built."""
    out = tmp_path_factory.mktemp("official_pages")
    data, archives = out / "data", out / "archives"
    corpora = [(PROFILE_CORPUS, None)]
    if (WEBPAGES / "MANIFEST.tsv").is_file():
        corpora.append((WEBPAGES, ["bootstrapmade__kelly/portfolio-details.html"]))
    ids = []
    for i, (corpus, only) in enumerate(corpora):
        root = data / str(i)
        all_entries = read_manifest(corpus)
        entries = select_entries(all_entries, only) if only else all_entries
        asyncio.run(extract_pages(corpus, root, entries, BrowserConfig(), RunSettings(workers=1, fidelity=False)))
        result = assemble(root, "webpages", entries, all_entries, 0, {"test1": 0.1, "test2": 0.1, "val": 0.1})
        assert not result["failures"], result["failures"]
        for e in entries:
            archive_from_extracted(root, corpus, e.page_id, archives)
            ids.append((root, e.page_id))
    return data, archives, ids


@pytest.mark.browser
def test_archives_render_and_recolour_with_the_ground_truth(extracted, tmp_path):
    _, archives, ids = extracted
    assert len(ids) >= 2
    pages = OfficialPages(archives, tmp_path / "serve")
    jobs, truths = [], []
    for root, pid in ids:
        bundle = pages.bundle(pid)
        (truth,) = split_pages(*_node_arrays(root, pid), 1)
        png = tmp_path / f"{pid}.png"
        jobs.append(RenderJob(pid, bundle.source, (Variant(page_css(bundle.selectors, truth, pid), png),)))
        truths.append((root / "pages" / pid / "screenshot.png", png))
    report = render(jobs, pages.serve_root, workers=1)
    assert not report.failed and report.rendered == len(ids)
    for original, png in truths:
        change = pixel_change(original.read_bytes(), png.read_bytes(), tolerance=2)
        assert change["changed"] < 0.01, (original, change)


@pytest.mark.browser
def test_archive_recolours_with_another_palette(extracted, tmp_path):
    """A colouring other than the truth shows: the hero (``!important`` in the page's CSS) turns red."""
    _, archives, ids = extracted
    root, pid = next((r, p) for r, p in ids if p.endswith("noviewport"))
    page = OfficialPages(archives, tmp_path / "serve").page(pid)
    bg = ["rgb(255, 0, 0)" if s.endswith("section:nth-child(2)") else c for s, (c, _) in zip(page.selectors, page.colors(), strict=True)]
    assert bg.count("rgb(255, 0, 0)") == 1
    png = tmp_path / "red.png"
    render([RenderJob(pid, page.source, (Variant(apply_colors_css(page.selectors, bg, None), png),))], page.serve_root, workers=1)
    with Image.open(png) as im:
        shot = np.asarray(im.convert("RGB"))
    with Image.open(root / "pages" / pid / "screenshot.png") as im:
        original = np.asarray(im.convert("RGB"))
    changed = np.any(shot != original, axis=-1)
    assert 0.02 < changed.mean() < 0.5
    ys, xs = np.nonzero(changed)
    assert tuple(shot[ys[len(ys) // 2], 370]) == (255, 0, 0)  # right edge of the hero band, no text there


def _node_arrays(root: Path, pid: str):
    g = generated_from_dataset(root, [pid], [False])
    return g.page, g.has_text, g.true


@pytest.mark.browser
def test_cli_writes_archives_of_a_split_or_named_pages(extracted, tmp_path):
    _, _, ids = extracted
    root = ids[0][0]
    assert official_pages.main([str(root), str(PROFILE_CORPUS), str(tmp_path / "a"), "--split", "train", "val", "test1", "test2"]) == 0
    assert sorted(p.stem for p in (tmp_path / "a").glob("*.zip")) == sorted(p for r, p in ids if r == root)
    pid = ids[0][1]
    official_pages.main([str(root), str(PROFILE_CORPUS), str(tmp_path / "b"), "--pages", pid, "--unpacked"])
    assert OfficialPages(tmp_path / "b", tmp_path / "serve").ids() == [pid]
    with pytest.raises(SystemExit, match="unknown splits"):
        official_pages.main([str(root), str(PROFILE_CORPUS), str(tmp_path / "c"), "--split", "test3"])
