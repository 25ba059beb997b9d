"""Extraction pieces that need no browser: colour syntaxes, features, page ids, splits, staging."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from colorgen.data.colors import parse_color
from colorgen.data.webcolor_format import RawElement, RawPage
from colorgen.extract import bundle
from colorgen.extract.colors import ColorConversionError, to_rgb_string
from colorgen.extract.corpus import (
    PageEntry,
    make_page_id,
    pending,
    read_manifest,
    select_entries,
    split_sites,
)
from colorgen.extract.features import (
    background_kind,
    first_url,
    local_bytes,
    raster_feat,
    text_feat,
)
from colorgen.extract.fidelity import pixel_change


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        ("rgb(1, 2, 3)", "rgb(1, 2, 3)"),
        ("rgba(10, 20, 30, 0.5)", "rgba(10, 20, 30, 0.5)"),
        ("rgba(0, 0, 0, 0)", "rgba(0, 0, 0, 0)"),
        ("rgb(10.5 20 30 / 50%)", "rgba(11, 20, 30, 0.5)"),
        ("color(srgb 0.5 0.2 0.1)", "rgb(128, 51, 26)"),
        ("color(srgb 1 1 1 / 0.25)", "rgba(255, 255, 255, 0.25)"),
        ("color(srgb-linear 0.2 0.3 0.4)", "rgb(124, 149, 170)"),
        ("oklch(0.628 0.2577 29.23)", "rgb(255, 0, 0)"),  # the CSS Color 4 red
        ("oklch(62.8% 0.2577 29.23deg)", "rgb(255, 0, 0)"),
        ("oklab(1 0 0)", "rgb(255, 255, 255)"),
        ("lab(0 0 0)", "rgb(0, 0, 0)"),
        ("lab(100 0 0)", "rgb(255, 255, 255)"),
        ("lch(50 30 120)", "rgb(105, 126, 73)"),
        ("oklch(0.5 none 100)", "rgb(99, 99, 99)"),
        ("color(xyz-d65 0.95047 1 1.08883)", "rgb(255, 255, 255)"),  # D65 white
        ("color(display-p3 1 0 0)", "rgb(255, 0, 0)"),  # out of sRGB gamut: clipped
        ("transparent", "rgba(0, 0, 0, 0)"),
    ],
)
def test_modern_colour_syntaxes_become_codec_strings(css, expected):
    out = to_rgb_string(css)
    assert out == expected
    parse_color(out)  # the codec accepts it


def test_grey_axis_is_exact_in_every_space():
    # neutral greys must stay neutral (a, b = 0) and monotone, whatever the space
    values = [parse_color(to_rgb_string(f"oklab({lum} 0 0)"))[:3] for lum in (0.2, 0.4, 0.6, 0.8)]
    assert all(r == g == b for r, g, b in values)
    assert [v[0] for v in values] == sorted(v[0] for v in values)


@pytest.mark.parametrize("bad", ["#ff0000", "red", "color(unknown 1 2 3)", "lab(1 2)", "hsl(10, 20%, 30%)", "color-mix(in srgb, red, blue)", ""])
def test_unknown_syntaxes_raise_a_clear_error(bad):
    with pytest.raises(ColorConversionError):
        to_rgb_string(bad)


def test_text_features_follow_format():
    f = text_feat(["Hello", "World"], from_pseudo=False)
    assert f == [2, 2, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0]  # "Hello World": not alpha (space), title
    assert text_feat(["2024"], False)[2:7] == [0, 1, 1, 0, 1]  # isalpha, isascii, isdecimal, islower, isnumeric
    assert text_feat(["\u2605"], True)[-1] == 1.0 and text_feat(["\u2605"], True)[3] == 0.0  # non-ASCII, pseudo
    assert len(text_feat(["a b c"], False)) == 12 and text_feat(["a b c"], False)[1] == 3


def test_raster_features_use_the_real_pixels():
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="PNG")
    f = raster_feat(buf.getvalue())
    rgba = np.concatenate([arr, np.full((5, 7, 1), 255, np.uint8)], -1).reshape(-1, 4) / 255.0
    assert f[:5] == [0.0, 7.0, 5.0, 3.0, 7 / 5]
    np.testing.assert_allclose(f[5:9], rgba.mean(0), atol=1e-12)
    np.testing.assert_allclose(f[9:13], rgba.std(0), atol=1e-12)
    gray = io.BytesIO()
    Image.fromarray(np.zeros((2, 2), np.uint8), "L").save(gray, format="PNG")
    assert raster_feat(gray.getvalue())[3] == 1.0  # the file's own band count
    assert raster_feat(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None  # SVG goes to the browser
    assert raster_feat(b"not an image") is None


def test_local_bytes_stays_inside_the_corpus(tmp_path):
    (tmp_path / "a.png").write_bytes(b"abc")
    origin = "http://127.0.0.1:1234"
    assert local_bytes(f"{origin}/a.png", origin, tmp_path) == b"abc"
    assert local_bytes(f"{origin}/../../etc/passwd", origin, tmp_path) is None
    assert local_bytes(f"{origin}/%2e%2e/%2e%2e/etc/passwd", origin, tmp_path) is None
    assert local_bytes("http://example.com/a.png", origin, tmp_path) is None
    assert local_bytes("data:text/plain;base64,aGk=", origin, tmp_path) == b"hi"


def test_background_image_parsing():
    assert first_url('url("http://x/a b.png"), linear-gradient(red, blue)') == "http://x/a b.png"
    assert first_url("linear-gradient(red, blue)") is None
    assert background_kind("none") == "none"
    assert background_kind('linear-gradient(red, blue), url("a.png")') == "url+gradient"


def test_page_ids_are_safe_and_unique(tmp_path):
    assert make_page_id("templatemag__jack/index - Copy.html") == "templatemag__jack__index_-_Copy"
    assert make_page_id("onepagelove__avocado/dist/ui.html") == "onepagelove__avocado__dist__ui"
    (tmp_path / "MANIFEST.tsv").write_text("s\ts/a_b.html\tr\tp\tl\t1\ns\ts/a b.html\tr\tp\tl\t1\nt\tt/x.html\tr\tp\tl\t1\n")
    entries = read_manifest(tmp_path)
    ids = [e.page_id for e in entries]
    assert len(set(ids)) == 3 and all("/" not in i and "." not in i for i in ids)


def test_split_is_by_site_deterministic_and_covers_every_split():
    sites = [f"site{i:03d}" for i in range(50)]
    fr = {"test1": 0.1, "test2": 0.1, "val": 0.1}
    a, b = split_sites(sites, 0, fr), split_sites(reversed(sites), 0, fr)
    assert a == b  # independent of input order
    counts = {s: sum(v == s for v in a.values()) for s in ("train", "val", "test1", "test2")}
    assert counts == {"train": 35, "val": 5, "test1": 5, "test2": 5}
    assert split_sites(sites, 1, fr) != a  # the seed matters
    small = split_sites(["a", "b", "c", "d"], 0, fr)
    assert sorted(small.values()) == ["test1", "test2", "train", "val"]


def test_select_entries_spread_and_names():
    entries = [PageEntry(f"s{i}", f"s{i}/index.html", f"s{i}__index") for i in range(10)]
    assert [e.site for e in select_entries(entries, limit=3)] == ["s0", "s1", "s2"]
    assert [e.site for e in select_entries(entries, limit=3, sample="spread")] == ["s0", "s3", "s6"]
    assert select_entries(entries, pages=["s4/index.html", "s5__index"]) == entries[4:6]
    with pytest.raises(ValueError, match="not in the manifest"):
        select_entries(entries, pages=["nope.html"])


def test_staging_marks_done_and_failed_pages(tmp_path):
    entries = [PageEntry("s", f"s/{n}.html", f"s__{n}") for n in "abc"]
    page = RawPage("s__a", [RawElement(-1, "html", 0, "rgb(1, 2, 3)"), RawElement(0, "body", 0, "rgba(0, 0, 0, 0)", "rgb(0, 0, 0)", [1.0] * 12)])
    bundle.write_record(tmp_path, page, {"counts": {}})
    bundle.write_failure(tmp_path, "s__b", "sites/s/b.html", "timeout: x")
    assert [e.page_id for e in pending(entries, tmp_path, retry_failed=False)] == ["s__c"]
    assert [e.page_id for e in pending(entries, tmp_path, retry_failed=True)] == ["s__b", "s__c"]
    back, meta = bundle.read_record(tmp_path, "s__a")
    assert back == page and meta == {"counts": {}}
    assert not list((tmp_path / "staging").glob(".*tmp"))  # no temp files left behind
    json.loads(bundle.staged_path(tmp_path, "s__a").read_text())


def test_records_staged_before_bg_layer_take_it_from_the_bundle(tmp_path):
    """Assembling again (no browser) gives old records the background-image layer of their extras."""
    els = [RawElement(-1, "html", 0, "rgb(1, 2, 3)"), RawElement(0, "header", 0, "rgba(0, 0, 0, 0)"),
           RawElement(1, "h1", 0, "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)", [1.0] * 12)]
    page = RawPage("s__a", els)
    bundle.write_record(tmp_path, page, {"counts": {}})
    path = bundle.staged_path(tmp_path, "s__a")
    rec = json.loads(path.read_text())
    for e in rec["elements"]:
        del e["bg_layer"]  # as staged before the attribute existed
    path.write_text(json.dumps(rec))
    kinds = ["none", "url+gradient", "none"]
    bundle.write_bundle(tmp_path, "s__a", ["html", "header", "h1"], {"source": "s/a.html"},
                        [{"background_image": k} for k in kinds], b"")
    back, _ = bundle.read_record(tmp_path, "s__a")
    assert [e.bg_layer for e in back.elements] == [False, True, False]
    bundle.write_bundle(tmp_path, "s__a", ["html"], {"source": "s/a.html"}, [{"background_image": "none"}], b"")
    with pytest.raises(ValueError, match="1 elements, the staged record has 3"):
        bundle.read_record(tmp_path, "s__a")


def test_pixel_change_counts_changed_pixels():
    def png(a):
        buf = io.BytesIO()
        Image.fromarray(a, "RGB").save(buf, format="PNG")
        return buf.getvalue()

    a = np.zeros((10, 10, 3), np.uint8)
    b = a.copy()
    b[:2, :5] = [0, 0, 3]
    assert pixel_change(png(a), png(a))["changed"] == 0.0
    assert pixel_change(png(a), png(b))["changed"] == pytest.approx(0.1)
    assert pixel_change(png(a), png(b), tolerance=3)["changed"] == 0.0


def test_bundle_written_is_read_back_by_the_one_reader(tmp_path):
    """extract.bundle owns the format: what write_bundle writes, load_bundle reads (render uses it)."""
    selectors = ["html", "html > body", "#a\u00e9"]
    bundle.write_bundle(tmp_path, "p1", selectors, {"source": "sites/x/index.html"}, [{}, {}, {}], b"png")
    b = bundle.load_bundle(tmp_path, "p1")
    assert b.selectors == tuple(selectors) and b.source == "sites/x/index.html"
    assert b.screenshot.read_bytes() == b"png"
    with pytest.raises(FileNotFoundError, match="no extracted bundle"):
        bundle.load_bundle(tmp_path, "missing")
