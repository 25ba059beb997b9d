"""colorgen.corpus without a browser: hash checks, atomic unpack, layout format, shim rules, data=all."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from colorgen.corpus import layout
from colorgen.corpus.bs_examples import build_page, expand_shortcodes, read_example
from colorgen.corpus.build import build_corpus
from colorgen.corpus.fetch import FetchError, Pin, check_integrity, fetch, file_sha512_sri, npm_pin
from colorgen.corpus.pins import ExamplesSpec, Registry, SiteSpec, load_registry
from colorgen.corpus.shim import CdnShim
from colorgen.corpus.unpack import package_dir, unpack
from colorgen.data.union import build_union
from colorgen.data.webcolor_format import (
    RawElement,
    RawPage,
    read_split,
    write_split,
    write_webcolor,
)
from colorgen.extract.corpus import read_manifest

FIX = Path(__file__).parent / "fixtures" / "corpus"
FIXTURE_SPECS = ["startbootstrap-bare@5.0.9", "startbootstrap-blog-home@5.0.9", "startbootstrap-simple-sidebar@6.0.6"]


def fixture_cache(tmp_path: Path) -> Path:
    """A corpus cache holding the committed (real, pinned) tarballs, as after `npm pack`."""
    cache = tmp_path / "cache"
    shutil.copytree(FIX / "archives", cache / "archives")
    return cache


def mini_registry(specs=FIXTURE_SPECS) -> Registry:
    reg = load_registry()
    pins = {s: reg.pins[s] for s in specs}
    sites = [s for s in reg.sites if s.spec in specs]
    return Registry(pins, sites, None, [])


# -- pinning and hashes --------------------------------------------------------------------------


def test_lock_pins_every_site_and_the_committed_tarballs_match_it():
    reg = load_registry()
    assert len(reg.sites) == 38 and reg.examples is not None
    assert all(p.integrity.startswith("sha512-") for p in reg.pins.values() if p.kind == "npm")
    for spec in FIXTURE_SPECS:
        check_integrity(reg.pins[spec], FIX / "archives" / reg.pins[spec].filename)  # raises on mismatch


def test_wrong_hash_is_detected_and_names_the_package(tmp_path):
    good = FIX / "archives" / "startbootstrap-bare@5.0.9.tgz"
    wrong = npm_pin("startbootstrap-bare@5.0.9", load_registry().pins["startbootstrap-blog-home@5.0.9"].integrity)
    with pytest.raises(FetchError, match=r"startbootstrap-bare@5\.0\.9: hash mismatch"):
        check_integrity(wrong, good)


def test_corrupted_download_is_named_and_never_lands_in_the_cache(tmp_path, monkeypatch):
    from colorgen.corpus import fetch as fetch_mod

    pin = load_registry().pins["startbootstrap-bare@5.0.9"]

    def corrupt_download(p: Pin, tmp: Path) -> Path:  # the registry client returns damaged bytes
        data = bytearray((FIX / "archives" / p.filename).read_bytes())
        data[len(data) // 2] ^= 0xFF
        out = tmp / "startbootstrap-bare-5.0.9.tgz"
        out.write_bytes(bytes(data))
        return out

    monkeypatch.setattr(fetch_mod, "_download", corrupt_download)
    with pytest.raises(FetchError, match="startbootstrap-bare@5.0.9"):
        fetch(pin, tmp_path)
    assert not any((tmp_path / "archives").iterdir())  # no archive, no temp folder left behind


def test_damaged_cached_archive_is_refetched(tmp_path, monkeypatch):
    from colorgen.corpus import fetch as fetch_mod

    pin = load_registry().pins["startbootstrap-bare@5.0.9"]
    (tmp_path / "archives").mkdir()
    (tmp_path / "archives" / pin.filename).write_bytes(b"truncated")
    calls = []

    def good_download(p: Pin, tmp: Path) -> Path:
        calls.append(p.spec)
        return Path(shutil.copy(FIX / "archives" / p.filename, tmp / "x.tgz"))

    monkeypatch.setattr(fetch_mod, "_download", good_download)
    path, downloaded = fetch(pin, tmp_path)
    assert downloaded and calls == [pin.spec] and file_sha512_sri(path) == pin.integrity
    assert fetch(pin, tmp_path) == (path, False) and calls == [pin.spec]  # idempotent: verified copy reused


def test_truncated_tarball_fails_unpack_without_a_half_written_package(tmp_path):
    bad = tmp_path / "bad.tgz"
    bad.write_bytes((FIX / "archives" / "startbootstrap-bare@5.0.9.tgz").read_bytes()[:5000])
    pin = Pin("startbootstrap-bare@5.0.9", "npm", "sha512-x", "bad.tgz")
    with pytest.raises(FetchError, match="startbootstrap-bare@5.0.9: cannot unpack"):
        unpack(pin, bad, tmp_path)
    assert not package_dir(tmp_path, pin.spec).exists()
    assert not list((tmp_path / "packages").glob(".unpack-*"))


def test_build_stops_at_a_bad_hash_before_anything_is_unpacked_or_listed(tmp_path, monkeypatch):
    from colorgen.corpus import fetch as fetch_mod

    cache = fixture_cache(tmp_path)
    victim = cache / "archives" / "startbootstrap-simple-sidebar@6.0.6.tgz"
    damaged = victim.read_bytes()[:-10] + b"0123456789"
    victim.write_bytes(damaged)

    def registry_serves_the_damaged_tarball(group, tmp):  # the dropped copy is fetched again: still bad
        out = {}
        for p in group:
            out[p.spec] = tmp / "t.tgz"
            out[p.spec].write_bytes(damaged)
        return out

    monkeypatch.setattr(fetch_mod, "_download_batch", registry_serves_the_damaged_tarball)
    with pytest.raises(FetchError, match="startbootstrap-simple-sidebar@6.0.6: hash mismatch"):
        build_corpus(mini_registry(), tmp_path / "out", cache)
    assert not (cache / "packages").exists() or not any((cache / "packages").iterdir())
    assert not (tmp_path / "out" / "MANIFEST.tsv").exists()


# -- layout ------------------------------------------------------------------------------------


def test_layout_matches_the_webpages_corpus_format(tmp_path):
    out = tmp_path / "out"
    result = build_corpus(mini_registry(), out, fixture_cache(tmp_path))
    assert result.pages == 3 and result.sites == 3 and result.downloaded == 0
    lines = (out / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    for line in lines:
        site, path, source, source_path, licence, size = line.split("\t")  # exactly 6 columns
        page = out / "sites" / path
        assert path.startswith(site + "/") and page.is_file()
        assert source.startswith("npm:startbootstrap-") and path == f"{site}/{source_path}"
        assert int(size) == page.stat().st_size and licence == "MIT"
        assert "<link" in page.read_text() and "stylesheet" in page.read_text()
    html = {p.relative_to(out / "sites").as_posix() for p in (out / "sites").rglob("*.html")}
    assert html == {line.split("\t")[1] for line in lines}  # only pages the manifest lists
    css = list((out / "sites" / "npm__startbootstrap-bare").rglob("*.css"))
    assert css, "the page's local stylesheet sits at its relative path"
    entries = read_manifest(out)  # extraction reads it as it reads ../shared/webpages
    assert [e.site for e in entries] == [line.split("\t")[0] for line in lines]


def test_layout_is_idempotent_and_rebuilds_only_a_changed_site(tmp_path):
    out, cache = tmp_path / "out", fixture_cache(tmp_path)
    build_corpus(mini_registry(), out, cache)
    stamp = out / ".build" / "npm__startbootstrap-bare.json"
    before = {p.name: p.stat().st_mtime_ns for p in (out / ".build").iterdir()}
    build_corpus(mini_registry(), out, cache)
    assert {p.name: p.stat().st_mtime_ns for p in (out / ".build").iterdir()} == before
    build_corpus(mini_registry(), out, cache, cap=1)  # a new recipe rebuilds (stamps change)
    assert stamp.stat().st_mtime_ns != before[stamp.name]
    build_corpus(mini_registry(FIXTURE_SPECS[:1]), out, cache)  # sites no longer pinned are removed
    assert sorted(p.name for p in (out / "sites").iterdir()) == ["npm__startbootstrap-bare"]
    assert len((out / "MANIFEST.tsv").read_text().splitlines()) == 1


def test_cap_spreads_pages_of_one_design_and_keeps_them_in_one_site(tmp_path):
    pkg = tmp_path / "pkg"
    for i in range(9):
        (pkg / "pages").mkdir(parents=True, exist_ok=True)
        (pkg / "pages" / f"p{i}.html").write_text(f"<link rel=stylesheet href=../s.css><p>{i}")
    (pkg / "s.css").write_text("p{color:red}")
    site = SiteSpec("big", "big@1.0.0", ("pages/*.html",))
    rows, built = layout.build_site(tmp_path / "out", "npm__big", {"x": 1},
                                    lambda tmp: layout.build_package_site(site, "npm__big", pkg, tmp, cap=3))
    assert built and [r.source_path for r in rows] == ["pages/p0.html", "pages/p3.html", "pages/p6.html"]
    assert {r.site for r in rows} == {"npm__big"}
    assert (tmp_path / "out" / "sites" / "npm__big" / "s.css").is_file()
    assert not (tmp_path / "out" / "sites" / "npm__big" / "pages" / "p1.html").exists()


def test_root_absolute_links_become_relative_without_touching_the_cache(tmp_path):
    pkg = tmp_path / "pkg" / "dist"
    (pkg / "production").mkdir(parents=True)
    (pkg / "js").mkdir()
    (pkg / "js" / "main.js").write_text("1")
    original = '<script type=module src="/js/main.js"></script><a href="//cdn.example/x">x</a>'
    (pkg / "production" / "index.html").write_text(original)
    site = SiteSpec("g", "g@1.0.0", ("dist/production/*.html",), web_root="dist")
    layout.build_site(tmp_path / "out", "npm__g", {}, lambda tmp: layout.build_package_site(site, "npm__g", pkg.parent, tmp, 5))
    page = (tmp_path / "out" / "sites" / "npm__g" / "dist" / "production" / "index.html").read_text()
    assert 'src="../js/main.js"' in page and 'href="//cdn.example/x"' in page
    assert (pkg / "production" / "index.html").read_text() == original


def test_bootstrap_example_is_built_into_a_reskinnable_standalone_page(tmp_path):
    src = tmp_path / "examples" / "album"
    src.mkdir(parents=True)
    (src / "index.html").write_text(
        '---\nlayout: examples\ntitle: Album example\nextra_css:\n  - "album.css"\nbody_class: "bg-light"\n---\n'
        '<main>{{< placeholder width="100%" height="225" background="#55595c" color="#eceeef" text="Thumbnail" >}}'
        '<p>&copy; {{< year >}} v{{< param docs_version >}}</p>{{< example >}}<b>x</b>{{< /example >}}</main>\n')
    (src / "album.css").write_text("main{color:#123}")
    ex = read_example(src / "index.html")
    page = build_page(ex, "../assets/dist/css/bootstrap.min.css", "../assets/dist/js/bootstrap.bundle.min.js")
    assert '<link href="../assets/dist/css/bootstrap.min.css"' in page and '<link href="album.css"' in page
    assert '<body class="bg-light">' in page and '<rect width="100%" height="100%" fill="#55595c"/>' in page
    assert ">Thumbnail</text>" in page and "2022 v5.2" in page and "{{" not in page and "<b>x</b>" in page
    assert expand_shortcodes('{{< docsref "/forms/overview" >}}') == "https://getbootstrap.com/docs/5.2/forms/overview/"
    theme_css, js = tmp_path / "theme.css", tmp_path / "b.js"
    theme_css.write_text("body{background:#222}")
    js.write_text("")
    spec = ExamplesSpec("deb", "ex", "bootstrap@5.2.3", "bootswatch@5.3.8")
    rows, _ = layout.build_site(tmp_path / "out", "bootstrap-examples__darkly", {}, lambda tmp: layout.build_examples_site(
        spec, "bootstrap-examples__darkly", tmp_path / "examples", theme_css, None, js, tmp, "darkly", 30))
    site = tmp_path / "out" / "sites" / "bootstrap-examples__darkly"
    assert [r.path for r in rows] == ["bootstrap-examples__darkly/album/index.html"]
    assert (site / "assets/dist/css/bootstrap.min.css").read_text() == "body{background:#222}"
    assert (site / "album" / "album.css").is_file()


# -- CDN shim (URL rules; the browser test renders with it) --------------------------------------


@pytest.fixture
def shim():
    return CdnShim(FIX)


def test_shim_builds_google_fonts_css_from_fontsource(shim):
    r = shim.resolve("https://fonts.googleapis.com/css2?family=Roboto:wght@400&display=swap")
    css = r.body.decode()
    assert r.content_type == "text/css" and "font-family: 'Roboto'" in css
    assert "url(https://fonts.googleapis.com/__fs/roboto/files/roboto-latin-400-normal.woff2)" in css
    font = shim.resolve("https://fonts.googleapis.com/__fs/roboto/files/roboto-latin-400-normal.woff2")
    assert font.content_type == "font/woff2" and font.body[:4] == b"wOF2"
    assert font.fulfil_headers()["access-control-allow-origin"] == "*"
    v1 = shim.resolve("https://fonts.googleapis.com/css?family=Roboto:300,400,700|Lato")  # 300/700/Lato not pinned here
    assert v1.body.decode().count("@font-face") == 1


def test_shim_serves_material_icons_and_refuses_what_is_not_pinned(shim):
    r = shim.resolve("https://fonts.googleapis.com/icon?family=Material+Icons")
    assert b'.material-icons' in r.body and b'font-feature-settings: "liga"' in r.body
    assert shim.resolve("https://fonts.googleapis.com/icon?family=Unknown") is None
    assert shim.resolve("https://www.google-analytics.com/analytics.js") is None
    assert shim.resolve("https://cdn.jsdelivr.net/npm/@fontsource/roboto@5.3.0/../../../etc/passwd") is None
    assert shim.resolve("https://cdn.jsdelivr.net/npm/@fontsource/roboto@4/400.css") is None  # other major: not pinned
    assert shim.resolve("https://cdn.jsdelivr.net/npm/@fontsource/roboto@5/400.css").source.endswith("400.css")
    assert shim.resolve("https://unpkg.com/@fontsource/roboto/400.css") is not None  # no version: newest pinned


def test_shim_takes_a_relative_cache_path_and_never_raises(monkeypatch):
    monkeypatch.chdir(FIX.parent)
    shim = CdnShim("corpus")  # relative, as in conf/data/registry.yaml
    assert shim.resolve("https://fonts.googleapis.com/__fs/roboto/files/roboto-latin-400-normal.woff2") is not None
    monkeypatch.setattr(shim, "_resolve", lambda url: (_ for _ in ()).throw(OSError("disk gone")))
    assert shim.resolve("https://fonts.googleapis.com/css?family=Roboto") is None


def test_shim_needs_the_package_cache(tmp_path):
    with pytest.raises(FileNotFoundError, match="make corpus"):
        CdnShim(tmp_path)


# -- data=all ------------------------------------------------------------------------------------


def _dataset(root: Path, name: str, splits: dict[str, list[str]]) -> Path:
    pages = [RawPage(pid, [RawElement(-1, "body", 0, "rgba(1, 2, 3, 1.0)"), RawElement(0, "p", 0, "rgba(0, 0, 0, 0.0)", "rgba(9, 9, 9, 1.0)")])
             for ids in splits.values() for pid in ids]
    h5 = root / f"webcolor_{name}.hdf5"
    write_webcolor(h5, pages)
    write_split(root / f"webcolor_split_{name}.json", splits)
    return h5


def test_data_all_keeps_the_webpages_test_split_identical(tmp_path):
    web = _dataset(tmp_path, "webpages", {"train": ["w1", "w2"], "val": ["w3"], "test1": ["w4", "w5"], "test2": ["w6"]})
    reg = _dataset(tmp_path, "registry", {"train": ["r1"], "val": ["r2"], "test1": ["r3"], "test2": ["r4"]})
    info = build_union([web, reg, tmp_path / "missing.hdf5"], tmp_path / "all")
    merged = read_split(tmp_path / "all" / "webcolor_split_all.json")
    webs = json.loads((tmp_path / "webcolor_split_webpages.json").read_text())
    assert merged["test1"] == webs["test1"] and merged["test2"] == webs["test2"]
    assert merged["train"] == ["w1", "w2", "r1", "r3", "r4"] and merged["val"] == ["w3", "r2"]
    assert info["splits"] == {"train": 5, "val": 2, "test1": 2, "test2": 1}
    from colorgen.data.dataset import load_split

    cfg = {"name": "all", "root": str(tmp_path / "all"), "hdf5": "webcolor_all.hdf5", "split_file": "webcolor_split_all.json",
           "cache_dir": str(tmp_path / "all" / "cache")}
    assert load_split(cfg, "test1").page_ids == ["w4", "w5"]
    from colorgen.data.union import build_from_data_cfg

    again = build_from_data_cfg({"parts": [str(web), str(reg)], "root": str(tmp_path / "all3"), "name": "all"})
    assert read_split(tmp_path / "all3" / "webcolor_split_all.json") == merged and again["parts"][str(reg)] == 4
    (tmp_path / "x").mkdir()
    dup = _dataset(tmp_path / "x", "dup", {"train": ["w1"]})
    with pytest.raises(ValueError, match="'w1' is in part 0 and part 1"):
        build_union([web, dup], tmp_path / "all2")


def test_data_configs_compose():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(Path(__file__).parent.parent / "conf"), version_base="1.3"):
        reg = compose("extract", overrides=["data=registry"])
        assert reg.data.name == "registry" and reg.name == "registry" and str(reg.corpus).endswith("corpus/registry")
        allc = compose("extract", overrides=["data=all"])
        assert allc.data.hdf5 == "webcolor_all.hdf5" and len(allc.data.parts) == 2
        c = compose("corpus")
        assert c.cap_per_design == 30 and c.bootswatch is True


# -- the real registry (network): slow, skipped with the reason when npm cannot reach it --------


@pytest.mark.slow
def test_real_npm_fetch_of_a_small_pinned_package(tmp_path):
    probe = subprocess.run(["npm", "view", "startbootstrap-bare@5.0.9", "dist.integrity"], capture_output=True, text=True,
                           timeout=60, check=False) if shutil.which("npm") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("npm registry unreachable from this machine")
    pin = load_registry().pins["startbootstrap-bare@5.0.9"]
    assert probe.stdout.strip() == pin.integrity
    path, downloaded = fetch(pin, tmp_path)
    assert downloaded and file_sha512_sri(path) == pin.integrity
    folder, _ = unpack(pin, path, tmp_path)
    assert (folder / "dist" / "index.html").is_file()


def test_colour_diversity_sees_dark_pages_accents_and_classes():
    from colorgen.corpus.stats import colour_diversity

    light = RawPage("l", [RawElement(-1, "html", 0, "rgba(0, 0, 0, 0)"), RawElement(0, "body", 0, "rgb(255, 255, 255)"),
                          RawElement(1, "a", 0, "rgb(13, 110, 253)", "rgb(255, 255, 255)")])
    dark = RawPage("d", [RawElement(-1, "body", 0, "rgb(34, 34, 34)"), RawElement(0, "p", 0, "rgba(0, 0, 0, 0)", "rgb(230, 40, 40)")])
    stats = colour_diversity([light, dark])
    assert stats["pages"] == 2 and stats["dark_share"] == 0.5
    assert stats["accent_hue_share"] == {"azure": 0.5, "red": 0.5}
    assert stats["background_classes"] == 3 and stats["colour_classes"] == 4  # white shared by bg and text


def test_designer_variants_sit_beside_their_page_in_the_same_site(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "pages").mkdir(parents=True)
    for i in range(4):
        (pkg / "pages" / f"p{i}.html").write_text(f'<link rel=stylesheet href="../skins.css"><body class="hold skin-blue x">{i}')
    (pkg / "pages" / "login.html").write_text('<body class="login-page">login')  # no skin class: no variants
    (pkg / "skins.css").write_text(".skin-red{background:red}")
    site = SiteSpec("lte", "lte@2.0.0", ("pages/*.html",), variant_class="skin-blue", variants=("skin-red", "skin-green"))
    rows, _ = layout.build_site(tmp_path / "out", "npm__lte", {}, lambda tmp: layout.build_package_site(site, "npm__lte", pkg, tmp, 9))
    variants = [r for r in rows if "?body-class=" in r.source_path]
    assert len(rows) == 8 and len(variants) == 3  # all 5 originals + a third of the cap (9) as variants
    assert {r.site for r in rows} == {"npm__lte"}  # one design, one site: one split
    for r in variants:
        page = tmp_path / "out" / "sites" / r.path
        skin = r.source_path.split("=")[1]
        assert page.parent.name == "pages" and f'class="hold {skin} x"' in page.read_text()
    assert {r.source_path.split("=")[1] for r in variants} == {"skin-red", "skin-green"}
    assert layout.variant_html('<body class="login-page">', "skin-blue", "skin-red") is None
